// Cached auth tokens per (workspace, externalId, user, component): sealed at rest, never returned past their expiry.
import { createHash } from 'node:crypto';
import type { CachedToken } from '../core/ports/tokens.js';
import type { Connection } from './connections.js';
import { Script } from './scripts.js';
import type { Metrics } from '../metrics.js';
import type { DataCipher } from './cipher.js';
import type { IdentityKeys, UserScope } from './identity-keys.js';
import { places } from './places.js';
import { Resealer } from './reseal.js';

/** Who a token belongs to: the same user id in two workspaces or two externalIds is four scopes. */
export type TokenScope = UserScope;

export type { CachedToken };

export interface NewToken {
  token: string;
  /** Seconds the token is valid from now (fractions allowed). */
  ttlSeconds: number;
  extra?: Record<string, string>;
  /** A refresh token, sealed with the access token: the record then lives for the refresh token's lifetime. */
  refreshToken?: string;
  /** Seconds the refresh token is valid from now; without it, the access token's lifetime. */
  refreshTtlSeconds?: number;
}

/** Which components have a live token (or a live refresh token), and until when: never the values. */
export interface CachedTokenInfo {
  component: string;
  expiresAt: number;
  refreshExpiresAt?: number;
}

/**
 * A record with a live refresh token, for the refresh path only: its access token may be past its expiry.
 * `version` names the stored value (a hash of it, not a secret): `rotate` writes only over that value.
 */
export interface RefreshableRecord {
  token: CachedToken;
  refreshToken: string;
  refreshExpiresAt: number;
  version: string;
}

/** What `take` removed: the values to revoke at the provider. */
export interface TakenTokens {
  component: string;
  accessToken: string;
  refreshToken?: string;
}

/**
 * The token cache. Implemented by `RedisTokenStore`. A token past its expiry is never
 * returned, even when the store has not evicted it yet.
 */
export interface TokenStore {
  get(scope: TokenScope, component: string): Promise<CachedToken | undefined>;
  /** The record when it holds a live refresh token (its access token live or not), for the refresh path. */
  refreshable(scope: TokenScope, component: string): Promise<RefreshableRecord | undefined>;
  /** Stores (or replaces) a token; returns its absolute expiry. */
  put(scope: TokenScope, component: string, token: NewToken): Promise<StoredExpiry>;
  /**
   * Stores refreshed tokens, in one script, only over the record `version` names: a writer that read an
   * older record (a stale refresh) or a record replaced since (a new sign-in) gets 'stale' and changes nothing.
   */
  rotate(
    scope: TokenScope,
    component: string,
    version: string,
    token: NewToken,
  ): Promise<StoredExpiry | 'stale'>;
  /** Removes the record when it is still `version` (a refused refresh token); returns whether it did. */
  dropVersion(scope: TokenScope, component: string, version: string): Promise<boolean>;
  /** Returns whether a token was there. */
  revoke(scope: TokenScope, component: string): Promise<boolean>;
  /** Returns how many tokens were revoked. */
  revokeAll(scope: TokenScope): Promise<number>;
  /** Removes the user's tokens (one component, or all) and returns their values, to revoke at the provider. */
  take(scope: TokenScope, component?: string): Promise<TakenTokens[]>;
  list(scope: TokenScope): Promise<CachedTokenInfo[]>;
}

export interface StoredExpiry {
  expiresAt: number;
  refreshExpiresAt?: number;
}

export class TokenTtlError extends Error {
  override readonly name = 'TokenTtlError';
}

/**
 * Store the sealed token with its record's lifetime as TTL and note its expiry in the scope's index. With a
 * version (ARGV[5]), only over the value it names (SHA-1 of the stored value): 0 when that value is gone.
 */
const PUT = `
if ARGV[5] ~= '' then
  local current = redis.call('GET', KEYS[1])
  if not current or redis.sha1hex(current) ~= ARGV[5] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1`;

/** Remove one token and its index entry. */
const REVOKE = `
local n = redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return n`;

