// Link codes in Redis: sealed under a keyed hash of the code, single-use, with tries counted per identity and per workspace.
import type { Connection } from './connections.js';
import type { DataCipher } from './cipher.js';
import type { IdentityKeys, UserScope } from './identity-keys.js';
import { places } from './places.js';
import { Script } from './scripts.js';
import { DEADLINE_GRACE_MS, TryCounter, type TryOutcome, type TryPolicy } from './try-counter.js';

/**
 * Reads an identity's tries: KEYS[1] holds the count (a plain integer, as every version keeps it), KEYS[2]
 * the end of its window (ms), so a version that only INCRs the count can run beside this one. A count
 * without an end is an earlier version's, whose TTL is its window. ARGV[1] is now.
 */
const PARSE = `
local now = tonumber(ARGV[1])
local count = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local windowEnd = tonumber(redis.call('GET', KEYS[2]) or '')
if count > 0 and not windowEnd then
  local left = redis.call('PTTL', KEYS[1])
  windowEnd = left > 0 and now + left or 0
end
windowEnd = windowEnd or 0
if windowEnd <= now then count = 0 end
local function save()
  local px = windowEnd - now + ${DEADLINE_GRACE_MS}
  redis.call('SET', KEYS[1], count, 'PX', px)
  redis.call('SET', KEYS[2], windowEnd, 'PX', px)
end`;

/**
 * Reserve one try for an identity: count it first (so concurrent tries cannot exceed the limit), and
 * start the window on the first one. KEYS: failures, their window's end. ARGV: now, window ms. Returns {count, ms left}.
 */
const RESERVE = `${PARSE}
if count == 0 then windowEnd = now + tonumber(ARGV[2]) end
count = count + 1
save()
return {count, windowEnd - now}`;

/** Give back a try that turned out right (only while its window lasts). KEYS: as above. ARGV: now. */
const RELEASE = `${PARSE}
if count <= 0 then return 0 end
count = count - 1
if count == 0 then redis.call('DEL', KEYS[1], KEYS[2]) else save() end
return count`;

const scripts = {
  reserve: new Script<[failures: string, windowEnd: string, now: number, windowMs: number], [number, number]>(
    2,
    RESERVE,
  ),
  release: new Script<[failures: string, windowEnd: string, now: number], number>(2, RELEASE),
};

/** Who sends a code: tries are counted per channel identity of a workspace. */
export interface LinkCodeSender {
  workspace: string;
  identity: string;
}

export class LinkCodeStore {
  private readonly workspaceTries: TryCounter;
  private readonly now: () => number;

  constructor(
    private readonly redis: Connection,
    private readonly keys: IdentityKeys,
    private readonly cipher: DataCipher,
    options: { now: () => number },
  ) {
    this.workspaceTries = new TryCounter(redis, options);
    this.now = options.now;
  }

  /**
   * Stores a code's data sealed, unless a live code is equal (NX: returns false then), and notes it in
   * the user's index so erasure can void it. `keepMs`: how long the key lives.
   */
  async put(scope: UserScope, code: string, data: string, keepMs: number): Promise<boolean> {
    const key = this.keys.linkCode(scope.workspace, code);
    const sealed = this.cipher.seal(data, places.linkCode(scope.workspace, code));
    if ((await this.redis.set(key, sealed, 'PX', keepMs, 'NX')) !== 'OK') return false;
    const index = this.keys.userLinkCodes(scope);
    await this.redis.sadd(index, key);
    // The index lives as long as its longest-lived code.
    if ((await this.redis.pttl(index)) < keepMs) await this.redis.pexpire(index, keepMs);
    return true;
  }

  /**
   * Takes a code (GETDEL: of two identities racing with the same code, exactly one gets it) and returns
   * its data, or undefined. A code issued before keyed names cannot be moved (its code is not known), so
   * a miss looks under its old name too.
   */
  async take(workspace: string, code: string): Promise<string | undefined> {
    const sealed =
      (await this.redis.getdel(this.keys.linkCode(workspace, code))) ??
      (await this.redis.getdel(this.keys.legacyLinkCode(workspace, code)));
    return sealed === null ? undefined : this.cipher.open(sealed, places.linkCode(workspace, code));
  }

  /** A redeemed code leaves its user's index. */
  async forget(scope: UserScope, code: string): Promise<void> {
    await this.redis.srem(
      this.keys.userLinkCodes(scope),
      this.keys.linkCode(scope.workspace, code),
      this.keys.legacyLinkCode(scope.workspace, code),
    );
  }

  private failures(sender: LinkCodeSender): [count: string, windowEnd: string] {
    const hash = this.keys.identityHash(sender.workspace, sender.identity);
    return [this.keys.linkCodeFailures(hash), this.keys.linkCodeFailuresEnd(hash)];
  }

  /** Counts a try of the sender's; returns the tries in the window and the ms it has left. */
  async reserveTry(sender: LinkCodeSender, windowSeconds: number): Promise<{ count: number; ttlMs: number }> {
    const [count, ttlMs] = await scripts.reserve.run(
      this.redis,
      ...this.failures(sender),
      this.now(),
      Math.ceil(windowSeconds * 1000),
    );
    return { count, ttlMs };
  }

  /** Gives back the sender's try (it was right, or not checked). */
  async releaseTry(sender: LinkCodeSender): Promise<void> {
    await scripts.release.run(this.redis, ...this.failures(sender), this.now());
  }

  /** The workspace's tries, all its identities together (see `TryCounter`). */
  workspaceTry(workspace: string, policy: TryPolicy): Promise<TryOutcome> {
    return this.workspaceTries.try(this.keys.linkCodeWorkspaceFailures(workspace), policy);
  }

  workspaceFailed(workspace: string, policy: TryPolicy): Promise<TryOutcome> {
    return this.workspaceTries.failed(this.keys.linkCodeWorkspaceFailures(workspace), policy);
  }

  workspaceRelease(workspace: string, policy: TryPolicy): Promise<void> {
    return this.workspaceTries.release(this.keys.linkCodeWorkspaceFailures(workspace), policy);
  }
}
