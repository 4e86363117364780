// `handoff: { message, number | sip | queue, whisper, noAnswer, idleTimeout, history }`: hands the conversation to a person.
// On a call the channel transfers it; on a text channel the bot falls silent until the operator resumes it.
import { z } from '../../zod.js';
import { PositiveSeconds, Text, withHint } from '../../schema-parts.js';
import { phoneNumberSchema } from '../../phone-number.js';
import type { Transfer } from '../../events.js';
import type { HistoryItem } from '../../ports/history.js';
import { asMapping, defineStep } from '../step.js';
import type { Handoff } from '../state.js';
import { text } from '../text.js';
import type { Turn } from '../turn.js';

/** The pending kind (and the live listing's `waiting`) of a handed-off conversation. */
export const HANDOFF = 'handoff';

/** What the history lines of the operator's event say for a secret. */
const REDACTED = '[redacted]';

const SIP = /^sips?:[^\s@<>]+@[^\s<>]+$/;
const QUEUE = /^[A-Za-z0-9 ._-]{1,64}$/;

const HandoffOptionsSchema = z
  .strictObject({
    /** Said to the user first (default: the bot's handoffText on a text channel, handoffCall on a call). */
    message: Text.optional(),
    number: phoneNumberSchema(
      withHint('"number" is not an E.164 number', 'write it like "+14155550100".'),
    ).optional(),
    sip: z
      .string()
      .regex(SIP, {
        error: withHint('"sip" is not a SIP address', 'write it like "sip:agent@example.sip.twilio.com".'),
      })
      .optional(),
    queue: z
      .string()
      .regex(QUEUE, {
        error: withHint(
          '"queue" is not a queue name',
          'use up to 64 letters, digits, spaces, ".", "_" or "-".',
        ),
      })
      .optional(),
    whisper: Text.optional(),
    /** Said when no one takes a transferred call (default: the bot's handoffNoAnswer text). */
    noAnswer: Text.optional(),
    /** Seconds with no message either way after which the bot answers again. */
    idleTimeout: PositiveSeconds.default(1800),
    /** History lines the `conversation.handoff` event carries. */
    history: z.int().min(0).max(200).default(20),
  })
  .superRefine((value, ctx) => {
    const targets = ['number', 'sip', 'queue'].filter((k) => value[k as 'number'] !== undefined);
    if (targets.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: withHint(
          `a handoff transfers a call to one place, not ${targets.map((t) => `"${t}"`).join(' and ')}`,
          'keep one of "number", "sip" and "queue".',
        ),
      });
    }
    if (value.whisper !== undefined && value.number === undefined && value.sip === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['whisper'],
        message: withHint(
          '"whisper" is said to an agent called on a number or a SIP address',
          'add "number" or "sip", or remove "whisper" (a queue has no whisper of its own).',
        ),
      });
    }
  });
type HandoffOptions = z.output<typeof HandoffOptionsSchema>;

interface HandoffPending {
  kind: typeof HANDOFF;
  keepUntil: number;
  [detail: string]: unknown;
}

function transferOf(options: HandoffOptions): Transfer['to'] | undefined {
  if (options.number !== undefined) return { number: options.number };
  if (options.sip !== undefined) return { sip: options.sip };
  if (options.queue !== undefined) return { queue: options.queue };
  return undefined;
}

/** The history lines this turn adds (recorded only once it commits), as the operator may see them. */
function thisTurn(turn: Turn): HistoryItem[] {
  const { event, now } = turn.ctx;
  const lines: HistoryItem[] = [];
  if ((event.kind === 'message' || event.kind === 'call.input') && event.text !== '') {
    lines.push({
      direction: 'in',
      text: turn.carriedSecret ? REDACTED : event.text,
      at: now,
      ...(turn.carriedSecret ? { secret: true } : {}),
    });
  }
  for (const reply of turn.replies) {
    lines.push({
      direction: 'out',
      text: reply.secret ? REDACTED : reply.text,
      at: now,
      ...(reply.secret ? { secret: true } : {}),
    });
  }
  return lines;
}

