// The sign-in link dialog: sends a link, waits for the browser side, takes the token with the binding code.
import type { SignInFinish, VoiceSignIn } from '../ports/sign-in.js';
import type { AnswerOutcome } from './step.js';
import type { Flow, Pending } from './state.js';
import { botTexts, text } from './text.js';
import type { Turn } from './turn.js';

export const SIGNIN = 'signin';

/** A sign-in link is out: the engine's own pending kind, shared by the auth and request steps. */
export interface SignInPending extends Pending {
  kind: 'signin';
  component: string;
  session: string;
  /** When the link stops working (ms). */
  linkExpiresAt: number;
  binding: boolean;
  /** The browser side finished: the conversation waits for the binding code. */
  completed?: boolean;
  /** On a call: when the hold gives up (ms), and the flow to go on with then. */
  holdUntil?: number;
  fallbackFlow?: string;
  /** Keeps the state at least this long (ms): the sign-in outlives a short session timeout. */
  keepUntil: number;
}

/** Seconds a call waits for keys between looks at the sign-in (the Gather's timeout). */
const HOLD_POLL_SECONDS = 5;
/** How long after the link expires the conversation still waits for its binding code (ms). */
const CODE_GRACE_MS = 10 * 60 * 1000;

const BINDING_CODE = /^\d{3}[\s-]?\d{3}$/;

/** Sends a sign-in link for the component and waits for it to finish ('jumped': a call went to its fallback flow). */
export async function startSignIn(turn: Turn, name: string): Promise<Flow | 'jumped'> {
  const started = await turn.services.startSignIn(name);
  if (!started.ok) {
    if (started.reason === 'no_text_channel') {
      turn.say(await text(turn, 'signInNoText'));
      return fallBack(turn, started.voice) === 'next' ? 'jumped' : 'ended';
    }
    turn.say(await text(turn, 'authUnavailable'));
    return 'ended';
  }
  // The link goes as a message, on a call too (by text): its written wording.
  const source = started.linkText ?? botTexts(turn.ctx.bot).text.signInLink;
  const linkText = await turn.render(source, { link: started.link });
  const pending: SignInPending = {
    kind: SIGNIN,
    component: name,
    session: started.session,
    linkExpiresAt: started.expiresAt,
    binding: started.binding,
    keepUntil: started.expiresAt + CODE_GRACE_MS,
  };
  if (turn.onCall) {
    turn.texts.push({ text: linkText });
    turn.say(await text(turn, 'signInTexted'));
    const holdUntil = turn.tools.clock.now() + started.voice.holdSeconds * 1000;
    turn.state.pending = {
      ...pending,
      holdUntil,
      ...(started.voice.fallbackFlow !== undefined ? { fallbackFlow: started.voice.fallbackFlow } : {}),
    };
    hold(turn);
    return 'waiting';
  }
  turn.say(linkText, { secret: true });
  turn.state.pending = pending;
  return 'waiting';
}

/** Whether the conversation waits for a binding code (a secret) rather than for the browser. */
export function signInSecret(pending: SignInPending): boolean {
  return pending.binding;
}

/** A `signin` event for a session this conversation does not wait for changes nothing. */
export function awaitedSignIn(pending: Pending | undefined, session: string | undefined): boolean {
  return pending?.kind === SIGNIN && session !== undefined && (pending as SignInPending).session === session;
}

export async function signInReprompt(turn: Turn, pending: SignInPending): Promise<void> {
  if (turn.onCall) return hold(turn);
  turn.say(pending.completed ? await text(turn, 'signInTypeCode') : await waitingText(turn, pending));
}

export async function signInAnswer(
  turn: Turn,
  pending: SignInPending,
  input: string | undefined,
): Promise<AnswerOutcome> {
  const { event } = turn.ctx;
  if (event.kind === 'signin') {
    // The browser side ended (the engine only passes events of this conversation's session).
    if (event.signIn?.status !== 'completed') {
      turn.state.pending = undefined;
      turn.emit('auth.failed', { component: pending.component, reason: 'sign_in_failed' });
      turn.say(await text(turn, 'signInFailed'));
      return 'ended';
    }
    if (!pending.binding) return finish(turn, pending, undefined);
    turn.state.pending = { ...pending, completed: true };
    turn.say(await text(turn, 'signInTypeCode'));
    return 'waiting';
  }
  if (turn.onCall && input === undefined) return look(turn, pending);
  const code = input?.replace(/[\s-]/g, '');
  if (input !== undefined && BINDING_CODE.test(input) && code) return finish(turn, pending, code);
  if (turn.onCall) return look(turn, pending);
  if (!pending.binding && turn.tools.clock.now() < pending.linkExpiresAt) {
    // The browser may have finished while the event saying so is still on its way.
    const status = await turn.services.signInStatus(pending.session);
    if (status.status === 'completed') return finish(turn, pending, undefined);
  }
  if (turn.tools.clock.now() >= pending.linkExpiresAt && !pending.completed) return newLink(turn, pending);
  turn.say(pending.completed ? await text(turn, 'signInTypeCode') : await waitingText(turn, pending));
  return 'waiting';
}

