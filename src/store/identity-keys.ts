// Redis key names for users, channel identities, tokens, link codes, API rate limits and operator events.
import { legacyDigest, type KeyNaming } from './key-naming.js';
import { Keys } from './keys.js';

/** The user partition (workspace, externalId, user): the same user id in two externalIds is two users. */
export interface UserScope {
  workspace: string;
  externalId?: string | undefined;
  userId: string;
}

function scopeParts(scope: UserScope): string[] {
  const external = scope.externalId === undefined ? '-' : `=${scope.externalId}`;
  return ['user', scope.workspace, external, scope.userId];
}

/** The unkeyed names of earlier versions, for the start-up migration only (see `migrateLegacyNames`). */
export const legacyHashes = {
  scope: (scope: UserScope): string => legacyDigest(...scopeParts(scope)),
  identity: (workspace: string, identity: string): string => legacyDigest('identity', workspace, identity),
};

/**
 * Key names for identity data. Everything about one user carries the user's scope hash as a Redis
 * Cluster hash tag, and everything about one channel identity carries the identity's hash, so the
 * scripts that touch several keys of one user (or one identity) run on one node.
 */
export class IdentityKeys {
  readonly prefix: string;
  private readonly naming: KeyNaming | undefined;

  /** From a prefix alone only the names without a hash in them work (the events queue's). */
  constructor(keys: Keys | string) {
    this.prefix = typeof keys === 'string' ? keys : keys.prefix;
    this.naming = typeof keys === 'string' ? undefined : keys.naming;
  }

  /** A keyed hash of the parts (see `KeyNaming`): what a key name may carry instead of an id, a number or a code. */
  digest(...parts: string[]): string {
    if (!this.naming) throw new Error('IdentityKeys built from a prefix alone cannot name hashed keys');
    return this.naming.hash(...parts);
  }

  /** A stable, opaque id for a user scope: user ids and externalIds may be e-mail addresses, so they stay out of key names. */
  scopeHash(scope: UserScope): string {
    return this.digest(...scopeParts(scope));
  }

  /**
   * A stable, opaque id for a channel identity within a workspace (no phone number in key names). It is
   * also the anonymous user id's suffix, so it reveals the number to no one without the data key.
   */
  identityHash(workspace: string, identity: string): string {
    return this.digest('identity', workspace, identity);
  }

  /**
   * The names of one user's keys under a scope hash: today's (`scopeHash`), or an old one while the
   * start-up migration moves it.
   */
  userKeysOf(hash: string) {
    const base = `${this.prefix}:u:{${hash}}`;
    return {
      profile: `${base}:profile`,
      identities: `${base}:ids`,
      tokenIndex: `${base}:toks`,
      history: `${base}:hist`,
      linkCodes: `${base}:codes`,
      events: `${base}:ev`,
      token: (component: string) => `${base}:tok:${component}`,
    };
  }

  /** A verified user's profile (sealed JSON). Its existence is the user's existence. */
  userProfile(scope: UserScope): string {
    return this.userKeysOf(this.scopeHash(scope)).profile;
  }

  /** A verified user's channel identities: identity hash → sealed binding record. */
  userIdentities(scope: UserScope): string {
    return this.userKeysOf(this.scopeHash(scope)).identities;
  }

  /** One cached token (sealed JSON with its absolute expiry); Redis TTL = the token's lifetime. */
  token(scope: UserScope, component: string): string {
    return this.userKeysOf(this.scopeHash(scope)).token(component);
  }

  /** Held by the one worker refreshing a user's token of a component (a random holder id, with a PX lease). */
  refreshLock(scope: UserScope, component: string): string {
    return `${this.prefix}:u:{${this.scopeHash(scope)}}:refreshing:${component}`;
  }

  /** Which components have a token and until when (ms): lets `list` work without reading values. */
  tokenIndex(scope: UserScope): string {
    return this.userKeysOf(this.scopeHash(scope)).tokenIndex;
  }

  /** A verified user's history, newest first, each entry sealed, capped. */
  userHistory(scope: UserScope): string {
    return this.userKeysOf(this.scopeHash(scope)).history;
  }

