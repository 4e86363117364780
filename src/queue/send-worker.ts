// Drains a conversation's outbox through each reply's channel, in order, retrying what may pass.
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Connection } from '../store/connections.js';
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
import { SEND_QUEUE, type KickData, type Queues } from './queues.js';
import { backoffMs } from './backoff.js';
import { throttled } from '../log-throttle.js';
import { ReclaimingWorker, reclaimAfterOutage, tracked } from './reclaim.js';
import { untilItLands } from './until-it-lands.js';
import { conversationAttributes, inSpan, SpanKind } from '../tracing.js';

export interface SendFailure {
  item: OutboxItem;
  reason: string;
  code?: number;
}

export interface SendWorkerOptions {
  connection: Connection;
  queues: Queues;
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
  concurrency: number;
  lockDuration: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** Told about every reply that could not be delivered (logs, metrics, `message.failed`). */
  onFailure: (failure: SendFailure) => Promise<void>;
}

/** The longest a reserved slot is waited for inside its job; a longer wait delays the job instead. */
const MAX_PACING_SLEEP_MS = 2000;

/** How often a bulk send stalled past its slot takes a new one before its job is delayed instead. */
const MAX_PACING_TAKES = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createSendWorker(shard: number, opts: SendWorkerOptions): Worker<KickData> {
  const { store, logger, metrics } = opts;

  /**
   * Waits for the item's slot in its sender's pace (one script call). A reserved slot at most 2 s away is
   * waited for in the job; a bulk send without a slot, or a reply's slot further away, delays the job:
   * `delayed` says when to come back (the outbox is left as it is). A bulk send that finds itself more
   * than half an interval (at least 20 ms) past its slot (this process was stalled) takes another instead, so a stall
   * cannot squeeze two sends together: the rate errs slow.
   */
  async function paced(job: Job<KickData>, item: OutboxItem): Promise<{ delayed?: number }> {
    const kept = job.data.slot;
    if (kept?.reply === item.id && Date.now() >= kept.at - 50) return {};
    const pacing = opts.directory().config.pacing;
    const kind = item.bulk ? 'bulk' : 'reply';
    const interval = sendInterval(pacing, item.from);
    for (let attempt = 1; ; attempt++) {
      const asked = Date.now();
      const { waitMs, reserved } = await opts.pacer.take(item.from, interval, kind, pacing.replyAhead * 1000);
      if (reserved && waitMs <= MAX_PACING_SLEEP_MS) {
        if (waitMs > 0) await sleep(waitMs);
        // The slot was at `asked + waitMs` at the latest (the grant came between asking and the answer).
        const late = Date.now() - (asked + waitMs);
        if (kind === 'reply' || late <= Math.max(interval / 2, 20)) return {};
        if (attempt >= MAX_PACING_TAKES) return { delayed: interval };
        continue;
      }
      // A reserved slot (a reply's) is kept: the job comes back to it and sends without taking another.
      if (reserved) await job.updateData({ ...job.data, slot: { reply: item.id, at: Date.now() + waitMs } });
      return { delayed: waitMs };
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

  /**
   * Only the job that holds the outbox's claim sends and pops (the claim is checked with the head it
   * reads and at every pop), so a worker that lost its job's lock in an outage stops instead of sending
   * what its successor sends.
   */
  async function process(job: Job<KickData>, token?: string): Promise<void> {
    const { cid } = job.data;
    const claim = token ?? `job:${job.id}`;
    const lease = opts.lockDuration;
    const taken = await store.claimOutbox(cid, claim, lease);
    if (taken.held) {
      // The job before this one is still finishing (its worker lost the lock but not the claim): after it.
      logger.info('outbox held by another send job; trying again when its claim lapses', {
        conversation: cid,
        retryInMs: taken.retryInMs,
      });
      await job.moveToDelayed(Date.now() + taken.retryInMs, token);
      throw new DelayedError();
    }
    try {
      let raw = taken.head;
      while (raw) {
        const item = store.openReply(cid, raw);
        let sentSid: string | undefined;
        if (item) {
          const pace = await paced(job, item);
          if (pace.delayed !== undefined) {
            await job.moveToDelayed(Date.now() + pace.delayed, token);
            throw new DelayedError();
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
                await job.moveToDelayed(Date.now() + backoffMs(attempts, opts.retryBaseMs), token);
                throw new DelayedError();
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
        const head = raw;
        const popped = (await untilItLands(
          () => store.popReply(cid, head, item?.id ?? '', claim, lease, sentSid, item?.message),
          { what: 'sent reply removal', logger, meta: { conversation: cid, reply: item?.id }, maxMs: 60_000 },
        )) ?? { lost: true as const };
        if ('fenced' in popped) {
          logger.warn('outbox taken over by another worker; stopping without sending', {
            conversation: cid,
            reply: item?.id,
          });
          return;
        }
        if (!popped.lost) raw = popped.next;
        else {
          const again = await store.claimOutbox(cid, claim, lease);
          raw = again.held ? null : again.head;
        }
      }
    } catch (error) {
      // Stopping early (a retry later, an error): the next job need not wait for the lease to lapse.
      await store.releaseOutbox(cid, claim).catch(() => undefined);
      throw error;
    }
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

  const jobs = tracked(process);
  const worker = new ReclaimingWorker<KickData>(SEND_QUEUE, jobs.process, {
    connection: opts.connection,
    prefix: opts.queues.keys.sendQueuePrefix(shard),
    concurrency: opts.concurrency,
    lockDuration: opts.lockDuration,
    stalledInterval: Math.max(1000, Math.floor(opts.lockDuration / 2)),
    maxStalledCount: 10,
  });
  jobs.attach(worker);
  reclaimAfterOutage(worker, opts.connection, logger, SEND_QUEUE);
  worker.on('failed', (job, error) => {
    logger.error('send job failed', { conversation: job?.data.cid, reason: error.message });
    if (job)
      void untilItLands(() => opts.queues.kickSend(job.data.cid, { bulk: job.data.bulk === true }), {
        what: 're-kick',
        logger,
        meta: { conversation: job.data.cid },
      });
  });
  const workerError = throttled((m, meta) => logger.error(m, meta), 'send worker error');
  worker.on('error', (error) => workerError(error.message));
  return worker;
}
