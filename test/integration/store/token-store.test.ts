// The token store against a real Redis: scopes, expiry, sealing at rest, key rotation; and the lockout helper.
import { afterEach, describe, expect, it } from 'vitest';
import { Lockout } from '../../../src/store/lockout.js';
import { RedisTokenStore } from '../../../src/store/token-store.js';
import { createDataCipher } from '../../../src/store/cipher.js';
import { RedisRefreshLock } from '../../../src/store/refresh-lock.js';
import { dataKey, identityWorld, type IdentityWorld } from '../identity/setup.js';

const worlds: IdentityWorld[] = [];
async function world(...args: Parameters<typeof identityWorld>): Promise<IdentityWorld> {
  const w = await identityWorld(...args);
  worlds.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

describe('TokenStore', () => {
  it('keeps four separate tokens for 2 workspaces x 2 externalIds with the same user id', async () => {
    const w = await world();
    const scopes = [
      { workspace: 'acme', externalId: 'team-1', userId: 'u-1' },
      { workspace: 'acme', externalId: 'team-2', userId: 'u-1' },
      { workspace: 'globex', externalId: 'team-1', userId: 'u-1' },
      { workspace: 'globex', externalId: 'team-2', userId: 'u-1' },
    ];
    for (const [i, scope] of scopes.entries()) {
      await w.tokens.put(scope, 'bank-login', { token: `token-${i}`, ttlSeconds: 600 });
    }
    const read = await Promise.all(scopes.map((s) => w.tokens.get(s, 'bank-login')));
    expect(read.map((t) => t?.token)).toEqual(['token-0', 'token-1', 'token-2', 'token-3']);
    // No externalId is a fifth scope of its own.
    expect(await w.tokens.get({ workspace: 'acme', userId: 'u-1' }, 'bank-login')).toBeUndefined();

    await w.tokens.revoke(scopes[1]!, 'bank-login');
    const after = await Promise.all(scopes.map((s) => w.tokens.get(s, 'bank-login')));
    expect(after.map((t) => t?.token)).toEqual(['token-0', undefined, 'token-2', 'token-3']);
  });

  it('never returns a token past its expiry, even before Redis evicts it', async () => {
    const w = await world({ useClock: true });
    const scope = { workspace: 'acme', userId: 'u-2' };
    const { expiresAt } = await w.tokens.put(scope, 'bank-login', { token: 'short-lived', ttlSeconds: 60 });
    expect(expiresAt).toBe(w.clock.now + 60_000);
    const ttl = await w.redis.pttl(w.keys.token(scope, 'bank-login'));
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await w.tokens.get(scope, 'bank-login')).toEqual({ token: 'short-lived', expiresAt });

    w.clock.now += 60_000;
    expect(await w.redis.exists(w.keys.token(scope, 'bank-login'))).toBe(1);
    expect(await w.tokens.get(scope, 'bank-login')).toBeUndefined();
    expect(await w.tokens.list(scope)).toEqual([]);
  });

  it('seals the token and its extra values in Redis', async () => {
    const w = await world();
    const scope = { workspace: 'acme', externalId: 'e', userId: 'u-3' };
    await w.tokens.put(scope, 'member-pin', {
      token: 'CANARY-PIN-7319',
      ttlSeconds: 600,
      extra: { auth_id: 'MEMBER-5521', auth_code: 'CANARY-PIN-7319' },
    });
    for (const key of await w.scan()) {
      const type = await w.redis.type(key);
      const raw = type === 'hash' ? JSON.stringify(await w.redis.hgetall(key)) : await w.redis.get(key);
      expect(raw).not.toContain('CANARY-PIN-7319');
      expect(raw).not.toContain('MEMBER-5521');
    }
    expect(await w.tokens.get(scope, 'member-pin')).toMatchObject({
      token: 'CANARY-PIN-7319',
      extra: { auth_id: 'MEMBER-5521', auth_code: 'CANARY-PIN-7319' },
    });
  });

  it('opens tokens sealed under an old key, and treats an unknown key as missing', async () => {
    const oldKey = dataKey();
    const w = await world({ cipher: createDataCipher(oldKey) });
    const scope = { workspace: 'acme', userId: 'u-4' };
    await w.tokens.put(scope, 'bank-login', { token: 'sealed-under-old', ttlSeconds: 600 });

    const rotated = new RedisTokenStore(w.redis, w.keys, createDataCipher(dataKey(), [oldKey]));
    expect((await rotated.get(scope, 'bank-login'))?.token).toBe('sealed-under-old');

    const forgotten = new RedisTokenStore(w.redis, w.keys, createDataCipher(dataKey()));
    expect(await forgotten.get(scope, 'bank-login')).toBeUndefined();
    expect(await forgotten.list(scope)).toEqual([]);
  });

  it('lists components with expiry (never values) and revokes all', async () => {
    const w = await world({ useClock: true });
    const scope = { workspace: 'acme', userId: 'u-5' };
    await w.tokens.put(scope, 'member-pin', { token: 'v1', ttlSeconds: 100 });
    await w.tokens.put(scope, 'bank-login', { token: 'v2', ttlSeconds: 50 });
    expect(await w.tokens.list(scope)).toEqual([
      { component: 'bank-login', expiresAt: w.clock.now + 50_000 },
      { component: 'member-pin', expiresAt: w.clock.now + 100_000 },
    ]);
    expect(await w.tokens.revokeAll(scope)).toBe(2);
    expect(await w.tokens.list(scope)).toEqual([]);
    expect(await w.scan()).toEqual([]);
  });
});

