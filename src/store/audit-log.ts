// The audit log of a workspace: every change made through the operator API, who made it, on whom; no secret.
import type { Connection } from './connections.js';
import type { DataCipher } from './cipher.js';
import type { IdentityKeys, UserScope } from './identity-keys.js';
import type { Keys } from './keys.js';
import { places } from './places.js';

/** Entries kept per workspace (the stream is trimmed to about this many). */
export const AUDIT_LOG_CAP = 10_000;
/** How long an entry is kept at most (ms): older ones are trimmed as new ones are written. */
export const AUDIT_LOG_RETENTION_MS = 90 * 86_400_000;

export type AuditAction =
  | 'user.register'
  | 'user.erase'
  | 'token.renew'
  | 'token.revoke'
  | 'link-code.create'
  | 'lockout.clear'
  | 'opt-out.clear'
  | 'dead-letter.replay'
  | 'message.send'
  | 'conversation.start'
  | 'conversation.message'
  | 'conversation.resume';

/** Whom or what a change was done to; never a value (a token, a code, a typed account id). */
export interface AuditTarget {
  /** The user, as a stable opaque reference: the same user has the same one in every entry. */
  user?: string;
  /** Who that user is, while the user exists: erasure forgets it, the entries stay. */
  userId?: string;
  externalId?: string;
  component?: string;
  bot?: string;
  deadLetter?: string;
  conversation?: string;
  /** A proactive message's id. */
  message?: string;
}

/** One change, as recorded. */
export interface AuditEntry {
  action: AuditAction;
  /** The API key's fingerprint (see `keyFingerprint`), never the key. */
  key: string;
  at: number;
  target: AuditTarget;
}

export interface StoredAuditEntry extends AuditEntry {
  /** The stream entry id: the cursor of the listing. */
  id: string;
}

interface SealedName {
  u: string;
  x?: string;
}

/**
 * A Redis stream per workspace (`Keys.auditLog`), capped in count and age. A user is named in an entry by
 * a keyed hash of their scope; who that is (user id and externalId, which may be e-mail addresses) is
 * sealed beside it, once per user, so erasing the user forgets it without rewriting the log.
 */
export class AuditLog {
  constructor(
    private readonly redis: Connection,
    private readonly keys: Keys,
    private readonly identityKeys: IdentityKeys,
    private readonly cipher: DataCipher,
  ) {}

  /** Records a change; `scope` is the user it was done to, if any. */
  async record(
    workspace: string,
    entry: Omit<AuditEntry, 'target'> & { target: Omit<AuditTarget, 'user' | 'userId' | 'externalId'> },
    scope?: UserScope,
  ): Promise<void> {
    const key = this.keys.auditLog(workspace);
    const names = this.keys.auditLogNames(workspace);
    const user = scope ? this.identityKeys.scopeHash(scope) : undefined;
    const stored = { ...entry, target: { ...(user ? { user } : {}), ...entry.target } };
    // Stream ids are Redis's own time: the age trim follows it, whatever clock the entry's `at` came from.
    const time = await this.redis.time();
    const oldest = Number(time[0]) * 1000 - AUDIT_LOG_RETENTION_MS;
    const write = this.redis
      .multi()
      .xadd(key, 'MAXLEN', '~', AUDIT_LOG_CAP, '*', 'e', JSON.stringify(stored))
      .xtrim(key, 'MINID', '~', String(Math.max(0, oldest)))
      .pexpire(key, AUDIT_LOG_RETENTION_MS)
      .pexpire(names, AUDIT_LOG_RETENTION_MS);
    if (scope && user) {
      const name: SealedName = { u: scope.userId, ...(scope.externalId ? { x: scope.externalId } : {}) };
      write.hset(names, user, this.cipher.seal(JSON.stringify(name), places.auditName(workspace, user)));
    }
    await write.exec();
  }

  /** Forgets who a user was (the user is erased): their entries keep only the opaque reference. */
  async forgetUser(scope: UserScope): Promise<void> {
    await this.redis.hdel(this.keys.auditLogNames(scope.workspace), this.identityKeys.scopeHash(scope));
  }

  /** Newest first; `before` is the id of the last entry of the previous page. */
  async list(
    workspace: string,
    options: { limit: number; before?: string },
  ): Promise<{ entries: StoredAuditEntry[]; more: boolean }> {
    const key = this.keys.auditLog(workspace);
    const end = options.before ? `(${options.before}` : '+';
    const rows = (await this.redis.xrevrange(key, end, '-', 'COUNT', options.limit + 1)) as [
      string,
      string[],
    ][];
    const entries: StoredAuditEntry[] = [];
    for (const [id, fields] of rows.slice(0, options.limit)) {
      try {
        entries.push({ id, ...(JSON.parse(fields[fields.indexOf('e') + 1] ?? '') as AuditEntry) });
      } catch {
        // An entry that does not read is skipped: the log is for people, a broken line helps no one.
      }
    }
    const users = [...new Set(entries.flatMap((e) => (e.target.user ? [e.target.user] : [])))];
    if (users.length > 0) {
      const sealed = await this.redis.hmget(this.keys.auditLogNames(workspace), ...users);
      const named = new Map<string, SealedName>();
      users.forEach((user, i) => {
        const plain = sealed[i] ? this.cipher.open(sealed[i], places.auditName(workspace, user)) : undefined;
        if (plain) named.set(user, JSON.parse(plain) as SealedName);
      });
      for (const entry of entries) {
        const name = entry.target.user ? named.get(entry.target.user) : undefined;
        if (name)
          entry.target = { ...entry.target, userId: name.u, ...(name.x ? { externalId: name.x } : {}) };
      }
    }
    return { entries, more: rows.length > options.limit };
  }
}
