// Drains a conversation's inbox one event at a time, in order: the thin shell around the dialog engine.
import { Worker } from 'bullmq';
import type { Connection } from '../store/connections.js';
import { providerField, type ChannelAdapter, type ChannelRegistry } from '../../channels/index.js';
import {
  awaitsSecret,
  SECRET_PROMPT_MEMORY_SECONDS,
  type DialogEngine,
  type DialogState,
  type TurnResult,
} from '../core/dialog.js';
import { DialogError } from '../core/errors.js';
import type { InboundEvent, TurnOutput } from '../core/events.js';
import { numberedChoice } from '../core/choices.js';
import {
  createTurnServices,
  type HistoryLine,
  type TurnServiceDeps,
  type TurnServices,
  type UserLookup,
} from '../turn/turn-services.js';
import { SECRET_TEXT, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ConversationStore, OutboxClaim, OutboxItem } from '../store/conversation-store.js';
import type { Directory } from '../config/directory.js';
import type { BotConfig } from '../config/index.js';
import { textRoute } from '../turn/sign-in-services.js';
import { CONVERSATION_QUEUE, type KickData, type Queues } from './queues.js';
import { backoffMs } from './backoff.js';
import { asQueueWorker } from './reclaim.js';
import { KickWorker, type Kick, type Lead, type QueueWorker } from './kick-worker.js';
import { untilItLands } from './until-it-lands.js';
import { outboxHeld, type DrainOutcome, type ReplySender } from './reply-sender.js';
import { conversationAttributes, inSpan, traceField } from '../tracing.js';

export interface ConversationWorkerOptions {
  connection: Connection;
  services: TurnServiceDeps;
  channels: ChannelRegistry;
  /** Deletes an inbound message that carried a secret from the provider's log (redactSecretMessages). */
  redactInbound?: (event: InboundEvent) => Promise<void>;
  queues: Queues;
  store: ConversationStore;
  /** Sends a turn's replies right after its commit; what it cannot finish is left to the send queue. */
  replies: ReplySender;
  engine: DialogEngine;
  directory: () => Directory;
  logger: Logger;
  metrics: Metrics;
  concurrency: number;
  lockDuration: number;
  /** Attempts at one event before it is dead-lettered. */
  maxAttempts: number;
  retryBaseMs: number;
  /** The time sessions expire by (ms); tests pass a clock they move. */
  now: () => number;
  /** Told of every turn this worker finished, in process (no Redis round trip): tests await it. */
  onTurn?: (turn: FinishedTurn) => void;
  /** A voice turn's committed answer, for a webhook of this process waiting on it (no pub/sub hop). */
  onVoiceAnswer?: (cid: string, turn: number, answer: string) => void;
}

/** A turn the worker is done with: committed (`handled`) or given up on (`dead-lettered`). */
export interface FinishedTurn {
  conversationId: string;
  /** The provider's id of the event ('unknown' when it could not be opened). */
  eventId: string;
  outcome: 'handled' | 'dead-lettered';
  /** Messages the turn queued, plus its voice answer. */
  replies: number;
  reason?: string;
}

export interface HandledTurn {
  optOut?: boolean;
  state: DialogState | null;
  stateTtlSeconds: number;
  replies: OutboxItem[];
  voiceTurn?: { turn: number; answer: string };
  /** Work for once the turn is committed (history, provider log redaction): done once, by the worker that won. */
  afterCommit?: () => Promise<void>;
}

/**
 * The events whose turn all but always looks its user up: the engine, when the conversation starts, and
 * the history of what was said, after the commit.
 */
const READS_USER: ReadonlySet<InboundEvent['kind']> = new Set([
  'message',
  'call.start',
  'call.input',
  'call.noinput',
  'start',
]);

