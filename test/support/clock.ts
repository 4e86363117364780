// A clock for tests: it stands still until the test moves it, so lockouts, session expiry and rate-limit
// minutes pass in an instant and never by chance.
import type { Clock } from '../../src/core/ports/clock.js';

export interface ManualClock extends Clock {
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
}

/** Starts at `start` (ms since the epoch); a sleep moves it on by the time slept and returns at once. */
export function manualClock(start = Date.now()): ManualClock {
  let now = start;
  const advance = (ms: number) => {
    if (!(ms >= 0)) throw new Error(`a clock only moves forward (asked to move ${ms} ms)`);
    now += ms;
  };
  return {
    now: () => now,
    advance,
    sleep: async (ms) => {
      advance(Math.max(0, ms));
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}
