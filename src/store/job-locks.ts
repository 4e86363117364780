// Reads BullMQ's active list and job locks: what a worker checks after an outage for jobs it never heard of.
import type { Connection } from './connections.js';
import { bullmqJobLock } from './keys.js';

/** What of a BullMQ queue this needs: its active list's key and its job key builder. */
export interface QueueKeys {
  keys: { active?: string };
  toKey(id: string): string;
}

/**
 * The jobs in the queue's active list that `skip` does not rule out, each with the token holding its
 * lock (undefined: no lock). One read of the list and one pipelined read of the locks.
 */
export async function activeJobLocks(
  connection: Connection,
  queue: QueueKeys,
  skip: (id: string) => boolean,
): Promise<{ id: string; token: string | undefined }[]> {
  const active = await connection.lrange(queue.keys.active!, 0, -1);
  const candidates = active.filter((id) => !skip(id));
  if (!candidates.length) return [];
  const locks = (await connection
    .pipeline(candidates.map((id) => ['get', bullmqJobLock(queue.toKey(id))]))
    .exec()) as [Error | null, string | null][];
  return candidates.map((id, i) => ({ id, token: locks[i]?.[1] ?? undefined }));
}