/** Runs one event through the dialog and renders what it produced for the event's channel. */
export async function handleEvent(
  opts: Pick<
    ConversationWorkerOptions,
    'engine' | 'directory' | 'services' | 'store' | 'redactInbound' | 'channels' | 'now'
  >,
  cid: string,
  event: InboundEvent,
  state: DialogState | null,
  optedOut: boolean,
  /** The lookup of the event's user, begun before the turn (`IdentityServices.lookUp`). */
  lookup?: UserLookup,
): Promise<HandledTurn> {
  const directory = opts.directory();
  const bot = directory.bot(event.botId);
  if (!bot) throw new DialogError(`bot ${event.botId} is no longer configured`);
  const workspace = directory.config.workspaces[bot.workspace];
  if (!workspace) throw new DialogError(`workspace ${bot.workspace} is no longer configured`);
  const adapter = opts.channels.get(event.channel);
  if (!adapter) throw new DialogError(`channel ${event.channel} is no longer served`);
  const now = opts.now();
  // A state waiting at a secret prompt outlives the session, so that a late answer is still known for a secret.
  // A pending that waits on something outside the conversation (a sign-in link) keeps it at least that long.
  const ttlOf = (kept: DialogState | null) => {
    const keepUntil = kept?.pending?.keepUntil;
    const waiting = typeof keepUntil === 'number' ? Math.ceil((keepUntil - now) / 1000) : 0;
    return (
      Math.max(bot.sessionTimeout, waiting) + (awaitsSecret(bot, kept) ? SECRET_PROMPT_MEMORY_SECONDS : 60)
    );
  };
  const services = createTurnServices(opts.services, {
    cid,
    botId: event.botId,
    bot,
    workspaceId: bot.workspace,
    workspace,
    event,
    state,
    ...(lookup ? { lookup } : {}),
  });
  // The user is looked up: asked for now, the lookup goes out with the rate counter's hit (one write, one
  // round trip) and the turn and its history find it answered. A failure is the turn's own, when it asks.
  if (READS_USER.has(event.kind)) services.user().catch(() => undefined);
  if (event.kind === 'message' && !optedOut) {
    const count = await opts.store.countMessage(cid, event);
    if (count > bot.rateLimit.messagesPerMinute) {
      // Over the limit: one polite reply, then silence until the minute is over.
      const output = {
        replies: count === bot.rateLimit.messagesPerMinute + 1 ? [{ text: bot.rateLimit.reply }] : [],
        hangup: false,
      };
      // Not answered, but still typed at a secret prompt: it goes from the provider's log all the same.
      const redact = awaitsSecret(bot, state) ? opts.redactInbound : undefined;
      return {
        state,
        stateTtlSeconds: ttlOf(state),
        replies: outbox(adapter, cid, event, output),
        ...(redact ? { afterCommit: () => redact(event) } : {}),
      };
    }
  }
  if (event.kind === 'signin' && adapter.renderTurn) {
    // A call looks at its sign-in itself while it holds: the event has nothing to add.
    return { state, stateTtlSeconds: ttlOf(state), replies: [] };
  }
  const result = await opts.engine.turn({ botId: event.botId, bot, event, now, optedOut, services }, state);
  logTurnText(opts.services.logger, cid, event, result);
  const stateTtlSeconds = ttlOf(result.state);
  const afterCommit = async () => {
    // History is the operator's record: retried through a failover (in turn order), never by replaying the turn.
    await untilItLands(() => recordHistory(services, event, result), {
      what: 'history',
      logger: opts.services.logger,
      meta: { conversation: cid, bot: event.botId, channel: event.channel, event: event.id },
      // The conversation waits meanwhile (its history stays in order): long enough for a failover, no longer.
      maxMs: 60_000,
    });
    if (result.carriedSecret && opts.redactInbound) await opts.redactInbound(event);
  };
  if (adapter.renderTurn) {
    // The webhook waiting for this turn answers with it (voice): nothing goes through the outbox.
    if (event.kind === 'call.end') return { state: null, stateTtlSeconds, replies: [], afterCommit };
    const answer = adapter.renderTurn(result.output, {
      publicUrl: directory.publicUrl,
      turn: event.turn ?? 0,
      bot,
    });
    return {
      state: result.state,
      stateTtlSeconds,
      replies: textsOfCall(cid, event, bot, result.output),
      voiceTurn: { turn: event.turn ?? 0, answer },
      afterCommit,
      ...(result.optOut !== undefined ? { optOut: result.optOut } : {}),
    };
  }
  return {
    state: result.state,
    stateTtlSeconds,
    replies: outbox(adapter, cid, event, result.output),
    afterCommit,
    ...(result.optOut !== undefined ? { optOut: result.optOut } : {}),
  };
}

