// Which queued operator events name a user or a channel identity: the index erasure follows.
import type { Connection } from './connections.js';
import type { IdentityKeys, UserScope } from './identity-keys.js';

/**
 * How long an event job can name a user: delivery is tried for a day, a given-up event is kept a week.
 * The per-user index of event ids keeps entries as long, then forgets them.
 */
const EVENT_INDEX_MS = 8 * 86_400_000;

/** Whom an event names: a user (an anonymous user id is its identity's hash) and channel identities. */
export interface EventSubject {
  workspace: string;
  scope?: UserScope | undefined;
  identities: readonly string[];
}

export class EventIndex {
  constructor(
    private readonly connection: Connection,
    private readonly keys: IdentityKeys,
    /** The prefix anonymous user ids carry before their identity's hash. */
    private readonly anonymousPrefix: string,
  ) {}

  /** Notes the event's id under the user and the identities it names, each list trimmed to what may still exist. */
  async file(subject: EventSubject, id: string, now: number): Promise<void> {
    await Promise.all(
      this.indexKeys(subject).map((key) =>
        this.connection
          .multi()
          .zadd(key, now, id)
          .zremrangebyscore(key, '-inf', String(now - EVENT_INDEX_MS))
          .pexpire(key, EVENT_INDEX_MS)
          .exec(),
      ),
    );
  }

  /** The ids filed under the subject, read and dropped at once: an event filed in between is not lost unread. */
  async take(subject: EventSubject): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const key of this.indexKeys(subject)) {
      const [[, listed]] = (await this.connection.multi().zrange(key, '0', '-1').del(key).exec()) as [
        [Error | null, string[]],
      ];
      for (const id of listed ?? []) ids.add(id);
    }
    return ids;
  }

  private indexKeys({ workspace, scope, identities }: EventSubject): string[] {
    const keys = new Set<string>();
    if (scope?.userId.startsWith(this.anonymousPrefix))
      keys.add(this.keys.identityEvents(scope.userId.slice(this.anonymousPrefix.length)));
    else if (scope) keys.add(this.keys.userEvents(scope));
    for (const identity of identities)
      keys.add(this.keys.identityEvents(this.keys.identityHash(workspace, identity)));
    return [...keys];
  }
}
