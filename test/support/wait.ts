// Polling with a deadline, for the few conditions nothing announces (prefer an event when there is one).

/**
 * Calls `check` until it returns a value other than undefined, or throws after `timeoutMs` with the
 * last value seen by `describe`. Use only where no event can be awaited.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  { timeoutMs = 5000, intervalMs = 25 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