/**
 * At debug: what the user sent and what the bot answered, a secret answer and a sign-in link as `[secret]`
 * (whatever the level, they never reach a log).
 */
export function logTurnText(logger: Logger, cid: string, event: InboundEvent, result: TurnResult): void {
  if (!logger.isDebugEnabled()) return;
  const where = { conversation: cid, bot: event.botId, channel: event.channel, event: event.id };
  if (event.kind === 'message' || event.kind === 'call.input') {
    logger.debug('message in', { ...where, text: result.carriedSecret ? SECRET_TEXT : event.text });
  }
  const replies = [
    ...result.output.replies.map((reply) => (reply.secret ? SECRET_TEXT : reply.text)),
    ...(result.output.texts ?? []).map(() => SECRET_TEXT),
  ];
  if (replies.length > 0) logger.debug('replies out', { ...where, text: replies });
}

/** What the user sent and what the bot answered, for the user's history; a secret-bearing message is kept as `[redacted]`. */
async function recordHistory(services: TurnServices, event: InboundEvent, result: TurnResult): Promise<void> {
  const lines: HistoryLine[] = [];
  if ((event.kind === 'message' || event.kind === 'call.input') && event.text !== '') {
    lines.push({ direction: 'in', text: event.text, ...(result.carriedSecret ? { secret: true } : {}) });
  }
  for (const reply of result.output.replies) {
    // A choice is kept with its options, as a text channel shows it.
    const text = reply.choice ? numberedChoice(reply.text, reply.choice.options) : reply.text;
    lines.push({ direction: 'out', text, ...(reply.secret ? { secret: true } : {}) });
  }
  for (const text of result.output.texts ?? [])
    lines.push({ direction: 'out', text: text.text, secret: true });
  await services.recordHistory(lines);
}

/** A call's text messages to the caller (a sign-in link), from the bot's SMS (else WhatsApp) number. */
function textsOfCall(cid: string, event: InboundEvent, bot: BotConfig, output: TurnOutput): OutboxItem[] {
  const route = textRoute({ bot });
  if (!route || !output.texts?.length) return [];
  const whatsapp = route.channel === 'whatsapp';
  return output.texts.map((text, i) => ({
    id: `${event.id}:text:${i}`,
    cid,
    botId: event.botId,
    channel: route.channel,
    accountSid: providerField(event, 'accountSid') ?? '',
    from: whatsapp ? `whatsapp:${route.number}` : route.number,
    to: whatsapp ? `whatsapp:${event.from}` : event.from,
    body: text.text,
    windowStart: event.receivedAt,
    ...traceField(),
  }));
}

