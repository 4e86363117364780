// The port to the tokens auth components issued, cached per user and component.

export interface CachedToken {
  token: string;
  /** Absolute expiry, ms since the epoch. */
  expiresAt: number;
  /** Values later requests may use (a verify component's auth_id, auth_code): sealed at rest like the token. */
  extra?: Record<string, string>;
}

/** Implemented by `src/turn/turn-services.ts` over the token store. */
export interface TokensPort {
  token(component: string): Promise<CachedToken | undefined>;
  storeToken(
    component: string,
    userId: string,
    token: Omit<CachedToken, 'expiresAt'> & { ttlSeconds: number },
  ): Promise<void>;
  revokeToken(component: string): Promise<void>;
  /** Revokes every cached token of the user; returns how many there were. */
  logout(): Promise<number>;
}