/** On a call: the Gather timed out (or keys that are no code came): see how the sign-in is doing. */
async function look(turn: Turn, pending: SignInPending): Promise<AnswerOutcome> {
  const now = turn.tools.clock.now();
  const status = await turn.services.signInStatus(pending.session);
  if (status.status === 'completed') {
    if (!pending.binding) return finish(turn, pending, undefined);
    if (!pending.completed) {
      turn.state.pending = { ...pending, completed: true };
      turn.ask(await text(turn, 'signInEnterCode'), codeAsk());
      return 'waiting';
    }
  } else if (status.status !== 'pending' || now >= (pending.holdUntil ?? 0)) {
    turn.state.pending = undefined;
    const reason = status.status === 'failed' ? 'sign_in_failed' : 'sign_in_timed_out';
    turn.emit('auth.failed', { component: pending.component, reason });
    turn.say(await text(turn, status.status === 'failed' ? 'signInFailed' : 'signInTimedOut'));
    return fallBack(turn, { holdSeconds: 0, fallbackFlow: pending.fallbackFlow });
  }
  hold(turn);
  return 'waiting';
}

async function finish(turn: Turn, pending: SignInPending, code: string | undefined): Promise<AnswerOutcome> {
  const finished: SignInFinish = await turn.services.finishSignIn(pending.component, pending.session, code);
  if (finished.ok) {
    turn.state.pending = undefined;
    turn.userView = finished.user;
    turn.tokens.set(pending.component, finished.token);
    turn.say(await text(turn, 'signedIn'));
    return 'next'; // the step that asked runs again, now with a token
  }
  switch (finished.reason) {
    case 'wrong_code':
      turn.say(await text(turn, 'signInWrongCode', { left: finished.attemptsLeft }));
      if (turn.onCall) turn.ask(await text(turn, 'signInEnterCode'), codeAsk());
      return 'waiting';
    case 'not_completed':
      if (turn.onCall) return look(turn, pending);
      turn.say(await waitingText(turn, pending));
      return 'waiting';
    case 'expired':
      if (!turn.onCall && !pending.completed) return newLink(turn, pending);
      turn.state.pending = undefined;
      turn.say(await text(turn, 'signInOver'));
      return 'ended';
    case 'too_many':
      turn.state.pending = undefined;
      turn.emit('auth.failed', { component: pending.component, reason: 'wrong_binding_code' });
      turn.say(await text(turn, 'signInOver'));
      return 'ended';
    case 'move_forbidden':
      turn.state.pending = undefined;
      await turn.user(); // the event names the user the identity stays with
      turn.emit('auth.failed', { component: pending.component, reason: 'identity_move_forbidden' });
      turn.say(await text(turn, 'identityMoveForbidden'));
      return 'ended';
    case 'unavailable':
      turn.say(await text(turn, 'authUnavailable'));
      if (turn.onCall) hold(turn);
      return 'waiting';
  }
}

/** The link expired before it was used: a new one, for the same step. */
async function newLink(turn: Turn, pending: SignInPending): Promise<AnswerOutcome> {
  turn.state.pending = undefined;
  turn.say(await text(turn, 'signInNewLink'));
  const flow = await startSignIn(turn, pending.component);
  return flow === 'jumped' ? 'next' : flow;
}

/** After a call's sign-in did not finish: the configured flow, else the end of the call. */
function fallBack(turn: Turn, voice: VoiceSignIn | undefined): Flow | 'next' {
  if (voice?.fallbackFlow === undefined || !Object.hasOwn(turn.ctx.bot.flows, voice.fallbackFlow))
    return 'ended';
  turn.jump(voice.fallbackFlow);
  return 'next';
}

/** Keeps a call on the line: a silent Gather that takes the binding code when it is keyed. */
function hold(turn: Turn): void {
  turn.ask('', { ...codeAsk(), timeout: HOLD_POLL_SECONDS });
}

function codeAsk() {
  return { keypad: true, digits: 6, secret: true } as const;
}

function waitingText(turn: Turn, pending: SignInPending): Promise<string> {
  const left = Math.max(1, Math.ceil((pending.linkExpiresAt - turn.tools.clock.now()) / 60_000));
  return text(turn, 'signInWaiting', { minutes: left });
}
