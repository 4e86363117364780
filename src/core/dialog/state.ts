// A conversation's dialog state and a turn's result: plain data, never timers or closures.
import type { InboundEvent, TurnOutput } from '../events.js';

/**
 * What the conversation waits for. The step index in `flow` points at the step that asked; `kind` is
 * that step's kind, or one of the engine's own: `credential` (a credential dialog: answers so far, the
 * whole state being sealed at rest), `signin` (a sign-in link is out) and `resume` (the auth service was unavailable: the next message
 * tries the current step again).
 */
export interface Pending {
  kind: string;
  misses?: number;
  /** The state is kept at least until then (ms), whatever the session timeout: a sign-in link's lifetime. */
  keepUntil?: number;
  [detail: string]: unknown;
}

/**
 * A conversation's dialog state: stored data, never timers or closures. It is sealed (encrypted)
 * as a whole before it rests in Redis, since it may hold what the user typed.
 */
export interface DialogState {
  flow: string;
  step: number;
  vars: Record<string, unknown>;
  pending?: Pending;
  /** Absolute time (ms) after which the conversation starts over at `main`. */
  expiresAt: number;
  /** Set while a person has the conversation (a `handoff` step): the bot does not answer. */
  handoff?: Handoff;
}

/**
 * A conversation handed to a person: where the agent's replies go, and until when it stays theirs. The state
 * points at the handoff step meanwhile (pending kind `handoff`); `resume` carries on after it.
 */
export interface Handoff {
  /** When the handoff started (ms). */
  since: number;
  /** The handoff ends (the bot answers again) when nothing happened for this long (ms). */
  idleMs: number;
  /** When the user last wrote (ms): WhatsApp's 24-hour window starts there. */
  lastInbound: number;
  /** The user's address and ours, and what the provider needs again (the account): an agent's reply leaves there. */
  from: string;
  to: string;
  provider?: Record<string, string>;
}

export interface TurnResult {
  /** The state to keep, or null when the conversation is over. */
  state: DialogState | null;
  output: TurnOutput;
  /** Set when the turn changed the identity's opt-out. */
  optOut?: boolean;
  /** The event carried a secret answer (the runtime may delete it from the provider's log). */
  carriedSecret: boolean;
}

/** Whether the flow waits for an answer or the conversation is over. */
export type Flow = 'waiting' | 'ended';

/**
 * How long past its expiry a conversation waiting at a secret prompt is remembered. The state is kept
 * (sealed, as always) so that a password typed after the session timed out is still known for a secret;
 * a day covers someone who comes back to the question that evening.
 */
export const SECRET_PROMPT_MEMORY_SECONDS = 86_400;

export function freshState(event: InboundEvent): DialogState {
  if (event.start)
    return {
      flow: event.start.flow,
      step: 0,
      vars: { ...event.start.vars, input: event.text },
      expiresAt: 0,
    };
  return { flow: 'main', step: 0, vars: { input: event.text }, expiresAt: 0 };
}