/** The texts of a turn as outbox items, split to the channel's limit, with ids stable across retries. */
function outbox(adapter: ChannelAdapter, cid: string, event: InboundEvent, output: TurnOutput): OutboxItem[] {
  if (adapter.renderTurn) return [];
  const replies: OutboxItem[] = [];
  // A started flow's replies and an agent's reply: the WhatsApp window starts at the user's last message.
  const windowStart = event.start?.windowStart ?? event.windowStart ?? event.receivedAt;
  for (const reply of output.replies) {
    // A choice is a numbered list under its prompt; its options ride on the last part, for a channel that has its own way.
    const text = reply.choice ? numberedChoice(reply.text, reply.choice.options) : reply.text;
    const bodies = adapter.toTexts?.(text) ?? [text];
    for (const [part, body] of bodies.entries()) {
      const choice =
        reply.choice && part === bodies.length - 1 ? { choice: { prompt: reply.text, ...reply.choice } } : {};
      replies.push({
        id: `${event.id}:${replies.length}`,
        cid,
        botId: event.botId,
        channel: event.channel,
        // The account the reply leaves on, for the channel's provider (opaque here).
        accountSid: providerField(event, 'accountSid') ?? '',
        from: event.to,
        to: event.from,
        body,
        windowStart,
        ...traceField(),
        ...choice,
      });
    }
  }
  const template = event.start?.template;
  // Outside the window a template is one message: the turn's replies go as one, through it.
  if (!template || replies.length === 0) return replies;
  return [{ ...replies[0]!, body: replies.map((r) => r.body).join('\n\n'), template }];
}

/** The `turn` span, continuing the trace of the webhook that queued the event. */
function turnSpan<T>(cid: string, event: InboundEvent, work: () => Promise<T>): Promise<T> {
  const attributes = () => ({
    ...conversationAttributes({
      bot: event.botId,
      channel: event.channel,
      conversation: cid,
      event: event.id,
    }),
    'switchboard.event.kind': event.kind,
  });
  return inSpan('turn', { attributes, parent: event.traceparent }, work);
}

