// The identity model: tiers, resolved users, profiles and history entries as plain data.
import type { Channel } from '../core/events.js';
import type { Tier } from '../core/ports/users.js';

export type { Tier };

/** How an identity came to belong to a verified user. */
export type VerifiedVia = 'auth' | 'link' | 'operator';

/** Operator-supplied data about a user: flat, so templates can read `user.customData.plan`. */
export type CustomData = Record<string, string | number | boolean | null>;

/** Prefix of the derived user id of an anonymous or unverified identity. */
export const ANONYMOUS_PREFIX = 'anon:';

/** Who is behind a channel identity right now, as the dialog engine and templates see it. */
export interface ResolvedUser {
  workspace: string;
  /** A verified user's id, or `anon:<hash>` (stable per workspace and identity) below that tier. */
  userId: string;
  externalId?: string;
  tier: Tier;
  /** Verified: the operator's (or link code's) data. Unverified: what the user told a `profile` step. */
  name?: string;
  email?: string;
  customData?: CustomData;
  /** The channel identity this answer is for, e.g. `sms:+15551234567`. */
  identity: string;
  channel: Channel;
}

export interface HistoryEntry {
  direction: 'in' | 'out';
  channel: Channel;
  /** Stored as `[redacted]` when `secret` is set: a secret answer never rests in history. */
  text: string;
  /** ms since the epoch. */
  at: number;
  secret?: boolean;
}

/** A history entry as read back: which identity it was on (a verified user has several). */
export interface StoredHistoryEntry extends HistoryEntry {
  identity: string;
}

/** One channel identity of a verified user, as the operator API shows it. */
export interface UserIdentityView {
  channel: Channel;
  address: string;
  identity: string;
  /** False for the one identity of an anonymous or unverified user. */
  verified: boolean;
  via?: VerifiedVia;
  verifiedAt?: number;
}

/** Everything the operator API shows about a user (never a token's value). */
export interface OperatorUserView {
  workspace: string;
  userId: string;
  externalId?: string;
  tier: Tier;
  name?: string;
  email?: string;
  customData?: CustomData;
  /** False below the verified tier: the data is what the user claimed, unproven. */
  profileVerified: boolean;
  identities: UserIdentityView[];
  /** `refreshExpiresAt`: when the record holds a refresh token, its expiry (the record lives until then). */
  tokens: { component: string; expiresAt: number; refreshExpiresAt?: number }[];
  createdAt?: number;
  updatedAt?: number;
}

export function channelOfIdentity(identity: string): Channel | undefined {
  const channel = identity.slice(0, identity.indexOf(':'));
  return channel === 'sms' || channel === 'whatsapp' || channel === 'voice' ? channel : undefined;
}

export function addressOfIdentity(identity: string): string {
  return identity.slice(identity.indexOf(':') + 1);
}
