// Keeps a repeating error (a worker polling a Redis that is away) to one log line per interval.

/** Remembered reasons at most: error messages are few, but never let the map grow without bound. */
const MAX_REASONS = 50;

/**
 * Returns a logger call that logs each reason at most once per `intervalMs`; the next line for a reason
 * says how many repeats of it were dropped in between.
 */
export function throttled(
  log: (message: string, meta: Record<string, unknown>) => void,
  message: string,
  intervalMs = 30_000,
): (reason: string) => void {
  const seen = new Map<string, { at: number; dropped: number }>();
  return (reason) => {
    const now = Date.now();
    const entry = seen.get(reason);
    if (entry && now - entry.at < intervalMs) {
      entry.dropped += 1;
      return;
    }
    log(message, { reason, ...(entry?.dropped ? { repeats: entry.dropped } : {}) });
    if (!entry && seen.size >= MAX_REASONS) seen.delete(seen.keys().next().value!);
    seen.set(reason, { at: now, dropped: 0 });
  };
}
