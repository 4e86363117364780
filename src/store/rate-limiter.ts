// The one rate limiter: hits counted in fixed windows, one round trip per hit.
import type { Connection } from './connections.js';
import { Script } from './scripts.js';

export interface Hits {
  /** Hits counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends and the count starts over. */
  retryAfterMs: number;
}

/**
 * Count one hit in a window's key and return the count. ARGV: keepMs, then the hit's id for a hit counted
 * once (none for one counted each time).
 * One script rather than a MULTI: the client encodes and writes one command instead of four or five,
 * and the Node CPU a command costs is most of what a hit costs.
 */
const HIT = new Script<[key: string, keepMs: number, ...id: string[]], number>(
  1,
  `
if #ARGV == 1 then
  local n = redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return n
end
redis.call('HSET', KEYS[1], ARGV[2], '')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('HLEN', KEYS[1])`,
);

/**
 * Fixed windows (a minute by default): simple, one round trip, and at most twice the rate across a
 * boundary. A hit with an id is counted once however often it comes (a turn run again after a crash);
 * one without is counted each time. Ids are kept as the fields of a hash (a small one stays
 * listpack-encoded, about a third of a set's size on Redis 7.0).
 */
export class FixedWindowLimiter {
  private readonly windowMs: number;
  private readonly keepMs: number;

  constructor(
    private readonly redis: Connection,
    /** `keepMs`: how long a window's count lives (at least the window; longer for hits counted late). */
    options: { windowMs?: number; keepMs?: number } = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.keepMs = Math.max(this.windowMs, options.keepMs ?? this.windowMs + 1000);
  }

  /** Counts a hit at `at` (ms) under the key `keyOf` names for its window (the window's number). */
  async hit(keyOf: (window: number) => string, at: number, id?: string): Promise<Hits> {
    const window = Math.floor(at / this.windowMs);
    const key = keyOf(window);
    const count = await (id === undefined
      ? HIT.run(this.redis, key, this.keepMs)
      : HIT.run(this.redis, key, this.keepMs, id));
    return { count: Number(count), retryAfterMs: (window + 1) * this.windowMs - at };
  }
}
