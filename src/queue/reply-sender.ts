// Sends an outbox's replies in order under its claim: the send job's loop, and the conversation worker's
// send right after a commit (the send job is then kicked only for what that send could not finish).
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ConversationStore, OutboxItem } from '../store/conversation-store.js';
import type { Directory } from '../config/directory.js';
import {
  sendInterval,
  SendRejectedError,
  SendRetryableError,
  type ChannelRegistry,
  type ContentSids,
  type MessageSender,
} from '../../channels/index.js';
import type { SendPacer } from '../store/pacer.js';
import { backoffMs } from './backoff.js';
import { untilItLands } from './until-it-lands.js';
import { inSpan, conversationAttributes, SpanKind } from '../tracing.js';

export interface SendFailure {
  item: OutboxItem;
  reason: string;
  code?: number;
}

export interface ReplySenderOptions {
  store: ConversationStore;
  channels: ChannelRegistry;
  /** The provider's sender (or the sandbox's recorder), for the channels that deliver through it. */
  sender: MessageSender;
  /** The content SIDs of `choose` questions' WhatsApp buttons and lists. */
  contents?: ContentSids;
  /** Paces sends per sender number across every worker (see `SendPacer`). */
  pacer: SendPacer;
  directory: () => Directory;
  logger: Logger;
  metrics: Metrics;
  maxAttempts: number;
  retryBaseMs: number;
  /** Told about every reply that could not be delivered (logs, metrics, `message.failed`). */
  onFailure: (failure: SendFailure) => Promise<void>;
}

/** A reply's slot in its sender's pace, reserved before its send was put off to it: not taken again. */
export interface KeptSlot {
  reply: string;
  at: number;
}

/**
 * How a drain ended: `done` (the outbox is empty, or another holder took it over mid-pop), or `later`: come
 * back in that many ms (a retry's backoff, a paced send's slot; 0: hand over to the send job now), keeping
 * `slot`; `held`: another holder has the outbox, for `later` ms at most.
 */
export type DrainOutcome =
  { done: true } | { done: false; later: number; slot?: KeptSlot; retry?: true; held?: true };

/** The longest a reserved slot is waited for inside a send job; a longer wait delays the job instead. */
const MAX_PACING_SLEEP_MS = 2000;

/**
 * A send this long into the claim's lease since it was last confirmed (taken, or renewed by a pop) confirms
 * it again first: a process paused or cut off past its lease finds its successor holding the outbox instead
 * of sending what the successor sends.
 */
const CONFIRM_AFTER = 0.5;

/** How often a bulk send stalled past its slot takes a new one before its job is delayed instead. */
const MAX_PACING_TAKES = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type ReplySender = ReturnType<typeof createReplySender>;

/** Says a send stood back: another send job holds the outbox, and sends what this one would have. */
export function outboxHeld(logger: Logger, cid: string, retryInMs: number): void {
  logger.info('outbox held by another send job; trying again when its claim lapses', {
    conversation: cid,
    retryInMs,
  });
}

