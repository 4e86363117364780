// Jobs a worker holds, and the ones Redis gave it during an outage that it never heard of, handed back.
import { Job, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

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
export function reclaimAfterOutage(worker: Worker, connection: Redis, logger: Logger, queue: string): void {
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

const reconnectHooks = new WeakMap<Redis, (() => void)[]>();

/** Runs `hook` each time the connection is ready again after losing Redis (one listener per connection). */
function onReconnect(connection: Redis, hook: () => void): void {
  let hooks = reconnectHooks.get(connection);
  if (!hooks) {
    const list: (() => void)[] = [];
    hooks = list;
    reconnectHooks.set(connection, list);
    let down = false;
    connection.on('close', () => (down = true));
    connection.on('ready', () => {
      if (!down) return;
      down = false;
      for (const run of list) run();
    });
  }
  hooks.push(hook);
}

async function reclaim(worker: Worker, connection: Redis): Promise<string[]> {
  const running = held.get(worker) ?? new Set<string>();
  const active = await connection.lrange(worker.keys.active!, 0, -1);
  const mine = `${worker.id}:`;
  const candidates = active.filter((id) => !running.has(id));
  if (!candidates.length) return [];
  // BullMQ's lock key for a job (its own key builder, plus the suffix its scripts use).
  const locks = (await connection
    .pipeline(candidates.map((id) => ['get', `${worker.toKey(id)}:lock`]))
    .exec()) as [Error | null, string | null][];
  const handedBack: string[] = [];
  for (const [i, id] of candidates.entries()) {
    const token = locks[i]?.[1];
    // Checked again: a job fetched while the locks were read is running by now.
    if (!token?.startsWith(mine) || running.has(id)) continue;
    const job = await Job.fromId(worker, id);
    if (!job) continue;
    try {
      await job.moveToWait(token);
      handedBack.push(id);
    } catch {
      // Its lock moved on meanwhile (finished, or taken over): nothing to hand back.
    }
  }
  return handedBack;
}
