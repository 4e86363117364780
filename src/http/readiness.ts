// /readyz: Redis answers a PING within a second and, in a process that runs them, the workers run.

/** Longest a readiness probe waits for Redis before calling it down. */
const PING_WITHIN_MS = 1000;

export function readiness(deps: {
  ping: () => Promise<unknown>;
  /** Absent without the workers role. */
  workersRunning?: () => boolean;
}): () => Promise<{ ok: boolean; checks: Record<string, boolean> }> {
  return async () => {
    const redisOk = await Promise.race([
      deps.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), PING_WITHIN_MS).unref()),
    ]);
    const checks: Record<string, boolean> = { redis: redisOk };
    if (deps.workersRunning) checks.workers = deps.workersRunning();
    return { ok: Object.values(checks).every(Boolean), checks };
  };
}
