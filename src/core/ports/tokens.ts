// The port to the tokens auth components issued, cached per user and component.

export interface CachedToken {
  token: string;
  /** Absolute expiry, ms since the epoch. */
  expiresAt: number;
  /** Values later requests may use (a verify component's auth_id, auth_code): sealed at rest like the token. */
  extra?: Record<string, string>;
  /** When the cached record holds a refresh token: its absolute expiry (ms). The value never leaves the store's side. */
  refreshExpiresAt?: number;
}

/** A refresh as the turn sees it: new tokens, a refused refresh token (sign in again), or a service away. */
export type RefreshResult =
  | { result: 'refreshed'; token: CachedToken }
  | { result: 'refused' }
  | { result: 'unavailable' }
  /** Nothing to refresh with: no record, or a record without a refresh token. */
  | { result: 'none' };

/** Implemented by `src/turn/turn-services.ts` over the token store. */
export interface TokensPort {
  token(component: string): Promise<CachedToken | undefined>;
  storeToken(
    component: string,
    userId: string,
    token: Omit<CachedToken, 'expiresAt' | 'refreshExpiresAt'> & {
      ttlSeconds: number;
      refreshToken?: string;
      refreshTtlSeconds?: number;
    },
  ): Promise<void>;
  /**
   * The user's token of the component when it is live and not about to expire; else refreshes it (once
   * across every worker: concurrent turns wait for the one refresh and get its result) when the record
   * holds a refresh token. `force`: refresh even though the token looks live (the API answered 401).
   */
  refreshToken(component: string, opts?: { force?: boolean }): Promise<RefreshResult>;
  /** Forgets the token (and revokes it at the provider when its method can). */
  revokeToken(component: string): Promise<void>;
  /** Revokes every cached token of the user; returns how many there were. */
  logout(): Promise<number>;
}
