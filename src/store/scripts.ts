// Lua scripts run by SHA on any connection, without installing anything on the connection itself.
import { createHash } from 'node:crypto';
import type { Connection } from './connections.js';

type Arg = string | number;

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
    try {
      return (await redis.evalsha(this.sha, this.keys, ...args)) as Result;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return (await redis.eval(this.lua, this.keys, ...args)) as Result;
    }
  }
}
