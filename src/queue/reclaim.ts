// Jobs a worker holds, and the ones Redis gave it during an outage that it never heard of, handed back.
import { Job, Worker, type JobJson } from 'bullmq';
import { onReconnect, type Connection } from '../store/connections.js';
import { activeJobLocks } from '../store/job-locks.js';
import type { Logger } from '../log.js';
import type { QueueWorker } from './kick-worker.js';

/**
 * A BullMQ worker that knows which jobs Redis has handed it, from the answer that moved each to active
 * until it has been processed. BullMQ fetches a job, then the next, before it starts the first: a job
 * active under this worker's token that it is not running yet is not lost, and is not handed back.
 */
export class ReclaimingWorker<T> extends Worker<T> {
  private readonly fetched = new Map<string, number>();

  /** Fetched (by a fetch or a finished job's fetch of the next) and not yet processed to the end. */
  hasFetched(id: string): boolean {
    return this.fetched.has(id);
  }

  protected override async nextJobFromJobData(
    jobData?: JobJson,
    jobId?: string,
    token?: string,
  ): Promise<Job<T>> {
    const job = await super.nextJobFromJobData(jobData, jobId, token);
    if (job?.id) this.fetched.set(job.id, (this.fetched.get(job.id) ?? 0) + 1);
    return job;
  }

  override async processJob(job: Job<T>, token: string, fetchNextCallback?: () => boolean) {
    try {
      return await super.processJob(job, token, fetchNextCallback);
    } finally {
      const left = (this.fetched.get(job.id!) ?? 1) - 1;
      if (left > 0) this.fetched.set(job.id!, left);
      else this.fetched.delete(job.id!);
    }
  }
}

const held = new WeakMap<Worker, Set<string>>();

/** How many jobs a worker is processing right now (what a shutdown waits for). */
export function jobsInFlight(worker: Worker): number {
  return held.get(worker)?.size ?? 0;
}

/** Wraps a processor so the worker knows which jobs it is running; `attach` registers the worker. */
export function tracked<T, R>(
  process: (job: Job<T>, token?: string) => Promise<R>,
): { process: (job: Job<T>, token?: string) => Promise<R>; attach: (worker: Worker<T>) => void } {
  const running = new Set<string>();
  return {
    async process(job, token) {
      running.add(job.id!);
      try {
        return await process(job, token);
      } finally {
        running.delete(job.id!);
      }
    },
    attach: (worker) => void held.set(worker as Worker, running),
  };
}

/**
 * When the connection comes back after an outage, looks for jobs Redis moved to active under this
 * worker's lock token whose answer was lost with the connection: nobody processes them, and left alone
 * they wait for their lock to lapse and the stalled check (up to 1.5 × the lock time). They go back to
 * wait at once, under the token that holds their lock, so this worker (or another) takes them now.
 */
export function reclaimAfterOutage(
  worker: Worker,
  connection: Connection,
  logger: Logger,
  queue: string,
): void {
  onReconnect(connection, () => {
    reclaim(worker, connection).then(
      (ids) => {
        if (ids.length) logger.info('jobs handed back after a Redis outage', { queue, jobs: ids.length });
      },
      (error: unknown) =>
        logger.warn('could not check for jobs lost in a Redis outage; their locks will lapse', {
          queue,
          reason: error instanceof Error ? error.message : String(error),
        }),
    );
  });
}

async function reclaim(worker: Worker, connection: Connection): Promise<string[]> {
  const running = held.get(worker) ?? new Set<string>();
  const ours = (id: string) =>
    running.has(id) || (worker instanceof ReclaimingWorker && worker.hasFetched(id));
  const mine = `${worker.id}:`;
  const handedBack: string[] = [];
  for (const { id, token } of await activeJobLocks(connection, worker, ours)) {
    // Checked again: a job fetched while the locks were read is known by now.
    if (!token?.startsWith(mine) || ours(id)) continue;
    const job = await Job.fromId(worker, id);
    if (!job || ours(id)) continue;
    try {
      await job.moveToWait(token);
      handedBack.push(id);
    } catch {
      // Its lock moved on meanwhile (finished, or taken over): nothing to hand back.
    }
  }
  return handedBack;
}

/** How long a stopping BullMQ worker with no job left is waited for before it is let go. */
export const IDLE_CLOSE_GRACE_MS = 2000;

/**
 * Resolves once `worker` has run no job for `graceMs` in a row (looked at every 100 ms), unless `stop`
 * is called first.
 */
function idleFor(worker: Worker, graceMs: number): { idle: Promise<void>; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const idle = new Promise<void>((resolve) => {
    let idleSince: number | undefined;
    const look = () => {
      if (stopped) return;
      const now = Date.now();
      idleSince = jobsInFlight(worker) === 0 ? (idleSince ?? now) : undefined;
      if (idleSince !== undefined && now - idleSince >= graceMs) return resolve();
      timer = setTimeout(look, 100);
      timer.unref();
    };
    look();
  });
  return {
    idle,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * A BullMQ worker as the gateway sees its workers (running, jobs in flight, a graceful stop). The stop
 * waits for the jobs in flight; BullMQ's own close can then still wait forever on a connection left
 * reconnecting by a Redis outage (taskforcesh/bullmq#4656), so once the worker has run nothing for
 * `IDLE_CLOSE_GRACE_MS` it is disconnected and let go.
 */
export function asQueueWorker(worker: Worker): QueueWorker {
  return {
    isRunning: () => worker.isRunning(),
    inFlight: () => jobsInFlight(worker),
    close: async () => {
      const closing = worker.close();
      const waiting = idleFor(worker, IDLE_CLOSE_GRACE_MS);
      const closed = await Promise.race([closing.then(() => true), waiting.idle.then(() => false)]);
      waiting.stop();
      if (closed) return;
      closing.catch(() => undefined);
      // Its connections are cut, not quit; not waited for either, past a second (the same wait may hold it).
      const cut = worker.disconnect().catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([cut, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
    },
  };
}
