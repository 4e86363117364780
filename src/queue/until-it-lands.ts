// Retries a write that must not be dropped (a turn's history, a failed job's re-kick) until Redis takes it.
import type { Logger } from '../log.js';

export interface UntilItLandsOptions {
  /** What is being written, for the log: "history", "re-kick". */
  what: string;
  logger: Logger;
  /** Log fields naming the conversation (never message text). */
  meta: Record<string, unknown>;
  /** Give up after this long (ms): far beyond any failover, so only a Redis that stays away ends it. */
  maxMs?: number;
  /** First delay between attempts (ms); doubles up to two seconds. */
  baseMs?: number;
}

/**
 * Runs `write` until it succeeds. A Redis failover or restart fails writes for seconds; dropping them
 * (history lines, the kick that keeps a conversation moving) would lose data or leave a conversation
 * waiting for its user's next message; a reply the provider has, left unpopped, would be sent again.
 * Resolves with what `write` returned, or undefined if it gave up (logged).
 */
export async function untilItLands<T>(
  write: () => Promise<T>,
  opts: UntilItLandsOptions,
): Promise<T | undefined> {
  const started = Date.now();
  const maxMs = opts.maxMs ?? 10 * 60_000;
  let delay = opts.baseMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await write();
      if (attempt > 1)
        opts.logger.info(`${opts.what} written after a retry`, { ...opts.meta, attempts: attempt });
      return value;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (Date.now() - started + delay > maxMs) {
        opts.logger.error(`${opts.what} not written; gave up`, { ...opts.meta, attempts: attempt, reason });
        return undefined;
      }
      if (attempt === 1) opts.logger.warn(`${opts.what} not written yet; retrying`, { ...opts.meta, reason });
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