export function createConversationWorker(shard: number, opts: ConversationWorkerOptions): QueueWorker[] {
  const { store, queues, logger, metrics } = opts;

  async function deadLetter(
    cid: string,
    raw: string,
    event: InboundEvent | undefined,
    reason: string,
    state?: DialogState | null,
  ) {
    metrics.deadLetters.inc({ bot: event?.botId ?? 'unknown', channel: event?.channel ?? 'unknown' });
    logger.error('turn dead-lettered', {
      conversation: cid,
      bot: event?.botId,
      channel: event?.channel,
      flow: state?.flow,
      step: state?.step,
      event: event?.id,
      reason,
    });
    const workspace = event ? opts.directory().bot(event.botId)?.workspace : undefined;
    await store.deadLetter({
      cid,
      ...(event ? { botId: event.botId } : {}),
      ...(workspace ? { workspace } : {}),
      eventId: event?.id ?? 'unknown',
      reason,
      at: Date.now(),
      sealedEvent: raw,
    });
    const apology = event ? opts.channels.get(event.channel)?.apology : undefined;
    if (event && apology && event.kind !== 'call.end') {
      // The caller's webhook is waiting for this turn: give it an apology rather than silence.
      const bot = opts.directory().bot(event.botId);
      if (bot) {
        const answer = apology(bot);
        await store.publishTurn(cid, event.turn ?? 0, answer);
      }
    }
    const dropped = await store.dropHead(cid, raw, event?.id ?? '');
    opts.onTurn?.({
      conversationId: cid,
      eventId: event?.id ?? 'unknown',
      outcome: 'dead-lettered',
      replies: 0,
      reason,
    });
    return dropped;
  }

  /**
   * Sends the outbox right after a commit, under a claim of this turn's own (`claim`, fenced as a send
   * job's is, and taken by the commit itself: `taken`), so the common reply costs no send job. What it cannot finish goes to the send queue: a
   * bulk send at the head, a reply that must wait for its slot or be retried (the claim is kept until
   * then, so a later turn does not send it early), an outbox another holder has, an error.
   */
  async function sendNow(
    cid: string,
    claim: string,
    taken: OutboxClaim,
    claimedAt: number,
    recorded: Promise<void> | undefined,
  ): Promise<void> {
    const lease = opts.lockDuration;
    // Nothing is sent, nor handed to the send queue, before the turn's history has landed (or given up).
    const settled = () => recorded?.catch(() => undefined);
    if (taken.held) {
      // Its holder sends these too as it pops its way down the outbox; a send job after it, in case it stops.
      outboxHeld(logger, cid, taken.retryInMs);
      await settled();
      return queues.kickSend(cid);
    }
    let outcome: DrainOutcome;
    try {
      outcome = await opts.replies.drain(cid, claim, lease, taken.head, {
        inline: true,
        claimedAt,
        ...(recorded ? { before: recorded } : {}),
      });
    } catch (error) {
      logger.warn('reply not sent after its turn; left to the send queue', {
        conversation: cid,
        reason: error instanceof Error ? error.message : String(error),
      });
      outcome = { done: false, later: 0 };
    }
    await settled();
    if (outcome.done) return;
    if (outcome.held) return queues.kickSend(cid); // as above: the claim lapsed, and another holder has it
    const hold = outcome.later - 10;
    if (hold > 0) await store.claimOutbox(cid, claim, hold);
    else await store.releaseOutbox(cid, claim);
    await queues.kickSend(cid, { delayMs: outcome.later, ...(outcome.slot ? { slot: outcome.slot } : {}) });
  }

  /**
   * The user of the event whose kick handed the conversation over in this process, looked up before the
   * head is read (the two leave together): for the turn of that very event, which is most often the head.
   * It goes even when the accept saw the head: the turn then starts with the lookup on its way.
   */
  function leadLookup(lead: InboundEvent | undefined): { eventId: string; lookup: UserLookup } | undefined {
    const identity = opts.services.identity;
    const bot = lead && READS_USER.has(lead.kind) ? opts.directory().bot(lead.botId) : undefined;
    if (!identity || !bot || !lead) return undefined;
    return { eventId: lead.id, lookup: identity.lookUp({ workspaceId: bot.workspace, bot, event: lead }) };
  }

  /**
   * Lookups begun when a webhook of this process told the worker what it was about to kick (`prepare`):
   * the user's read leaves alongside the accept instead of after the kick's answer.
   */
  const prepared = new WeakMap<Lead, ReturnType<typeof leadLookup>>();

  async function process(kick: Kick): Promise<void> {
    const { cid, token } = kick;
    let lead = kick.lead && prepared.has(kick.lead) ? prepared.get(kick.lead) : leadLookup(kick.lead?.event);
    // What the webhook's accept saw, when its event was the only one queued: no read of the head then.
    const head = (await kick.lead?.head) ?? (await store.head(cid));
    if (head.pendingReplies > 0) await queues.kickSend(cid); // replies of a turn whose worker died before kicking
    let raw = head.raw;
    let state = head.state;
    let optedOut = head.optedOut;
    while (raw) {
      const event = store.openEvent(cid, raw);
      if (!event) {
        const dropped = await deadLetter(
          cid,
          raw,
          undefined,
          'the event cannot be decrypted with any known data key',
        );
        raw = dropped.lost ? (await store.head(cid)).raw : dropped.next;
        continue;
      }
      let turn: HandledTurn;
      try {
        const lookup = lead?.eventId === event.id ? lead.lookup : undefined;
        lead = undefined;
        turn = await turnSpan(cid, event, () => handleEvent(opts, cid, event, state, optedOut, lookup));
      } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        const attempts = await store.countAttempt(cid, event.id);
        if (!(error instanceof DialogError) && attempts < opts.maxAttempts) {
          logger.warn('turn failed; will retry', {
            conversation: cid,
            bot: event.botId,
            channel: event.channel,
            event: event.id,
            attempt: attempts,
            reason,
          });
          // Back to the queue for after the backoff, still the conversation's only kick: nothing overtakes it.
          kick.retryAt(Date.now() + backoffMs(attempts, opts.retryBaseMs));
          return;
        }
        const dropped = await deadLetter(cid, raw, event, reason, state);
        raw = dropped.lost ? (await store.head(cid)).raw : dropped.next;
        continue;
      }
      const workspace = opts.directory().bot(event.botId)?.workspace;
      const live = workspace
        ? { workspace, botId: event.botId, channel: event.channel, identity: event.identity, at: opts.now() }
        : undefined;
      // A turn with replies sends them itself, under a claim the commit takes for it.
      const claim = turn.replies.length
        ? { token: `${token}:${event.id}`, leaseMs: opts.lockDuration }
        : undefined;
      const committing = Date.now();
      const committed = await store.commit({ cid, head: raw, eventId: event.id, ...turn, live, claim });
      if (committed.lost) {
        // Another worker took this conversation over and committed the turn: carry on from the inbox.
        const again = await store.head(cid);
        raw = again.raw;
        state = again.state;
        optedOut = again.optedOut;
        continue;
      }
      if (turn.voiceTurn && opts.onVoiceAnswer) {
        opts.onVoiceAnswer(cid, turn.voiceTurn.turn, turn.voiceTurn.answer);
        // The caller's webhook waits in this process: let it answer before the turn's log line and history.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (committed.liveIndexFailed) {
        logger.warn('live conversation index not updated', {
          conversation: cid,
          reason: committed.liveIndexFailed.message,
        });
      }
      metrics.turnSeconds.observe({ channel: event.channel }, (Date.now() - event.receivedAt) / 1000);
      const replies = turn.replies.length + (turn.voiceTurn ? 1 : 0);
      logger.info('turn handled', {
        conversation: cid,
        bot: event.botId,
        channel: event.channel,
        event: event.id,
        kind: event.kind,
        replies,
        flow: turn.state?.flow,
        waiting: turn.state?.pending?.kind,
        ended: turn.state === null,
      });
      if (turn.optOut !== undefined && turn.optOut !== optedOut) {
        const change = turn.optOut ? 'out' : 'in';
        metrics.optOuts.inc({ bot: event.botId, channel: event.channel, change });
        const fields = {
          conversation: cid,
          bot: event.botId,
          channel: event.channel,
          flow: state?.flow,
          step: state?.step,
        };
        if (turn.optOut) logger.warn('user opted out', { ...fields, reason: 'opt-out keyword' });
        else logger.info('user opted in', fields);
      }
      opts.onTurn?.({ conversationId: cid, eventId: event.id, outcome: 'handled', replies });
      // History first: once a reply has arrived, the user's history has its turn. Its write leaves with
      // the send's first command (the pacer's take, one socket write for both) and the send waits for it.
      const recorded = turn.afterCommit?.();
      recorded?.catch(() => undefined); // awaited below; the send only waits for it to settle
      // The commit claimed the outbox when the turn asked it to (`claim`): its answer is always there then.
      if (claim && committed.outbox) await sendNow(cid, claim.token, committed.outbox, committing, recorded);
      await recorded;
      raw = committed.next;
      state = turn.state;
      if (turn.optOut !== undefined) optedOut = turn.optOut;
    }
  }

  const worker = new KickWorker({
    store: queues.kicks,
    connection: opts.connection,
    shard,
    concurrency: opts.concurrency,
    leaseMs: opts.lockDuration,
    process,
    prepare: (told) => void prepared.set(told, leadLookup(told.event)),
    logger,
    queue: CONVERSATION_QUEUE,
  });
  // Kicks an earlier version's web process put on BullMQ during a rolling upgrade: moved to the new queue.
  const bridge = new Worker<KickData>(
    CONVERSATION_QUEUE,
    async (job) => {
      await queues.kickConversation(job.data.cid);
    },
    {
      connection: opts.connection,
      prefix: queues.keys.conversationQueuePrefix(shard),
      concurrency: 1,
      lockDuration: opts.lockDuration,
    },
  );
  bridge.on('error', () => undefined); // the connection's own listener logs an outage once
  return [worker, asQueueWorker(bridge)];
}
