// Failed-credential counting and lockouts per (workspace, channel identity, auth component) (SPEC 5 step 3).
import { installScripts } from '../store/scripts.js';
import type { Redis } from 'ioredis';
import type { IdentityKeys } from '../store/identity-keys.js';

export interface LockoutTarget {
  workspace: string;
  /** The channel identity, e.g. `sms:+15551234567`. */
  identity: string;
  component: string;
}

export interface LockoutPolicy {
  /** Failures within the window that lock the identity out (the component's `maxAttempts`). */
  maxAttempts: number;
  /** Seconds locked out (the component's `lockout`). */
  lockoutSeconds: number;
  /** Seconds in which failures are counted; SPEC 5 calls it the lockout window, so it defaults to `lockoutSeconds`. */
  windowSeconds?: number;
}

export interface FailureOutcome {
  /** True when this failure (or an earlier one) locked the identity out. */
  locked: boolean;
  /** Failures counted in the current window (0 once locked: the count starts over after the lockout). */
  failures: number;
  /** When locked: the end of the lockout, ms since the epoch. */
  until?: number;
}

/**
 * One hash per identity, one field per component: `failures:windowEndMs:lockedUntilMs`. One hash (rather
 * than a key per component) lets erasure remove it without knowing the components; the key lives as long
 * as the longest window or lockout in it.
 * KEYS: lockout hash. ARGV: component, now, maxAttempts, windowMs, lockoutMs.
 */
const FAIL = `
local now = tonumber(ARGV[2])
local failures, windowEnd, lockedUntil = 0, 0, 0
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  local a, b, c = string.match(v, '^(%d+):(%d+):(%d+)$')
  if a then failures, windowEnd, lockedUntil = tonumber(a), tonumber(b), tonumber(c) end
end
if lockedUntil > now then return {1, 0, lockedUntil} end
if windowEnd <= now then failures = 0; windowEnd = now + tonumber(ARGV[4]) end
failures = failures + 1
local locked = 0
if failures >= tonumber(ARGV[3]) then
  locked = 1
  lockedUntil = now + tonumber(ARGV[5])
  failures = 0
  windowEnd = 0
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d:%d:%d', failures, windowEnd, lockedUntil))
local keep = math.max(windowEnd, lockedUntil) - now
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return {locked, failures, lockedUntil}`;

interface LockoutRedis extends Redis {
  sbLockoutFail(
    key: string,
    component: string,
    now: number,
    maxAttempts: number,
    windowMs: number,
    lockoutMs: number,
  ): Promise<[number, number, number]>;
}

export class Lockout {
  private readonly redis: LockoutRedis;
  private readonly now: () => number;

  constructor(
    redis: Redis,
    private readonly keys: IdentityKeys,
    options: { now?: () => number } = {},
  ) {
    this.redis = installScripts<LockoutRedis>(redis, { sbLockoutFail: { keys: 1, lua: FAIL } });
    this.now = options.now ?? Date.now;
  }

  private key(target: LockoutTarget): string {
    return this.keys.lockout(this.keys.identityHash(target.workspace, target.identity));
  }

  /** The end of the current lockout, or undefined when the identity may try. */
  async isLocked(target: LockoutTarget): Promise<{ until: number } | undefined> {
    const value = await this.redis.hget(this.key(target), target.component);
    const lockedUntil = Number(value?.split(':')[2] ?? 0);
    return lockedUntil > this.now() ? { until: lockedUntil } : undefined;
  }

  /** Counts one wrong-credentials answer; the one that reaches `maxAttempts` starts the lockout. */
  async recordFailure(target: LockoutTarget, policy: LockoutPolicy): Promise<FailureOutcome> {
    const windowSeconds = policy.windowSeconds ?? policy.lockoutSeconds;
    const [locked, failures, until] = await this.redis.sbLockoutFail(
      this.key(target),
      target.component,
      this.now(),
      Math.max(1, Math.floor(policy.maxAttempts)),
      Math.ceil(windowSeconds * 1000),
      Math.ceil(policy.lockoutSeconds * 1000),
    );
    return locked === 1 ? { locked: true, failures, until } : { locked: false, failures };
  }

  /** A success forgets earlier failures. */
  async clear(target: LockoutTarget): Promise<void> {
    await this.redis.hdel(this.key(target), target.component);
  }
}