describe('TokenStore: refresh tokens', () => {
  it('keeps the record for the refresh lifetime: get stops at the access expiry, refreshable goes on', async () => {
    const w = await world({ useClock: true });
    const scope = { workspace: 'acme', userId: 'u-r1' };
    const put = await w.tokens.put(scope, 'bank-login', {
      token: 'access-1',
      ttlSeconds: 60,
      refreshToken: 'CANARY-REFRESH-1',
      refreshTtlSeconds: 86_400,
    });
    const start = w.clock.now;
    expect(put).toEqual({ expiresAt: start + 60_000, refreshExpiresAt: start + 86_400_000 });
    const ttl = await w.redis.pttl(w.keys.token(scope, 'bank-login'));
    expect(ttl).toBeGreaterThan(86_399_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
    expect(await w.tokens.get(scope, 'bank-login')).toEqual({
      token: 'access-1',
      expiresAt: start + 60_000,
      refreshExpiresAt: start + 86_400_000,
    });
    for (const key of await w.scan()) {
      const type = await w.redis.type(key);
      const raw = type === 'hash' ? JSON.stringify(await w.redis.hgetall(key)) : await w.redis.get(key);
      expect(raw).not.toContain('CANARY-REFRESH-1');
    }

    w.clock.now += 60_000;
    expect(await w.tokens.get(scope, 'bank-login')).toBeUndefined();
    const record = await w.tokens.refreshable(scope, 'bank-login');
    expect(record).toMatchObject({
      token: { token: 'access-1', expiresAt: start + 60_000 },
      refreshToken: 'CANARY-REFRESH-1',
      refreshExpiresAt: start + 86_400_000,
    });
    expect(record!.version).toMatch(/^[0-9a-f]{40}$/);
    expect(await w.tokens.list(scope)).toEqual([
      { component: 'bank-login', expiresAt: start + 60_000, refreshExpiresAt: start + 86_400_000 },
    ]);

    w.clock.now = start + 86_400_000;
    expect(await w.tokens.refreshable(scope, 'bank-login')).toBeUndefined();
    expect(await w.tokens.list(scope)).toEqual([]);
  });

  it('a record without a refresh token is not refreshable, and lives for its access token', async () => {
    const w = await world({ useClock: true });
    const scope = { workspace: 'acme', userId: 'u-r2' };
    expect(await w.tokens.put(scope, 'bank-login', { token: 'plain', ttlSeconds: 60 })).toEqual({
      expiresAt: w.clock.now + 60_000,
    });
    expect(await w.tokens.refreshable(scope, 'bank-login')).toBeUndefined();
    expect(await w.redis.pttl(w.keys.token(scope, 'bank-login'))).toBeLessThanOrEqual(60_000);
  });

  it('rotate writes only over the version it read: a stale writer changes nothing', async () => {
    const w = await world({ useClock: true });
    const scope = { workspace: 'acme', userId: 'u-r3' };
    await w.tokens.put(scope, 'bank-login', {
      token: 'a-1',
      ttlSeconds: 60,
      refreshToken: 'r-1',
      refreshTtlSeconds: 3600,
    });
    const read = (await w.tokens.refreshable(scope, 'bank-login'))!;
    const rotated = await w.tokens.rotate(scope, 'bank-login', read.version, {
      token: 'a-2',
      ttlSeconds: 60,
      refreshToken: 'r-2',
      refreshTtlSeconds: 7200,
    });
    expect(rotated).toEqual({ expiresAt: w.clock.now + 60_000, refreshExpiresAt: w.clock.now + 7_200_000 });
    // A second writer that read the same (now old) record loses, and the newer rotation stays.
    expect(
      await w.tokens.rotate(scope, 'bank-login', read.version, {
        token: 'a-stale',
        ttlSeconds: 60,
        refreshToken: 'r-stale',
      }),
    ).toBe('stale');
    expect(await w.tokens.refreshable(scope, 'bank-login')).toMatchObject({
      token: { token: 'a-2' },
      refreshToken: 'r-2',
    });
    // dropVersion also needs the current version.
    expect(await w.tokens.dropVersion(scope, 'bank-login', read.version)).toBe(false);
    const now = (await w.tokens.refreshable(scope, 'bank-login'))!;
    expect(await w.tokens.dropVersion(scope, 'bank-login', now.version)).toBe(true);
    expect(await w.redis.exists(w.keys.token(scope, 'bank-login'))).toBe(0);
    expect(await w.redis.hkeys(w.keys.tokenIndex(scope))).toEqual([]);
    // Nothing to rotate over: stale.
    expect(await w.tokens.rotate(scope, 'bank-login', now.version, { token: 'a-3', ttlSeconds: 60 })).toBe(
      'stale',
    );
  });

  it('take removes the records and gives their values back, for revocation at the provider', async () => {
    const w = await world();
    const scope = { workspace: 'acme', userId: 'u-r4' };
    await w.tokens.put(scope, 'bank-login', { token: 'a-1', ttlSeconds: 60, refreshToken: 'r-1' });
    await w.tokens.put(scope, 'member-pin', { token: 'pin-1', ttlSeconds: 60 });
    expect(await w.tokens.take(scope, 'bank-login')).toEqual([
      { component: 'bank-login', accessToken: 'a-1', refreshToken: 'r-1' },
    ]);
    expect(await w.tokens.take(scope, 'bank-login')).toEqual([]);
    expect(await w.tokens.take(scope)).toEqual([{ component: 'member-pin', accessToken: 'pin-1' }]);
    expect(await w.scan()).toEqual([]);
  });
});

describe('RefreshLock', () => {
  it('one holder at a time per user and component; only the holder releases it; the lease ends it', async () => {
    const w = await world();
    const lock = new RedisRefreshLock(w.redis, w.keys);
    const scope = { workspace: 'acme', userId: 'u-l1' };
    const held = await lock.acquire(scope, 'bank-login', 60_000);
    expect(held).toBeDefined();
    expect(await lock.acquire(scope, 'bank-login', 60_000)).toBeUndefined();
    expect(await lock.held(scope, 'bank-login')).toBe(true);
    // Another component, another user: their own locks.
    const other = await lock.acquire(scope, 'member-pin', 60_000);
    expect(other).toBeDefined();
    expect(await lock.acquire({ ...scope, userId: 'u-l2' }, 'bank-login', 60_000)).toBeDefined();
    const key = w.keys.refreshLock(scope, 'bank-login');
    expect(await w.redis.pttl(key)).toBeGreaterThan(59_000);

    // A lease that ran out and was taken by someone else is not released by the first holder.
    await w.redis.del(key);
    const next = await lock.acquire(scope, 'bank-login', 60_000);
    await held!.release();
    expect(await lock.held(scope, 'bank-login')).toBe(true);
    await next!.release();
    expect(await lock.held(scope, 'bank-login')).toBe(false);
    await other!.release();
  });
});

describe('Lockout', () => {
  it('locks after maxAttempts failures in the window, until the lockout ends', async () => {
    const w = await world({ useClock: true });
    const lockout = new Lockout(w.redis, w.keys, { now: () => w.clock.now });
    const target = { workspace: 'acme', identity: 'sms:+15551230001', component: 'bank-login' };
    const policy = { maxAttempts: 3, lockoutSeconds: 900 };
    expect(await lockout.recordFailure(target, policy)).toEqual({ locked: false, failures: 1 });
    expect(await lockout.recordFailure(target, policy)).toEqual({ locked: false, failures: 2 });
    expect(await lockout.isLocked(target)).toBeUndefined();
    const third = await lockout.recordFailure(target, policy);
    expect(third).toEqual({ locked: true, failures: 0, until: w.clock.now + 900_000 });
    expect(await lockout.isLocked(target)).toEqual({ until: w.clock.now + 900_000 });
    // Another identity and another component are not locked.
    expect(await lockout.isLocked({ ...target, component: 'member-pin' })).toBeUndefined();
    expect(await lockout.isLocked({ ...target, identity: 'sms:+15551230002' })).toBeUndefined();
    expect(await w.redis.pttl(w.keys.lockout(lockoutHash(w, target)))).toBeGreaterThan(899_000);

    w.clock.now += 900_000;
    expect(await lockout.isLocked(target)).toBeUndefined();
    expect(await lockout.recordFailure(target, policy)).toEqual({ locked: false, failures: 1 });
  });

  it('forgets failures outside the window and after a success', async () => {
    const w = await world({ useClock: true });
    const lockout = new Lockout(w.redis, w.keys, { now: () => w.clock.now });
    const target = { workspace: 'acme', identity: 'voice:+15551230003', component: 'member-pin' };
    const policy = { maxAttempts: 2, lockoutSeconds: 60 };
    await lockout.recordFailure(target, policy);
    w.clock.now += 61_000;
    expect(await lockout.recordFailure(target, policy)).toEqual({ locked: false, failures: 1 });
    await lockout.clear(target);
    expect(await lockout.recordFailure(target, policy)).toEqual({ locked: false, failures: 1 });
  });
});

function lockoutHash(w: IdentityWorld, target: { workspace: string; identity: string }): string {
  return w.keys.identityHash(target.workspace, target.identity);
}
