// Replica acknowledgement of writes (SWITCHBOARD_DURABILITY=replica): WAIT on the connection that made the write.
import { Command, type Cluster, type Redis } from 'ioredis';

/** How many replicas must hold a write before it counts as done (0: Redis's own persistence only). */
export interface Durability {
  replicas: number;
  timeoutMs: number;
}

export const NO_REPLICAS: Durability = { replicas: 0, timeoutMs: 0 };

/** The replicas did not acknowledge a write in time (a webhook answers 503 and Twilio retries). */
export class DurabilityError extends Error {
  override readonly name = 'DurabilityError';
}

/**
 * The connection that wrote `key`: on a cluster, the pool's connection to the master that owns the
 * key's slot (the one the write went through, after any redirection); otherwise the connection itself.
 */
function writerOf(redis: Redis, key: string): Redis {
  if (!redis.isCluster) return redis;
  const cluster = redis as unknown as Cluster;
  const owner = cluster.slots[new Command('get', [key]).getSlot()]?.[0];
  return cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner) ?? redis;
}

/**
 * Runs `write` (commands on `key`'s slot, retried through redirections and failovers by the client)
 * and, with replica durability, WAITs on the connection that made it: WAIT counts the replicas that
 * hold everything that connection wrote so far. When too few acknowledged in time (or the primary
 * went away meanwhile) the write has still landed on the primary: `strict` throws `DurabilityError`
 * (a webhook answers 503, a history write is retried); otherwise the result is returned, for writes
 * whose callers must go on once they landed (a turn's commit, then its history; a sent reply's pop).
 */
export async function writeDurably<T>(
  redis: Redis,
  durability: Durability,
  key: string,
  write: () => Promise<T>,
  { strict = true } = {},
): Promise<T> {
  const result = await write();
  const { replicas, timeoutMs } = durability;
  if (replicas === 0) return result;
  let acknowledged: number;
  try {
    acknowledged = Number(await writerOf(redis, key).call('WAIT', replicas, timeoutMs));
  } catch (error) {
    if (strict) throw error;
    return result;
  }
  if (acknowledged < replicas && strict) {
    throw new DurabilityError(
      `the write was acknowledged by ${acknowledged} of ${replicas} replica(s) within ${timeoutMs} ms`,
    );
  }
  return result;
}
