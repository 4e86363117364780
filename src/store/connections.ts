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

const reconnectHooks = new WeakMap<Connection, (() => void)[]>();

/**
 * Runs `hook` each time the connection is ready again after losing Redis (one listener per connection).
 * A cluster client stays ready when one master fails over: what is lost there is its connection to that
 * node (removed from the pool, `-node`), with the answers in flight on it, so that runs the hooks too;
 * commands they send wait for the promoted replica like any other.
 */
export function onReconnect(connection: Connection, hook: () => void): void {
  let hooks = reconnectHooks.get(connection);
  if (!hooks) {
    const list: (() => void)[] = [];
    hooks = list;
    reconnectHooks.set(connection, list);
    const runAll = () => {
      for (const run of list) run();
    };
    let down = false;
    connection.on('close', () => (down = true));
    connection.on('ready', () => {
      if (!down) return;
      down = false;
      runAll();
    });
    // Not while the client itself is closing: every node leaves the pool then.
    if (connection.isCluster)
      connection.on('-node', () => {
        if (connection.status === 'ready') runAll();
      });
  }
  hooks.push(hook);
}
