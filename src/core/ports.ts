// What the dialog engine needs from the world, as interfaces; the runtime binds them to Redis and HTTP per turn.
import type { AuthComponent } from '../config/index.js';
import type { OutboundRequest, OutboundResponse } from '../net/outbound.js';

export type Tier = 'anonymous' | 'unverified' | 'verified';

/** Who is behind the conversation's channel identity, as the engine and templates see them. */
export interface UserView {
  id: string;
  tier: Tier;
  externalId?: string;
  name?: string;
  email?: string;
}

export interface CachedToken {
  token: string;
  /** Absolute expiry (ms). */
  expiresAt: number;
  /** Values an auth component makes available to later requests (a verify component's auth_id, auth_code). */
  extra?: Record<string, string>;
}

/** The result of calling an auth component with the credentials the user gave. */
export type AuthOutcome =
  | { result: 'success'; token: string; ttlSeconds: number; userId: string; extra?: Record<string, string> }
  | {
      result: 'wrong_credentials';
      /** Seconds the typed account is now locked, when this failure locked it (whoever tries next). */
      accountLockedSeconds?: number;
    }
  | { result: 'unavailable'; reason: string }
  /** The typed account is locked: no auth call was made. */
  | { result: 'locked'; seconds: number };

export type LinkOutcome =
  | { ok: true; user: UserView }
  | { ok: false; reason: 'invalid' | 'expired' }
  /** Too many wrong codes (from this identity, or the whole workspace): try again in this many seconds. */
  | { ok: false; reason: 'rate_limited'; retryInSeconds?: number };

export type OperatorEventType =
  | 'conversation.started'
  | 'conversation.ended'
  | 'user.verified'
  | 'auth.failed'
  | 'user.locked'
  | 'user.opted_out'
  | 'user.opted_in'
  | 'message.failed'
  | 'link_codes.locked';

/**
 * Everything a turn may do outside the engine, bound to one conversation (workspace, bot, channel
 * identity). Implemented by `src/runtime/turn-services.ts`.
 */
export interface DialogServices {
  /** Calls an operator API (only the workspace's allowed hosts; see `src/net/outbound.ts`). */
  http(request: Omit<OutboundRequest, 'allowHosts'>): Promise<OutboundResponse>;
  /** The user behind this channel identity. */
  user(): Promise<UserView>;
  /** Binds this identity to a verified user (after a successful auth step). */
  markVerified(userId: string, component: string): Promise<UserView>;
  /** Stores a name and email the user typed, as unverified. */
  saveProfile(profile: { name?: string; email?: string }): Promise<void>;
  redeemLinkCode(code: string): Promise<LinkOutcome>;
  /** Revokes every cached token of the user; returns how many there were. */
  logout(): Promise<number>;
  whoAmI(): Promise<string>;
  token(component: string): Promise<CachedToken | undefined>;
  storeToken(
    component: string,
    userId: string,
    token: Omit<CachedToken, 'expiresAt'> & { ttlSeconds: number },
  ): Promise<void>;
  revokeToken(component: string): Promise<void>;
  /** Seconds left of a lockout of this identity for the component, or 0. */
  lockedFor(component: string): Promise<number>;
  /** Records a failed login; returns the lockout in seconds when this failure locked the identity. */
  recordFailure(component: AuthComponent, name: string): Promise<number>;
  clearFailures(component: string): Promise<void>;
  /** Calls the component named `name` (unless the typed account is locked). */
  authenticate(component: AuthComponent, fields: Record<string, string>, name: string): Promise<AuthOutcome>;
  emit(type: OperatorEventType, data?: Record<string, unknown>, userId?: string): void;
  /** Tells the operator (through the log) about a problem of the bot's configuration met at run time. */
  report(problem: string): void;
}
