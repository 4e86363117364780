// Refreshing a user's token of a component once across every worker: one holds the lock and calls the
// provider, the others wait for the record it stores and use that.
import type { RefreshOutcome } from '../auth/index.js';
import type { Clock } from '../core/ports/clock.js';
import type { CachedToken, RefreshResult } from '../core/ports/tokens.js';
import type { HeldLock } from '../store/refresh-lock.js';
import type { NewToken, RefreshableRecord, StoredExpiry } from '../store/token-store.js';

/** A token closer than this to its expiry is refreshed before it is used (a request takes time). */
export const REFRESH_MARGIN_MS = 30_000;
/** How often a waiting turn looks at the lock and the record. */
export const REFRESH_POLL_MS = 50;

/** One user's record of one component, and its refresh lock, as the refresh needs them. */
export interface TokenRecord {
  /** The record and its live refresh token, or undefined (no record, or no live refresh token). */
  refreshable(): Promise<RefreshableRecord | undefined>;
  /** The access token when live (the record without a refresh token is read this way). */
  live(): Promise<CachedToken | undefined>;
  rotate(version: string, token: NewToken): Promise<StoredExpiry | 'stale'>;
  /** Deletes the record when it is still `version`. */
  drop(version: string): Promise<boolean>;
  acquire(leaseMs: number): Promise<HeldLock | undefined>;
  held(): Promise<boolean>;
}

export interface TokenRefreshDeps {
  record: TokenRecord;
  clock: Clock;
  /** The method's refresh (`refreshTokens`): the one provider call. */
  refresh(refreshToken: string): Promise<RefreshOutcome>;
  /** How long the provider call may take (the component's timeout): the lease, and how long others wait. */
  timeoutMs: number;
  /** Called once per provider call, with its result and, when it failed, why (metrics, logs; never a token). */
  observe?(result: RefreshOutcome['result'], reason?: string): void;
}

export interface RefreshRequest {
  /** Refresh even though the token looks live: the API refused it. */
  force?: boolean;
  /** The token the API refused: a record holding another live token was refreshed by someone else. */
  rejected?: string | undefined;
}

/**
 * The live token, refreshed when it is expired, about to expire, or (`force`) refused. Exactly one turn
 * across every worker calls the provider for one user and component at a time; the rest wait for the
 * lock to be given back and use what it stored, never calling the provider themselves.
 */
export async function refreshUserToken(
  deps: TokenRefreshDeps,
  request: RefreshRequest,
): Promise<RefreshResult> {
  const { record, clock } = deps;
  /** The token is good to use: live past the margin, and (forced) not the one the API refused. */
  const usable = (token: CachedToken) =>
    token.expiresAt - clock.now() > (request.force ? 0 : REFRESH_MARGIN_MS) &&
    !(request.force && request.rejected !== undefined && token.token === request.rejected);
  const first = await record.refreshable();
  if (!first) return noRefreshToken(record, request);
  if (usable(first.token) && !(request.force && request.rejected === undefined))
    return { result: 'refreshed', token: first.token };

  const leaseMs = deps.timeoutMs + 5_000;
  const lock = await record.acquire(leaseMs);
  if (lock) {
    try {
      return await asHolder(deps, usable, first.version, request);
    } finally {
      await lock.release();
    }
  }
  return asWaiter(deps, usable, first, leaseMs);
}

/** No refresh token: the live token when there is one (it may be close to expiry), else nothing. */
async function noRefreshToken(record: TokenRecord, request: RefreshRequest): Promise<RefreshResult> {
  if (request.force) return { result: 'none' };
  const live = await record.live();
  return live ? { result: 'refreshed', token: live } : { result: 'none' };
}

async function asHolder(
  deps: TokenRefreshDeps,
  usable: (token: CachedToken) => boolean,
  firstVersion: string,
  request: RefreshRequest,
): Promise<RefreshResult> {
  const { record } = deps;
  // Read again under the lock: another worker may have refreshed between the first read and the lock.
  const current = await record.refreshable();
  if (!current) {
    // Gone (logged out, refused elsewhere) or replaced by a sign-in without a refresh token.
    const live = await record.live();
    return live && usable(live) ? { result: 'refreshed', token: live } : { result: 'refused' };
  }
  const changed = current.version !== firstVersion;
  if (usable(current.token) && (changed || !(request.force && request.rejected === undefined)))
    return { result: 'refreshed', token: current.token };
  const outcome = await deps.refresh(current.refreshToken);
  deps.observe?.(outcome.result, outcome.result === 'success' ? undefined : outcome.reason);
  if (outcome.result === 'refused') {
    await record.drop(current.version);
    return { result: 'refused' };
  }
  if (outcome.result === 'unavailable') return { result: 'unavailable' };
  // A provider that does not rotate sends no refresh token: the one we have stays, with its own expiry.
  const rotated = outcome.refreshToken !== undefined;
  const refreshTtlSeconds = rotated
    ? outcome.refreshTtlSeconds
    : Math.max(0.001, (current.refreshExpiresAt - deps.clock.now()) / 1000);
  const extra = outcome.extra ?? current.token.extra;
  const next: NewToken = {
    token: outcome.accessToken,
    ttlSeconds: outcome.ttlSeconds,
    refreshToken: outcome.refreshToken ?? current.refreshToken,
    ...(refreshTtlSeconds !== undefined ? { refreshTtlSeconds } : {}),
    ...(extra ? { extra } : {}),
  };
  const stored = await record.rotate(current.version, next);
  if (stored === 'stale') {
    // Replaced while we refreshed (a new sign-in): what is there now is newer than what we hold.
    const now = await record.live();
    return now ? { result: 'refreshed', token: now } : { result: 'refused' };
  }
  return {
    result: 'refreshed',
    token: {
      token: next.token,
      expiresAt: stored.expiresAt,
      ...(extra ? { extra } : {}),
      ...(stored.refreshExpiresAt !== undefined ? { refreshExpiresAt: stored.refreshExpiresAt } : {}),
    },
  };
}

/**
 * Waits for the holder: until the record changes (its result), the record is gone (the refresh token was
 * refused), or the lock is given back with nothing new (the provider was unavailable to the holder).
 */
async function asWaiter(
  deps: TokenRefreshDeps,
  usable: (token: CachedToken) => boolean,
  first: RefreshableRecord,
  leaseMs: number,
): Promise<RefreshResult> {
  const { record, clock } = deps;
  const deadline = clock.now() + leaseMs;
  for (;;) {
    await clock.sleep(REFRESH_POLL_MS);
    const held = await record.held();
    const current = await record.refreshable();
    if (!current) {
      const live = await record.live();
      return live && usable(live) ? { result: 'refreshed', token: live } : { result: 'refused' };
    }
    if (current.version !== first.version && usable(current.token))
      return { result: 'refreshed', token: current.token };
    if (!held || clock.now() >= deadline) return { result: 'unavailable' };
  }
}
