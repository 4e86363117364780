// The port to users: who is behind a channel identity, their profile, linking by code.

/** How far the user behind an identity is known, lowest first. */
export const TIERS = ['anonymous', 'unverified', 'verified'] as const;
export type Tier = (typeof TIERS)[number];

/** Who is behind the conversation's channel identity, as the engine and templates see them. */
export interface UserView {
  id: string;
  tier: Tier;
  externalId?: string;
  name?: string;
  email?: string;
}

export type LinkOutcome =
  | { ok: true; user: UserView }
  | { ok: false; reason: 'invalid' | 'expired' }
  /** Too many wrong codes (from this identity, or the whole workspace): try again in this many seconds. */
  | { ok: false; reason: 'rate_limited'; retryInSeconds?: number };

/**
 * `markVerified`'s answer when the identity belongs to another verified user and the workspace forbids
 * moving it (`identityMoves: forbid`): nothing changed, and the login must be refused.
 */
export interface MoveForbidden {
  moved: 'forbidden';
}

/** Implemented by `src/turn/turn-services.ts` over the identity services. */
export interface UsersPort {
  /** The user behind this channel identity. */
  user(): Promise<UserView>;
  /** Binds this identity to a verified user (after a successful auth step), or says the move is forbidden. */
  markVerified(userId: string, component: string): Promise<UserView | MoveForbidden>;
  /** Stores a name and email the user typed, as unverified. */
  saveProfile(profile: { name?: string; email?: string }): Promise<void>;
  redeemLinkCode(code: string): Promise<LinkOutcome>;
  whoAmI(): Promise<string>;
}
