// Cached auth tokens per (workspace, externalId, user, component): sealed at rest, never returned past their expiry.
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
}

/** Which components have a live token, and until when: never the values. */
export interface CachedTokenInfo {
  component: string;
  expiresAt: number;
}

/**
 * The token cache. Implemented by `RedisTokenStore`. A token past its expiry is never
 * returned, even when the store has not evicted it yet.
 */
export interface TokenStore {
  get(scope: TokenScope, component: string): Promise<CachedToken | undefined>;
  /** Stores (or replaces) a token; returns its absolute expiry. */
  put(scope: TokenScope, component: string, token: NewToken): Promise<{ expiresAt: number }>;
  /** Returns whether a token was there. */
  revoke(scope: TokenScope, component: string): Promise<boolean>;
  /** Returns how many tokens were revoked. */
  revokeAll(scope: TokenScope): Promise<number>;
  list(scope: TokenScope): Promise<CachedTokenInfo[]>;
}

export class TokenTtlError extends Error {
  override readonly name = 'TokenTtlError';
}

/** Store the sealed token with its lifetime as TTL and note its expiry in the scope's index. */
const PUT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1`;

/** Remove one token and its index entry. */
const REVOKE = `
local n = redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return n`;

const scripts = {
  put: new Script<
    [token: string, index: string, sealed: string, ttlMs: number, component: string, expiresAt: number],
    number
  >(2, PUT),
  revoke: new Script<[token: string, index: string, component: string], number>(2, REVOKE),
};

interface SealedToken {
  t: string;
  e: number;
  x?: Record<string, string>;
}

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
    const found = await this.read(scope, component);
    this.options.metrics?.tokenCache.inc({ result: found ? 'hit' : 'miss' });
    return found;
  }

  private async read(scope: TokenScope, component: string): Promise<CachedToken | undefined> {
    const key = this.keys.token(scope, component);
    const sealed = await this.redis.get(key);
    if (sealed === null) return undefined;
    const { plain } = await this.resealer.open({ key }, sealed, places.token(scope, component));
    // Sealed under a key we no longer hold, or for another user: the token is as good as missing.
    if (plain === undefined) return undefined;
    let value: SealedToken;
    try {
      value = JSON.parse(plain) as SealedToken;
    } catch {
      return undefined;
    }
    if (typeof value.t !== 'string' || typeof value.e !== 'number' || value.e <= this.now()) return undefined;
    return { token: value.t, expiresAt: value.e, ...(value.x ? { extra: { ...value.x } } : {}) };
  }

  async put(scope: TokenScope, component: string, token: NewToken): Promise<{ expiresAt: number }> {
    if (!Number.isFinite(token.ttlSeconds) || token.ttlSeconds <= 0) {
      throw new TokenTtlError(`a token's ttl must be a positive number of seconds, got ${token.ttlSeconds}`);
    }
    const ttlMs = Math.ceil(token.ttlSeconds * 1000);
    const expiresAt = this.now() + ttlMs;
    const value: SealedToken = { t: token.token, e: expiresAt, ...(token.extra ? { x: token.extra } : {}) };
    await scripts.put.run(
      this.redis,
      this.keys.token(scope, component),
      this.keys.tokenIndex(scope),
      this.cipher.seal(JSON.stringify(value), places.token(scope, component)),
      ttlMs,
      component,
      expiresAt,
    );
    return { expiresAt };
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

  async list(scope: TokenScope): Promise<CachedTokenInfo[]> {
    const components = (await this.redis.hkeys(this.keys.tokenIndex(scope))).sort();
    const found: CachedTokenInfo[] = [];
    // Opened (not just indexed) so that a token `get` would not return is not listed either.
    for (const component of components) {
      const token = await this.read(scope, component);
      if (token) found.push({ component, expiresAt: token.expiresAt });
    }
    return found;
  }
}
