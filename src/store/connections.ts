// The Redis connection type the rest of the code is handed: only src/store and the composition root name ioredis.
import type { Cluster, Redis } from 'ioredis';

/**
 * A connection to Redis (a single node, or a Cluster passed for one by the composition root). Callers
 * outside src/store hold one only to hand it on: to a store, or to BullMQ's Queue and Worker.
 */
export type Connection = Redis;

/** The nodes that hold keys: a cluster's masters, or the one connection (for commands run per node, as SCAN). */
export function keyHolders(redis: Connection): Connection[] {
  return redis.isCluster ? (redis as unknown as Cluster).nodes('master') : [redis];
}