  /** Key names of the link codes issued for a user, so erasure can void them. */
  userLinkCodes(scope: UserScope): string {
    return this.userKeysOf(this.scopeHash(scope)).linkCodes;
  }

  private identity(hash: string): string {
    return `${this.prefix}:i:{${hash}}`;
  }

  /**
   * A channel identity's record (a hash): the identity (sealed), its binding to a verified user, its
   * unverified profile. Named by `identityHash`, which is also the anonymous user id's suffix.
   */
  identityRecord(hash: string): string {
    return this.identity(hash);
  }

  /** An anonymous or unverified identity's own history, newest first, each entry sealed, capped. */
  identityHistory(hash: string): string {
    return `${this.identity(hash)}:hist`;
  }

  /** Failed auth attempts and lockouts of one identity, one hash field per auth component. */
  lockout(hash: string): string {
    return `${this.identity(hash)}:lock`;
  }

  /** Wrong link codes sent by one identity in the current window. */
  linkCodeFailures(hash: string): string {
    return `${this.identity(hash)}:lcf`;
  }

  /** When the window of an identity's link-code tries ends (ms), beside their count. */
  linkCodeFailuresEnd(hash: string): string {
    return `${this.identity(hash)}:lcf:end`;
  }

  /** Ids of the operator event jobs that name a user, scored by when they were queued (for erasure). */
  userEvents(scope: UserScope): string {
    return this.userKeysOf(this.scopeHash(scope)).events;
  }

  /** Ids of the operator event jobs that name a channel identity or its anonymous user (for erasure). */
  identityEvents(hash: string): string {
    return `${this.identity(hash)}:ev`;
  }

  /** A link code, by the keyed hash of (workspace, code): the code itself is a secret and never a key. */
  linkCode(workspace: string, code: string): string {
    return `${this.prefix}:lc:{${this.digest('link', workspace, code)}}`;
  }

  /**
   * The name earlier versions gave a link code (an unkeyed hash): a code issued before the upgrade is
   * still redeemed under it until it expires. Its code cannot be read back from it, so it cannot be moved.
   */
  legacyLinkCode(workspace: string, code: string): string {
    return `${this.prefix}:lc:{${legacyDigest('link', workspace, code)}}`;
  }

  /** Wrong link codes received by a whole workspace in the current window, and its pause (if tripped). */
  linkCodeWorkspaceFailures(workspace: string): string {
    return `${this.prefix}:lcw:{${this.digest('link-workspace', workspace)}}`;
  }

  /** Failed logins for one typed account id of one auth component, whichever identities typed it. */
  accountLockout(workspace: string, component: string, accountId: string): string {
    return `${this.prefix}:acct:{${this.digest('account', workspace, component, accountId)}}`;
  }

  /** Requests of one operator API key in one fixed window (by a keyed hash of the key's hash: a short key is not tried back). */
  apiRateLimit(apiKeyHash: string, window: number): string {
    return `${this.prefix}:rl:{${this.digest('api-key', apiKeyHash)}}:${window}`;
  }

  /** Failed operator API authentications from one client address (or IPv6 /64, keyed hash) in one fixed window. */
  apiAuthFailures(clientAddress: string, window: number): string {
    return `${this.prefix}:af:{${this.digest('api-client', clientAddress)}}:${window}`;
  }

  /** A SCAN pattern matching every link code (for tools and tests; a code's key name is `linkCode`). */
  everyLinkCode(): string {
    return `${this.prefix}:lc:*`;
  }

  /** A SCAN pattern matching every operator API rate-limit window (`apiRateLimit`). */
  everyApiRateLimit(): string {
    return `${this.prefix}:rl:*`;
  }

  /** A SCAN pattern matching every cached token (`token`). */
  everyCachedToken(): string {
    return `${this.prefix}:u:*:tok:*`;
  }

  /** The keyed hash a link code's key name carries (see `linkCode`), or undefined for another key. */
  linkCodeHashOf(key: string): string | undefined {
    return key.startsWith(`${this.prefix}:lc:{`) ? /\{([^}]+)\}$/.exec(key)?.[1] : undefined;
  }

  /** BullMQ prefix of the operator events queue (with its own hash tag). */
  eventsQueuePrefix(): string {
    return `${this.prefix}:{events}`;
  }
}
