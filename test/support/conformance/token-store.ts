// One suite every TokenStore passes: scoped, replaced, revoked, listed, and never returned past its expiry.
import { describe, expect, it } from 'vitest';
import { TokenTtlError, type TokenScope, type TokenStore } from '../../../src/store/token-store.js';

export interface TokenStoreSubject {
  store: TokenStore;
  /** The store's clock (ms). */
  now(): number;
  advance(ms: number): void;
}

let users = 0;
/** A user nobody else in the run has: subjects may share one store. */
function scope(extra: Partial<TokenScope> = {}): TokenScope {
  return { workspace: 'acme', userId: `conformance-${process.pid}-${users++}`, ...extra };
}

export function tokenStoreConformance(name: string, make: () => Promise<TokenStoreSubject>): void {
  describe(`token store: ${name}`, () => {
    it('returns what was put, with its expiry, until it expires and not after', async () => {
      const s = await make();
      const who = scope();
      expect(await s.store.get(who, 'bank-login')).toBeUndefined();
      const expiresAt = s.now() + 60_000;
      expect(
        await s.store.put(who, 'bank-login', { token: 't-1', ttlSeconds: 60, extra: { a: 'b' } }),
      ).toEqual({
        expiresAt,
      });
      expect(await s.store.get(who, 'bank-login')).toEqual({ token: 't-1', expiresAt, extra: { a: 'b' } });
      s.advance(59_999);
      expect(await s.store.get(who, 'bank-login')).toEqual({ token: 't-1', expiresAt, extra: { a: 'b' } });
      s.advance(1);
      expect(await s.store.get(who, 'bank-login')).toBeUndefined();
      expect(await s.store.list(who)).toEqual([]);
    });

    it('rounds a fractional lifetime up to the millisecond', async () => {
      const s = await make();
      const who = scope();
      expect(await s.store.put(who, 'c', { token: 't', ttlSeconds: 0.0015 })).toEqual({
        expiresAt: s.now() + 2,
      });
    });

    it('refuses a lifetime that is not a positive number of seconds, storing nothing', async () => {
      const s = await make();
      const who = scope();
      for (const ttlSeconds of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(s.store.put(who, 'c', { token: 't', ttlSeconds })).rejects.toBeInstanceOf(TokenTtlError);
      }
      expect(await s.store.list(who)).toEqual([]);
    });

    it('replaces a token put again for the same component', async () => {
      const s = await make();
      const who = scope();
      await s.store.put(who, 'c', { token: 't-1', ttlSeconds: 60, extra: { a: 'b' } });
      await s.store.put(who, 'c', { token: 't-2', ttlSeconds: 120 });
      expect(await s.store.get(who, 'c')).toEqual({ token: 't-2', expiresAt: s.now() + 120_000 });
    });

    it('keeps workspaces, externalIds and users apart', async () => {
      const s = await make();
      const base = scope();
      const scopes = [
        base,
        { ...base, externalId: 'team-1' },
        { ...base, workspace: 'globex' },
        { ...base, userId: `${base.userId}-other` },
      ];
      for (const [i, who] of scopes.entries())
        await s.store.put(who, 'c', { token: `t-${i}`, ttlSeconds: 60 });
      const read = await Promise.all(scopes.map((who) => s.store.get(who, 'c')));
      expect(read.map((t) => t?.token)).toEqual(['t-0', 't-1', 't-2', 't-3']);
      expect(await s.store.revoke(scopes[1]!, 'c')).toBe(true);
      const after = await Promise.all(scopes.map((who) => s.store.get(who, 'c')));
      expect(after.map((t) => t?.token)).toEqual(['t-0', undefined, 't-2', 't-3']);
    });

    it('revoke says whether a token was there', async () => {
      const s = await make();
      const who = scope();
      await s.store.put(who, 'a', { token: 't-a', ttlSeconds: 60 });
      await s.store.put(who, 'b', { token: 't-b', ttlSeconds: 60 });
      expect(await s.store.revoke(who, 'a')).toBe(true);
      expect(await s.store.revoke(who, 'a')).toBe(false);
      expect(await s.store.get(who, 'a')).toBeUndefined();
      expect(await s.store.get(who, 'b')).toEqual({ token: 't-b', expiresAt: s.now() + 60_000 });
    });

    it('lists live tokens by component (expiries, never values), and revokeAll removes them all', async () => {
      const s = await make();
      const who = scope();
      const at = s.now();
      await s.store.put(who, 'zeta', { token: 't-z', ttlSeconds: 120 });
      await s.store.put(who, 'alpha', { token: 't-a', ttlSeconds: 60 });
      await s.store.put(who, 'short', { token: 't-s', ttlSeconds: 30 });
      expect(await s.store.list(who)).toEqual([
        { component: 'alpha', expiresAt: at + 60_000 },
        { component: 'short', expiresAt: at + 30_000 },
        { component: 'zeta', expiresAt: at + 120_000 },
      ]);
      s.advance(30_000);
      expect(await s.store.list(who)).toEqual([
        { component: 'alpha', expiresAt: at + 60_000 },
        { component: 'zeta', expiresAt: at + 120_000 },
      ]);
      expect(await s.store.revokeAll(who)).toBe(3);
      expect(await s.store.list(who)).toEqual([]);
      expect(await s.store.get(who, 'alpha')).toBeUndefined();
      expect(await s.store.revokeAll(who)).toBe(0);
    });
    it('keeps a refresh token past the access expiry: get stops, refreshable and list go on until its own', async () => {
      const s = await make();
      const who = scope();
      const at = s.now();
      const put = { token: 't-1', ttlSeconds: 60, refreshToken: 'r-1', refreshTtlSeconds: 600 };
      expect(await s.store.put(who, 'bank-login', put)).toEqual({
        expiresAt: at + 60_000,
        refreshExpiresAt: at + 600_000,
      });
      s.advance(60_000);
      expect(await s.store.get(who, 'bank-login')).toBeUndefined();
      expect(await s.store.refreshable(who, 'bank-login')).toMatchObject({
        token: { token: 't-1', expiresAt: at + 60_000 },
        refreshToken: 'r-1',
        refreshExpiresAt: at + 600_000,
      });
      expect(await s.store.list(who)).toEqual([
        { component: 'bank-login', expiresAt: at + 60_000, refreshExpiresAt: at + 600_000 },
      ]);
      s.advance(540_000);
      expect(await s.store.refreshable(who, 'bank-login')).toBeUndefined();
      expect(await s.store.list(who)).toEqual([]);
    });

    it('rotates only over the record it read, and take hands back the values it removed', async () => {
      const s = await make();
      const who = scope();
      await s.store.put(who, 'bank-login', { token: 't-1', ttlSeconds: 60, refreshToken: 'r-1' });
      const read = (await s.store.refreshable(who, 'bank-login'))!;
      const next = { token: 't-2', ttlSeconds: 60, refreshToken: 'r-2', refreshTtlSeconds: 120 };
      expect(await s.store.rotate(who, 'bank-login', read.version, next)).toEqual({
        expiresAt: s.now() + 60_000,
        refreshExpiresAt: s.now() + 120_000,
      });
      expect(await s.store.rotate(who, 'bank-login', read.version, { ...next, token: 't-x' })).toBe('stale');
      expect(await s.store.dropVersion(who, 'bank-login', read.version)).toBe(false);
      expect(await s.store.take(who)).toEqual([
        { component: 'bank-login', accessToken: 't-2', refreshToken: 'r-2' },
      ]);
      expect(await s.store.list(who)).toEqual([]);
    });
  });
}
