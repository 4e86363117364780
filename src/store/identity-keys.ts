// Redis key names for users, channel identities, tokens, link codes, API rate limits and operator events.
import { createHash } from 'node:crypto';
import { Keys } from './keys.js';

/** The user partition SPEC 1 calls (workspace, externalId, user): the same user id in two externalIds is two users. */
export interface UserScope {
  workspace: string;
  externalId?: string | undefined;
  userId: string;
}

function digest(...parts: string[]): string {
  // NUL cannot appear in a workspace id or a channel identity, so the parts cannot run into each other.
  return createHash('sha256').update(parts.join('\0')).digest('base64url').slice(0, 22);
}

/** A stable, opaque id for a user scope: user ids and externalIds may be e-mail addresses, so they stay out of key names. */
export function scopeHash(scope: UserScope): string {
  const external = scope.externalId === undefined ? '-' : `=${scope.externalId}`;
  return digest('user', scope.workspace, external, scope.userId);
}

/** A stable, opaque id for a channel identity within a workspace (no phone number in key names). */
export function identityHash(workspace: string, identity: string): string {
  return digest('identity', workspace, identity);
}

/**
 * Key names for identity data. Everything about one user carries the user's scope hash as a Redis
 * Cluster hash tag, and everything about one channel identity carries the identity's hash, so the
 * scripts that touch several keys of one user (or one identity) run on one node.
 */
export class IdentityKeys {
  readonly prefix: string;

  constructor(keys: Keys | string) {
    this.prefix = typeof keys === 'string' ? keys : keys.prefix;
  }

  private user(scope: UserScope): string {
    return `${this.prefix}:u:{${scopeHash(scope)}}`;
  }

  /** A verified user's profile (sealed JSON). Its existence is the user's existence. */
  userProfile(scope: UserScope): string {
    return `${this.user(scope)}:profile`;
  }

  /** A verified user's channel identities: identity hash → sealed binding record. */
  userIdentities(scope: UserScope): string {
    return `${this.user(scope)}:ids`;
  }

  /** One cached token (sealed JSON with its absolute expiry); Redis TTL = the token's lifetime. */
  token(scope: UserScope, component: string): string {
    return `${this.user(scope)}:tok:${component}`;
  }

  /** Which components have a token and until when (ms): lets `list` work without reading values. */
  tokenIndex(scope: UserScope): string {
    return `${this.user(scope)}:toks`;
  }

  /** A verified user's history, newest first, each entry sealed, capped. */
  userHistory(scope: UserScope): string {
    return `${this.user(scope)}:hist`;
  }

  /** Key names of the link codes issued for a user, so erasure can void them. */
  userLinkCodes(scope: UserScope): string {
    return `${this.user(scope)}:codes`;
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

  /** A link code, by the hash of (workspace, code): the code itself is a secret and never a key. */
  linkCode(workspace: string, code: string): string {
    return `${this.prefix}:lc:{${digest('link', workspace, code)}}`;
  }

  /** Wrong link codes received by a whole workspace in the current window, and its pause (if tripped). */
  linkCodeWorkspaceFailures(workspace: string): string {
    return `${this.prefix}:lcw:{${digest('link-workspace', workspace)}}`;
  }

  /** Failed logins for one typed account id of one auth component, whichever identities typed it. */
  accountLockout(workspace: string, component: string, accountId: string): string {
    return `${this.prefix}:acct:{${digest('account', workspace, component, accountId)}}`;
  }

  /** Requests of one operator API key in one fixed window (the key is hashed). */
  apiRateLimit(apiKeyHash: string, window: number): string {
    return `${this.prefix}:rl:{${apiKeyHash}}:${window}`;
  }

  /** BullMQ prefix of the operator events queue (with its own hash tag). */
  eventsQueuePrefix(): string {
    return `${this.prefix}:{events}`;
  }
}
