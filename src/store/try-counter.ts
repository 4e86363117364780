// Failed tries counted per target (a typed account, a whole workspace's link codes), strict under concurrency.
import type { Connection } from './connections.js';
import { Script } from './scripts.js';

/**
 * How long a key whose value holds its own deadline outlives that deadline. The deadline decides (against
 * the caller's clock); the TTL only collects the key, so it must never end before the deadline does, even
 * by a clock that runs behind Redis's (a test's, which moves only when told).
 */
export const DEADLINE_GRACE_MS = 60_000;

/**
 * One string per target, `failures:windowEndMs:lockedUntilMs`. A try is counted before the check it
 * guards (so many identities racing cannot exceed the limit) and given back when it turns out right or
 * could not be checked; the failure that uses up the limit locks the target at once, and so does a try
 * that finds the limit used up. KEYS: the target's key. ARGV: now, maxFailures, windowMs, lockoutMs.
 * Each returns {locked, lockedUntil, newly}.
 */
const PARSE = `
local now = tonumber(ARGV[1])
local failures, windowEnd, lockedUntil = 0, 0, 0
local v = redis.call('GET', KEYS[1])
if v then
  local a, b, c = string.match(v, '^(%d+):(%d+):(%d+)$')
  if a then failures, windowEnd, lockedUntil = tonumber(a), tonumber(b), tonumber(c) end
end
local function save()
  local keep = math.max(windowEnd, lockedUntil) - now
  if keep > 0 then
    local value = string.format('%d:%d:%d', failures, windowEnd, lockedUntil)
    redis.call('SET', KEYS[1], value, 'PX', keep + ${DEADLINE_GRACE_MS})
  else
    redis.call('DEL', KEYS[1])
  end
end
local function lock()
  lockedUntil = now + tonumber(ARGV[4])
  failures, windowEnd = 0, 0
  save()
  return {1, lockedUntil, 1}
end`;

const TRY = `${PARSE}
if lockedUntil > now then return {1, lockedUntil, 0} end
if windowEnd <= now then failures = 0; windowEnd = now + tonumber(ARGV[3]) end
if failures >= tonumber(ARGV[2]) then return lock() end
failures = failures + 1
save()
return {0, 0, 0}`;

const FAILED = `${PARSE}
if lockedUntil > now then return {1, lockedUntil, 0} end
if failures >= tonumber(ARGV[2]) then return lock() end
return {0, 0, 0}`;

const RELEASE = `${PARSE}
if lockedUntil <= now and failures > 0 then failures = failures - 1; save() end
return {0, 0, 0}`;

type Counted = Script<
  [key: string, now: number, maxFailures: number, windowMs: number, lockoutMs: number],
  [number, number, number]
>;

const scripts = {
  try: new Script(1, TRY) as Counted,
  failed: new Script(1, FAILED) as Counted,
  release: new Script(1, RELEASE) as Counted,
};

export interface TryPolicy {
  /** Failures allowed in the window; the next try is refused. */
  maxAttempts: number;
  /** Seconds locked once the limit is used up. */
  lockoutSeconds: number;
  /** Seconds in which failures count; defaults to `lockoutSeconds`. */
  windowSeconds?: number;
}

export interface TryOutcome {
  locked: boolean;
  /** When locked: the end of the lockout (ms). */
  until?: number;
  /** True when this call started the lockout (report it once). */
  newly?: boolean;
}

export class TryCounter {
  private readonly now: () => number;

  constructor(
    private readonly redis: Connection,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  private async run(script: Counted, key: string, policy: TryPolicy): Promise<TryOutcome> {
    const [locked, until, newly] = await script.run(
      this.redis,
      key,
      this.now(),
      Math.max(1, Math.floor(policy.maxAttempts)),
      Math.ceil((policy.windowSeconds ?? policy.lockoutSeconds) * 1000),
      Math.ceil(policy.lockoutSeconds * 1000),
    );
    return locked === 1 ? { locked: true, until, newly: newly === 1 } : { locked: false };
  }

  /** Counts a try before it is checked, or says the target is locked (then nothing is checked). */
  try(key: string, policy: TryPolicy): Promise<TryOutcome> {
    return this.run(scripts.try, key, policy);
  }

  /** The try was wrong: locks the target when that was its last allowed failure. */
  failed(key: string, policy: TryPolicy): Promise<TryOutcome> {
    return this.run(scripts.failed, key, policy);
  }

  /** The try was right, or could not be checked: it does not count. */
  async release(key: string, policy: TryPolicy): Promise<void> {
    await this.run(scripts.release, key, policy);
  }

  /** A success forgets the target's failures. */
  async clear(key: string): Promise<void> {
    await this.redis.del(key);
  }
}
