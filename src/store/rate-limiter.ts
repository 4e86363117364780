// The one rate limiter: hits counted in fixed windows, one round trip per hit.
import type { Connection } from './connections.js';

export interface Hits {
  /** Hits counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends and the count starts over. */
  retryAfterMs: number;
}

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
    const replies =
      id === undefined
        ? await this.redis.multi().incr(key).pexpire(key, this.keepMs).exec()
        : await this.redis.multi().hset(key, id, '').pexpire(key, this.keepMs).hlen(key).exec();
    const count = Number(replies?.[id === undefined ? 0 : 2]?.[1] ?? 0);
    return { count, retryAfterMs: (window + 1) * this.windowMs - at };
  }
}
