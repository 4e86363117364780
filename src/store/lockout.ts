// Failed-credential counting and lockouts per (workspace, channel identity, auth component) and per typed account id.
import type { Connection } from './connections.js';
import { Script } from './scripts.js';
import type { IdentityKeys } from './identity-keys.js';
import { DEADLINE_GRACE_MS, TryCounter, type TryOutcome } from './try-counter.js';

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
  /** Seconds in which failures are counted; it is the lockout window, so it defaults to `lockoutSeconds`. */
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
 * than a key per component) lets erasure remove it without knowing the components; the deadlines decide,
 * and the key lives as long as the longest of them plus `DEADLINE_GRACE_MS`.
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
local keep = math.max(windowEnd, lockedUntil) - now + ${DEADLINE_GRACE_MS}
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return {locked, failures, lockedUntil}`;

/** Whose failures an account lockout counts: one typed account id of one component in one workspace. */
export interface AccountTarget {
  workspace: string;
  component: string;
  /** The typed account id, normalized (`typedAccountId`); only its hash reaches Redis. */
  account: string;
}

const fail = new Script<
  [key: string, component: string, now: number, maxAttempts: number, windowMs: number, lockoutMs: number],
  [number, number, number]
>(1, FAIL);

export class Lockout {
  private readonly now: () => number;
  private readonly accounts: TryCounter;

  constructor(
    private readonly redis: Connection,
    private readonly keys: IdentityKeys,
    options: { now?: () => number } = {},
  ) {
    this.accounts = new TryCounter(redis, { now: () => this.now() });
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
    const [locked, failures, until] = await fail.run(
      this.redis,
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

  /**
   * Every component with failures counted in its window or a lockout running, for one identity (what
   * the operator API shows); `lockedUntil` is null when it is not locked.
   */
  async read(
    workspace: string,
    identity: string,
  ): Promise<{ component: string; failures: number; lockedUntil: number | null }[]> {
    const fields = await this.redis.hgetall(this.key({ workspace, identity, component: '' }));
    return Object.entries(fields)
      .map(([component, value]) => ({ component, ...deadlines(value, this.now()) }))
      .filter((entry) => entry.failures > 0 || entry.lockedUntil !== null)
      .sort((a, b) => (a.component < b.component ? -1 : 1));
  }

  /** The operator clears an identity's failures and lockouts, of every component; true when there were any. */
  async clearIdentity(workspace: string, identity: string): Promise<boolean> {
    return (await this.redis.del(this.key({ workspace, identity, component: '' }))) === 1;
  }

  /** An account's failures in its window and its lockout, if it has either. */
  async readAccount(
    target: AccountTarget,
  ): Promise<{ failures: number; lockedUntil: number | null } | undefined> {
    const value = await this.redis.get(this.accountKey(target));
    if (value === null) return undefined;
    const entry = deadlines(value, this.now());
    return entry.failures > 0 || entry.lockedUntil !== null ? entry : undefined;
  }

  private accountKey(target: AccountTarget): string {
    return this.keys.accountLockout(target.workspace, target.component, target.account);
  }

  /** Before an auth call: counts the try against the account, or says it is locked (then no call is made). */
  tryAccount(target: AccountTarget, policy: LockoutPolicy): Promise<TryOutcome> {
    return this.accounts.try(this.accountKey(target), policy);
  }

  /** After a wrong answer: locks the account when that was its last allowed failure. */
  accountFailed(target: AccountTarget, policy: LockoutPolicy): Promise<TryOutcome> {
    return this.accounts.failed(this.accountKey(target), policy);
  }

  /** The service could not answer: the try is given back. */
  releaseAccount(target: AccountTarget, policy: LockoutPolicy): Promise<void> {
    return this.accounts.release(this.accountKey(target), policy);
  }

  /** A success forgets the account's failures. */
  clearAccount(target: AccountTarget): Promise<void> {
    return this.accounts.clear(this.accountKey(target));
  }
}

/** `failures:windowEndMs:lockedUntilMs` read at `now`: failures of a window that is over count for nothing. */
function deadlines(value: string, now: number): { failures: number; lockedUntil: number | null } {
  const [failures = 0, windowEnd = 0, lockedUntil = 0] = value.split(':').map(Number);
  return {
    failures: windowEnd > now ? failures : 0,
    lockedUntil: lockedUntil > now ? lockedUntil : null,
  };
}