/** Remove one token and its index entry when the token is still the value ARGV[2] names. */
const DROP_VERSION = `
local current = redis.call('GET', KEYS[1])
if not current or redis.sha1hex(current) ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

/** Remove one token and its index entry, returning the value it had. */
const TAKE = `
local value = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return value`;

const scripts = {
  put: new Script<
    [
      token: string,
      index: string,
      sealed: string,
      ttlMs: number,
      component: string,
      expiresAt: number,
      version: string,
    ],
    number
  >(2, PUT),
  revoke: new Script<[token: string, index: string, component: string], number>(2, REVOKE),
  dropVersion: new Script<[token: string, index: string, component: string, version: string], number>(
    2,
    DROP_VERSION,
  ),
  take: new Script<[token: string, index: string, component: string], string | null>(2, TAKE),
};

/** The record as sealed: access token and expiry, extra values, refresh token and its expiry. */
interface SealedToken {
  t: string;
  e: number;
  x?: Record<string, string>;
  r?: string;
  re?: number;
}

/** A record as read, whichever of its tokens is still live. */
interface OpenedRecord {
  value: SealedToken;
  version: string;
}

const versionOf = (sealed: string) => createHash('sha1').update(sealed).digest('hex');

export interface RedisTokenStoreOptions {
  /** The clock (ms); tests move it forward to see expiry without waiting. */
  now?: () => number;
  metrics?: Pick<Metrics, 'tokenCache'>;
}

export class RedisTokenStore implements TokenStore {
  private readonly now: () => number;
  private readonly resealer: Resealer;

  constructor(
    private readonly redis: Connection,
    private readonly keys: IdentityKeys,
    private readonly cipher: DataCipher,
    private readonly options: RedisTokenStoreOptions = {},
  ) {
    this.resealer = new Resealer(redis, cipher);
    this.now = options.now ?? Date.now;
  }

  async get(scope: TokenScope, component: string): Promise<CachedToken | undefined> {
    const found = await this.open(scope, component);
    const live = found && found.value.e > this.now() ? cachedToken(found.value) : undefined;
    this.options.metrics?.tokenCache.inc({ result: live ? 'hit' : 'miss' });
    return live;
  }

  async refreshable(scope: TokenScope, component: string): Promise<RefreshableRecord | undefined> {
    const found = await this.open(scope, component);
    if (!found || !refreshLive(found.value, this.now())) return undefined;
    return {
      token: cachedToken(found.value),
      refreshToken: found.value.r!,
      refreshExpiresAt: found.value.re!,
      version: found.version,
    };
  }

  /** The record as stored, when it opens and one of its tokens is live. */
  private async open(scope: TokenScope, component: string): Promise<OpenedRecord | undefined> {
    const key = this.keys.token(scope, component);
    const stored = await this.redis.get(key);
    if (stored === null) return undefined;
    const { plain, sealed } = await this.resealer.open({ key }, stored, places.token(scope, component));
    // Sealed under a key we no longer hold, or for another user: the token is as good as missing.
    if (plain === undefined) return undefined;
    const value = parseRecord(plain);
    if (!value) return undefined;
    const now = this.now();
    if (value.e <= now && !refreshLive(value, now)) return undefined;
    return { value, version: versionOf(sealed) };
  }

  put(scope: TokenScope, component: string, token: NewToken): Promise<StoredExpiry> {
    return this.write(scope, component, token, '') as Promise<StoredExpiry>;
  }

  rotate(
    scope: TokenScope,
    component: string,
    version: string,
    token: NewToken,
  ): Promise<StoredExpiry | 'stale'> {
    return this.write(scope, component, token, version);
  }

  private async write(
    scope: TokenScope,
    component: string,
    token: NewToken,
    version: string,
  ): Promise<StoredExpiry | 'stale'> {
    const positive = (s: number | undefined) => s !== undefined && Number.isFinite(s) && s > 0;
    if (!positive(token.ttlSeconds)) {
      throw new TokenTtlError(`a token's ttl must be a positive number of seconds, got ${token.ttlSeconds}`);
    }
    if (token.refreshTtlSeconds !== undefined && !positive(token.refreshTtlSeconds)) {
      throw new TokenTtlError(
        `a refresh token's ttl must be a positive number of seconds, got ${token.refreshTtlSeconds}`,
      );
    }
    const now = this.now();
    const ttlMs = Math.ceil(token.ttlSeconds * 1000);
    const expiresAt = now + ttlMs;
    // The record lives as long as the longer of its tokens: a refresh token outlives its access tokens.
    const refreshMs =
      token.refreshToken !== undefined ? Math.ceil((token.refreshTtlSeconds ?? token.ttlSeconds) * 1000) : 0;
    const recordMs = Math.max(ttlMs, refreshMs);
    const value: SealedToken = {
      t: token.token,
      e: expiresAt,
      ...(token.extra ? { x: token.extra } : {}),
      ...(token.refreshToken !== undefined ? { r: token.refreshToken, re: now + refreshMs } : {}),
    };
    const written = await scripts.put.run(
      this.redis,
      this.keys.token(scope, component),
      this.keys.tokenIndex(scope),
      this.cipher.seal(JSON.stringify(value), places.token(scope, component)),
      recordMs,
      component,
      expiresAt,
      version,
    );
    if (written !== 1) return 'stale';
    return { expiresAt, ...(value.re !== undefined ? { refreshExpiresAt: value.re } : {}) };
  }

  async dropVersion(scope: TokenScope, component: string, version: string): Promise<boolean> {
    const n = await scripts.dropVersion.run(
      this.redis,
      this.keys.token(scope, component),
      this.keys.tokenIndex(scope),
      component,
      version,
    );
    return n === 1;
  }

  async revoke(scope: TokenScope, component: string): Promise<boolean> {
    const n = await scripts.revoke.run(
      this.redis,
      this.keys.token(scope, component),
      this.keys.tokenIndex(scope),
      component,
    );
    return n > 0;
  }

  async revokeAll(scope: TokenScope): Promise<number> {
    const index = this.keys.tokenIndex(scope);
    const components = await this.redis.hkeys(index);
    if (components.length === 0) {
      await this.redis.del(index);
      return 0;
    }
    // Every key carries the scope's hash tag, so this DEL is single-slot on a cluster too.
    const removed = await this.redis.del(...components.map((c) => this.keys.token(scope, c)), index);
    // The index existed (it listed components), so one of the removed keys is the index.
    return Math.max(0, removed - 1);
  }

  async take(scope: TokenScope, component?: string): Promise<TakenTokens[]> {
    const components =
      component !== undefined ? [component] : (await this.redis.hkeys(this.keys.tokenIndex(scope))).sort();
    const taken: TakenTokens[] = [];
    for (const name of components) {
      const stored = await scripts.take.run(
        this.redis,
        this.keys.token(scope, name),
        this.keys.tokenIndex(scope),
        name,
      );
      if (stored === null) continue;
      const value = parseRecord(this.cipher.open(stored, places.token(scope, name)));
      if (!value) continue;
      taken.push({
        component: name,
        accessToken: value.t,
        ...(value.r !== undefined ? { refreshToken: value.r } : {}),
      });
    }
    return taken;
  }

  async list(scope: TokenScope): Promise<CachedTokenInfo[]> {
    const components = (await this.redis.hkeys(this.keys.tokenIndex(scope))).sort();
    const found: CachedTokenInfo[] = [];
    // Opened (not just indexed) so that a record neither `get` nor `refreshable` would return is not listed.
    for (const component of components) {
      const record = await this.open(scope, component);
      if (!record) continue;
      const { e, re } = record.value;
      found.push({ component, expiresAt: e, ...(re !== undefined ? { refreshExpiresAt: re } : {}) });
    }
    return found;
  }
}

function parseRecord(plain: string | undefined): SealedToken | undefined {
  if (plain === undefined) return undefined;
  let value: SealedToken;
  try {
    value = JSON.parse(plain) as SealedToken;
  } catch {
    return undefined;
  }
  if (typeof value.t !== 'string' || typeof value.e !== 'number') return undefined;
  if (value.r !== undefined && (typeof value.r !== 'string' || typeof value.re !== 'number'))
    return undefined;
  return value;
}

function refreshLive(value: SealedToken, now: number): boolean {
  return value.r !== undefined && value.re !== undefined && value.re > now;
}

function cachedToken(value: SealedToken): CachedToken {
  return {
    token: value.t,
    expiresAt: value.e,
    ...(value.x ? { extra: { ...value.x } } : {}),
    ...(value.re !== undefined ? { refreshExpiresAt: value.re } : {}),
  };
}
