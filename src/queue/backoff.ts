// Exponential backoff with jitter, capped at an hour.
export function backoffMs(attempt: number, baseMs: number): number {
  const exp = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 3_600_000);
  return Math.round(exp * (0.9 + Math.random() * 0.2));
}
