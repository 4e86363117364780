// Lua scripts run by SHA on any connection, without installing anything on the connection itself.
import { createHash } from 'node:crypto';
import type { Connection } from './connections.js';

type Arg = string | number;

/** The scripts each connection has run by SHA at least once (so Redis had them then). */
const ranOn = new WeakMap<Connection, Set<string>>();

/**
 * One Lua script: its source and SHA. `run` sends EVALSHA, and EVAL only when Redis answers NOSCRIPT (the
 * first use on a node, or after a restart or a failover), which is what ioredis's `defineCommand` does, so a
 * script costs the same round trips. `Args` lists the keys first (`keys` of them, all sharing one hash tag,
 * for Redis Cluster), then the other arguments.
 */
export class Script<Args extends Arg[], Result> {
  readonly sha: string;

  constructor(
    readonly keys: number,
    readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Connection, ...args: Args): Promise<Result> {
    return this.runAndTell(redis, undefined, ...args);
  }

  /**
   * As `run`; `reloaded` is called when Redis did not have the script and it was sent again (EVAL): a
   * command sent right behind this one then ran before it.
   */
  async runAndTell(redis: Connection, reloaded: (() => void) | undefined, ...args: Args): Promise<Result> {
    let ran = ranOn.get(redis);
    if (!ran) ranOn.set(redis, (ran = new Set()));
    try {
      const result = (await redis.evalsha(this.sha, this.keys, ...args)) as Result;
      ran.add(this.sha);
      return result;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      ran.delete(this.sha);
      reloaded?.();
      return (await redis.eval(this.lua, this.keys, ...args)) as Result;
    }
  }

  /**
   * Whether this connection has run the script by SHA before: its next EVALSHA most likely runs at once
   * (unless Redis restarted, failed over or, on a cluster, the key is on another node), so a command sent
   * right behind it runs after it. A first use goes NOSCRIPT, then EVAL, behind what was sent after it.
   */
  ranBefore(redis: Connection): boolean {
    return ranOn.get(redis)?.has(this.sha) === true;
  }
}
