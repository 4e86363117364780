// Drains a conversation's outbox through each reply's channel, in order, retrying what may pass.
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Connection } from '../store/connections.js';
import { SEND_QUEUE, type KickData, type Queues } from './queues.js';
import { throttled } from '../log-throttle.js';
import { ReclaimingWorker, reclaimAfterOutage, tracked } from './reclaim.js';
import { untilItLands } from './until-it-lands.js';
import { createReplySender, outboxHeld, type ReplySenderOptions } from './reply-sender.js';

export type { SendFailure } from './reply-sender.js';

export interface SendWorkerOptions extends ReplySenderOptions {
  connection: Connection;
  queues: Queues;
  concurrency: number;
  lockDuration: number;
}

export function createSendWorker(shard: number, opts: SendWorkerOptions): Worker<KickData> {
  const { store, logger } = opts;
  const sender = createReplySender(opts);

  /**
   * Only the job that holds the outbox's claim sends and pops (the claim is checked with the head it
   * reads and at every pop), so a worker that lost its job's lock in an outage stops instead of sending
   * what its successor sends.
   */
  async function process(job: Job<KickData>, token?: string): Promise<void> {
    const { cid } = job.data;
    const claim = token ?? `job:${job.id}`;
    const lease = opts.lockDuration;
    const claimedAt = Date.now();
    const taken = await store.claimOutbox(cid, claim, lease);
    if (taken.held) {
      // The job before this one is still finishing (its worker lost the lock but not the claim): after it.
      outboxHeld(logger, cid, taken.retryInMs);
      await job.moveToDelayed(Date.now() + taken.retryInMs, token);
      throw new DelayedError();
    }
    try {
      const outcome = await sender.drain(cid, claim, lease, taken.head, {
        claimedAt,
        ...(job.data.slot ? { slot: job.data.slot } : {}),
      });
      if (outcome.done) return;
      // A reserved slot (a reply's) is kept: the job comes back to it and sends without taking another.
      if (outcome.slot) await job.updateData({ ...job.data, slot: outcome.slot });
      await job.moveToDelayed(Date.now() + outcome.later, token);
      throw new DelayedError();
    } catch (error) {
      // Stopping early (a retry later, an error): the next job need not wait for the lease to lapse.
      await store.releaseOutbox(cid, claim).catch(() => undefined);
      throw error;
    }
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
