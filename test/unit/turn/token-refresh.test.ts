// The refresh decision over an in-memory record: when to call the provider, what waiters do, what is stored.
import { describe, expect, it } from 'vitest';
import type { RefreshOutcome } from '../../../src/auth/index.js';
import type { NewToken, RefreshableRecord } from '../../../src/store/token-store.js';
import {
  REFRESH_MARGIN_MS,
  refreshUserToken,
  type TokenRecord,
  type TokenRefreshDeps,
} from '../../../src/turn/token-refresh.js';
import { manualClock, type ManualClock } from '../../support/clock.js';

interface Stored {
  token: string;
  expiresAt: number;
  refreshToken?: string;
  refreshExpiresAt?: number;
  version: number;
}

/** One record and its lock in memory, shaped as the Redis store's; `others` is someone else's lock. */
class MemoryRecord implements TokenRecord {
  stored: Stored | undefined;
  lockedByOther = false;
  rotations: NewToken[] = [];
  private version = 0;
  private mine = false;
  /** Called at each look of a waiter: lets a test play the other holder. */
  onLook: (() => void) | undefined;

  constructor(private readonly clock: ManualClock) {}

  seed(token: string, expiresInMs: number, refreshToken?: string, refreshInMs = 86_400_000): void {
    const now = this.clock.now();
    this.stored = {
      token,
      expiresAt: now + expiresInMs,
      ...(refreshToken ? { refreshToken, refreshExpiresAt: now + refreshInMs } : {}),
      version: ++this.version,
    };
  }

  refreshable(): Promise<RefreshableRecord | undefined> {
    this.onLook?.();
    const s = this.stored;
    if (!s?.refreshToken || s.refreshExpiresAt! <= this.clock.now()) return Promise.resolve(undefined);
    return Promise.resolve({
      token: { token: s.token, expiresAt: s.expiresAt, refreshExpiresAt: s.refreshExpiresAt! },
      refreshToken: s.refreshToken,
      refreshExpiresAt: s.refreshExpiresAt!,
      version: String(s.version),
    });
  }

  live() {
    const s = this.stored;
    return Promise.resolve(
      s && s.expiresAt > this.clock.now() ? { token: s.token, expiresAt: s.expiresAt } : undefined,
    );
  }

  rotate(version: string, token: NewToken) {
    if (!this.stored || String(this.stored.version) !== version) return Promise.resolve('stale' as const);
    this.rotations.push(token);
    const now = this.clock.now();
    this.stored = {
      token: token.token,
      expiresAt: now + token.ttlSeconds * 1000,
      ...(token.refreshToken
        ? { refreshToken: token.refreshToken, refreshExpiresAt: now + (token.refreshTtlSeconds ?? 0) * 1000 }
        : {}),
      version: ++this.version,
    };
    return Promise.resolve({
      expiresAt: this.stored.expiresAt,
      refreshExpiresAt: this.stored.refreshExpiresAt,
    });
  }

  drop(version: string) {
    if (!this.stored || String(this.stored.version) !== version) return Promise.resolve(false);
    this.stored = undefined;
    return Promise.resolve(true);
  }

  acquire() {
    if (this.lockedByOther || this.mine) return Promise.resolve(undefined);
    this.mine = true;
    return Promise.resolve({
      release: () => {
        this.mine = false;
        return Promise.resolve();
      },
    });
  }

  held() {
    return Promise.resolve(this.lockedByOther || this.mine);
  }
}

function setup(outcome: RefreshOutcome = { result: 'success', accessToken: 'a-2', ttlSeconds: 3600 }) {
  const clock = manualClock(1_000_000);
  const record = new MemoryRecord(clock);
  const calls: string[] = [];
  const deps: TokenRefreshDeps = {
    record,
    clock,
    timeoutMs: 5000,
    refresh: (refreshToken) => {
      calls.push(refreshToken);
      return Promise.resolve(outcome);
    },
  };
  return { clock, record, calls, deps };
}