/** Keeps the handoff `idleMs` more from now: past that, with nothing either way, the bot answers again. */
function keepAlive(turn: Turn, handoff: Handoff): void {
  turn.state.handoff = handoff;
  turn.state.pending = { kind: HANDOFF, keepUntil: turn.ctx.now + handoff.idleMs };
}

export const handoff = defineStep<typeof HANDOFF, HandoffOptions, HandoffPending>({
  kind: HANDOFF,
  schema: HandoffOptionsSchema,
  check: (value, at, checks) => {
    const options = asMapping(value);
    for (const name of ['message', 'whisper', 'noAnswer'] as const) checks.text(options[name], [...at, name]);
  },
  run: async (turn, options) => {
    const { event, now } = turn.ctx;
    const onCall = event.channel === 'voice';
    turn.say(
      options.message === undefined
        ? await text(turn, onCall ? 'handoffCall' : 'handoffText')
        : await turn.render(options.message),
    );
    const noAnswer = () =>
      options.noAnswer === undefined ? text(turn, 'handoffNoAnswer') : turn.render(options.noAnswer);
    const history = options.history > 0 ? await turn.services.recentHistory(options.history) : [];
    const to = transferOf(options);
    await turn.user();
    turn.emit('conversation.handoff', {
      // Flat on purpose (event data is): the lines as a JSON array, secrets as "[redacted]".
      // `at` in ms since the epoch (the core keeps off the wall clock and its Date).
      history: JSON.stringify([...history, ...thisTurn(turn)].slice(-Math.max(1, options.history))),
      ...(onCall && to ? { transfer: Object.keys(to)[0]! } : {}),
    });
    if (onCall) {
      if (!to) {
        turn.services.report(
          `flow ${turn.state.flow} step ${turn.state.step + 1}: a handoff on a call needs "number", "sip" or "queue"`,
        );
        turn.say(await noAnswer());
        return 'ended';
      }
      const whisper = options.whisper === undefined ? undefined : await turn.render(options.whisper);
      turn.transfer = {
        to,
        noAnswer: await noAnswer(),
        ...(whisper ? { whisper } : {}),
      };
      return 'ended'; // the call is the agent's now: the bot's part of it is over
    }
    keepAlive(turn, {
      since: now,
      idleMs: options.idleTimeout * 1000,
      lastInbound: event.kind === 'message' ? now : (event.windowStart ?? event.receivedAt),
      from: event.from,
      to: event.to,
      ...(event.provider ? { provider: event.provider } : {}),
    });
    return 'waiting';
  },
  // A message while handed off never reaches the step as an answer: the engine passes it to the operator.
});

/**
 * A user's message while a person has the conversation: recorded (the worker writes the history), passed to
 * the operator as `conversation.message` (a secret as "[redacted]"), and not answered.
 */
export async function whileHandedOff(turn: Turn, handoff: Handoff): Promise<void> {
  const { event, now } = turn.ctx;
  if (event.kind === 'message') {
    await turn.user(); // the event names the user, as every conversation event does
    turn.emit('conversation.message', {
      text: turn.carriedSecret ? REDACTED : event.text,
      ...(turn.carriedSecret ? { secret: true } : {}),
      ...(event.media?.length ? { media: event.media.length } : {}),
    });
  }
  keepAlive(turn, { ...handoff, ...(event.kind === 'message' ? { lastInbound: now } : {}) });
}

/** The operator's agent wrote: the text goes to the user through the conversation's outbox. */
export function agentReply(turn: Turn, handoff: Handoff): void {
  turn.say(turn.ctx.event.text);
  keepAlive(turn, { ...handoff });
}

/**
 * The operator gave the conversation back: it carries on at the step after the handoff, or at the start of
 * the flow the operator named.
 */
export async function resumeBot(turn: Turn): Promise<void> {
  const flow = turn.ctx.event.resume?.flow;
  turn.state.handoff = undefined;
  if (flow !== undefined) turn.jump(flow);
  else turn.advance();
  await turn.user();
  turn.emit('conversation.resumed', { reason: 'operator', flow: turn.state.flow });
}