export function createReplySender(opts: ReplySenderOptions) {
  const { store, logger, metrics } = opts;

  /**
   * Waits for the item's slot in its sender's pace (one script call). A reserved slot at most `maxSleepMs`
   * away is waited for; a bulk send without a slot, or a reply's slot further away, is put off: `delayed`
   * says when to come back (the outbox is left as it is), `slot` the reply's reserved slot. A bulk send that
   * finds itself more than half an interval (at least 20 ms) past its slot (this process was stalled) takes
   * another instead, so a stall cannot squeeze two sends together: the rate errs slow.
   */
  async function paced(
    item: OutboxItem,
    kept: KeptSlot | undefined,
    maxSleepMs: number,
  ): Promise<{ delayed?: number; slot?: KeptSlot }> {
    if (kept?.reply === item.id && Date.now() >= kept.at - 50) return {};
    const pacing = opts.directory().config.pacing;
    const kind = item.bulk ? 'bulk' : 'reply';
    const interval = sendInterval(pacing, item.from);
    for (let attempt = 1; ; attempt++) {
      const asked = Date.now();
      const { waitMs, reserved } = await opts.pacer.take(item.from, interval, kind, pacing.replyAhead * 1000);
      if (reserved && waitMs <= maxSleepMs) {
        if (waitMs > 0) await sleep(waitMs);
        // The slot was at `asked + waitMs` at the latest (the grant came between asking and the answer).
        const late = Date.now() - (asked + waitMs);
        if (kind === 'reply' || late <= Math.max(interval / 2, 20)) return {};
        if (attempt >= MAX_PACING_TAKES) return { delayed: interval };
        continue;
      }
      // A reserved slot (a reply's) is kept: the send comes back to it without taking another.
      return reserved
        ? { delayed: waitMs, slot: { reply: item.id, at: Date.now() + waitMs } }
        : { delayed: waitMs };
    }
  }

  /** Counted by the provider's error code, else the HTTP status it answered (none when it never answered). */
  async function fail(item: OutboxItem, reason: string, code?: number, status?: number) {
    metrics.outbound.inc({ channel: item.channel, status: 'failed' });
    metrics.sendErrors.inc({ channel: item.channel, error_code: String(code ?? status ?? 'none') });
    logger.warn('reply not delivered', {
      conversation: item.cid,
      bot: item.botId,
      channel: item.channel,
      reply: item.id,
      ...(code !== undefined ? { errorCode: code } : {}),
      reason,
    });
    await opts.onFailure({ item, reason, ...(code !== undefined ? { code } : {}) });
  }

  /** Sends one reply through its channel (which applies the channel's rules); returns the provider's id. */
  async function sendOne(item: OutboxItem): Promise<string> {
    const deliver = opts.channels.get(item.channel)?.deliver;
    if (!deliver) throw new SendRejectedError(`channel ${item.channel} does not deliver replies`, 400);
    const bot = opts.directory().bot(item.botId);
    const sent = await deliver(item, { bot, sender: opts.sender, contents: opts.contents, logger });
    return sent.id;
  }

  /** The `send <channel>` span, continuing the trace of the turn that made the reply. */
  function sendSpan<T>(item: OutboxItem, work: () => Promise<T>): Promise<T> {
    const attributes = () => ({
      ...conversationAttributes({ bot: item.botId, channel: item.channel, conversation: item.cid }),
      'switchboard.reply': item.id,
    });
    return inSpan(
      `send ${item.channel}`,
      { kind: SpanKind.CLIENT, attributes, parent: item.traceparent },
      work,
    );
  }

  /**
   * Sends the outbox from `head` on, while `claim` holds it (checked and renewed at every pop, and checked
   * again before a send when half its lease has passed since, so a worker that lost its job in an outage
   * stops instead of sending what its successor sends). `claimedAt`: when the claim was asked for (ms).
   * `inline` (right after a commit): a bulk send, or a reply that must wait for its slot, is left to the
   * send job. `held` in the outcome: another holder has the outbox now, for `later` ms at most.
   * `before`: what must have happened before the first send (a turn's history write): the first reply's
   * pacing is asked for meanwhile, and its send waits for it (and fails if it failed).
   */
  async function drain(
    cid: string,
    claim: string,
    lease: number,
    head: string | null,
    opts2: { slot?: KeptSlot; inline?: boolean; claimedAt?: number; before?: Promise<void> } = {},
  ): Promise<DrainOutcome> {
    let raw = head;
    let confirmedAt = opts2.claimedAt ?? Date.now();
    while (raw) {
      const item = store.openReply(cid, raw);
      let sentSid: string | undefined;
      if (item) {
        if (opts2.inline && item.bulk) return { done: false, later: 0 };
        const pace = await paced(item, opts2.slot, opts2.inline ? 0 : MAX_PACING_SLEEP_MS);
        if (pace.delayed !== undefined) {
          return { done: false, later: pace.delayed, ...(pace.slot ? { slot: pace.slot } : {}) };
        }
        // The slot stays the one taken: a history write retried through a failover can hold the send past
        // it, and a late send can then leave close behind the next one (Twilio queues what runs ahead).
        if (opts2.before) await opts2.before;
        if (Date.now() - confirmedAt > lease * CONFIRM_AFTER) {
          const asked = Date.now();
          const again = await store.claimOutbox(cid, claim, lease);
          if (again.held) {
            outboxHeld(logger, cid, again.retryInMs);
            return { done: false, later: again.retryInMs, held: true };
          }
          confirmedAt = asked;
          if (again.head !== raw) {
            raw = again.head; // sent and popped by a holder in between: carry on from what is left
            continue;
          }
        }
        try {
          sentSid = await sendSpan(item, () => sendOne(item));
          metrics.outbound.inc({ channel: item.channel, status: 'sent' });
        } catch (error) {
          if (error instanceof SendRetryableError) {
            if (error.slowSender) {
              const interval = sendInterval(opts.directory().config.pacing, item.from);
              const factor = await opts.pacer.slowDown(item.from, interval);
              logger.warn('sender slowed down: Twilio says it sends too fast', {
                bot: item.botId,
                channel: item.channel,
                errorCode: error.code,
                slowedBy: factor,
              });
            }
            const attempts = await store.countAttempt(cid, item.id);
            if (attempts < opts.maxAttempts) {
              metrics.outbound.inc({ channel: item.channel, status: 'retried' });
              logger.warn('reply will be retried', {
                conversation: cid,
                reply: item.id,
                attempt: attempts,
                reason: error.message,
              });
              return { done: false, later: backoffMs(attempts, opts.retryBaseMs), retry: true };
            }
            await fail(item, `gave up after ${attempts} attempts: ${error.message}`, error.status);
          } else if (error instanceof SendRejectedError) {
            await fail(item, error.message, error.code, error.status);
          } else {
            throw error;
          }
        }
      }
      // The provider has the reply: retry the pop through a failover rather than fail the job and send it again.
      const sent = raw;
      const popping = Date.now();
      const popped = (await untilItLands(
        () => store.popReply(cid, sent, item?.id ?? '', claim, lease, sentSid, item?.message),
        { what: 'sent reply removal', logger, meta: { conversation: cid, reply: item?.id }, maxMs: 60_000 },
      )) ?? { lost: true as const };
      if ('fenced' in popped) {
        logger.warn('outbox taken over by another worker; stopping without sending', {
          conversation: cid,
          reply: item?.id,
        });
        return { done: true };
      }
      confirmedAt = popping;
      if (!popped.lost) raw = popped.next;
      else {
        const again = await store.claimOutbox(cid, claim, lease);
        raw = again.held ? null : again.head;
      }
    }
    return { done: true };
  }

  return { drain };
}