describe('refreshUserToken', () => {
  it('a live token beyond the margin is returned without a call; within the margin it is refreshed', async () => {
    const { record, calls, deps, clock } = setup();
    record.seed('a-1', REFRESH_MARGIN_MS + 1, 'r-1');
    expect(await refreshUserToken(deps, {})).toMatchObject({ result: 'refreshed', token: { token: 'a-1' } });
    expect(calls).toEqual([]);
    clock.advance(1);
    expect(await refreshUserToken(deps, {})).toMatchObject({ result: 'refreshed', token: { token: 'a-2' } });
    expect(calls).toEqual(['r-1']);
    // The provider sent no refresh token: the old one is kept, with the lifetime it had left.
    expect(record.stored).toMatchObject({
      token: 'a-2',
      refreshToken: 'r-1',
      refreshExpiresAt: 1_000_000 + 86_400_000,
    });
  });

  it('forced with the refused token: refreshes once; a record that already holds a newer token is used', async () => {
    const { record, calls, deps } = setup();
    record.seed('a-1', 3_600_000, 'r-1');
    expect(await refreshUserToken(deps, { force: true, rejected: 'a-1' })).toMatchObject({
      result: 'refreshed',
      token: { token: 'a-2' },
    });
    // A second turn refused with the same old token after the first refreshed: no second call.
    expect(await refreshUserToken(deps, { force: true, rejected: 'a-1' })).toMatchObject({
      result: 'refreshed',
      token: { token: 'a-2' },
    });
    expect(calls).toEqual(['r-1']);
  });

  it('a refused refresh deletes the record; without a refresh token there is nothing to do', async () => {
    const refused = setup({ result: 'refused', reason: 'invalid_grant' });
    refused.record.seed('a-1', 0, 'r-1');
    expect(await refreshUserToken(refused.deps, {})).toEqual({ result: 'refused' });
    expect(refused.record.stored).toBeUndefined();

    const plain = setup();
    plain.record.seed('a-1', 10_000);
    // Live but close to expiry, and no refresh token: the live token is still the best there is.
    expect(await refreshUserToken(plain.deps, {})).toMatchObject({
      result: 'refreshed',
      token: { token: 'a-1' },
    });
    expect(await refreshUserToken(plain.deps, { force: true, rejected: 'a-1' })).toEqual({ result: 'none' });
    expect(plain.calls).toEqual([]);
  });

  it('a waiter uses what the holder stored and never calls the provider', async () => {
    const { record, calls, deps, clock } = setup();
    record.seed('a-1', 0, 'r-1');
    record.lockedByOther = true;
    let looks = 0;
    record.onLook = () => {
      // The other holder finishes on the third look: it stores its tokens, then gives the lock back.
      if (++looks === 3) {
        record.seed('a-other', 3_600_000, 'r-other');
        record.lockedByOther = false;
      }
    };
    const started = clock.now();
    expect(await refreshUserToken(deps, {})).toMatchObject({
      result: 'refreshed',
      token: { token: 'a-other' },
    });
    expect(calls).toEqual([]);
    expect(clock.now() - started).toBeGreaterThan(0); // it waited on the clock
  });

  it('a waiter whose holder gave the lock back with nothing new says unavailable, without a call', async () => {
    const { record, calls, deps } = setup();
    record.seed('a-1', 0, 'r-1');
    record.lockedByOther = true;
    let looks = 0;
    record.onLook = () => {
      if (++looks === 2) record.lockedByOther = false;
    };
    expect(await refreshUserToken(deps, {})).toEqual({ result: 'unavailable' });
    expect(calls).toEqual([]);
  });

  it('a waiter gives up after the lease even when the lock is never given back', async () => {
    const { record, calls, deps, clock } = setup();
    record.seed('a-1', 0, 'r-1');
    record.lockedByOther = true;
    const started = clock.now();
    expect(await refreshUserToken(deps, {})).toEqual({ result: 'unavailable' });
    expect(clock.now() - started).toBeGreaterThanOrEqual(deps.timeoutMs + 5000);
    expect(calls).toEqual([]);
  });
});
