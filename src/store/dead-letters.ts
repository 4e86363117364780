// Dead letters as the operator sees them: listed per workspace, newest first, and taken back for a replay.
import { createHash } from 'node:crypto';
import type { Connection } from './connections.js';
import type { ConversationStore } from './conversation-store.js';

/** A dead-lettered turn without its event: what the operator API shows. */
export interface DeadLetterView {
  id: string;
  cid: string;
  botId: string | null;
  eventId: string;
  reason: string;
  at: number;
}

/** Where a listing resumes: after this entry (time, then id, descending). */
export interface DeadLetterCursor {
  at: number;
  id: string;
}

interface StoredDeadLetter {
  id?: string;
  ws?: string;
  bot?: string;
  cid: string;
  eventId: string;
  reason: string;
  at: number;
  sealedEvent: string;
}

interface Entry {
  raw: string;
  stored: StoredDeadLetter;
  id: string;
  workspace: string | undefined;
  botId: string | undefined;
}

/**
 * The dead-letter list (`Keys.deadLetters`, capped by `ConversationStore.deadLetter`). Entries written
 * before they carried an id and a workspace are still listed: their id is a hash of the entry, and their
 * workspace the one of the bot their sealed event names (an event that no longer opens has none, and is
 * listed nowhere).
 */
export class DeadLetters {
  constructor(
    private readonly redis: Connection,
    private readonly conversations: ConversationStore,
    /** The workspace of a bot of the running configuration. */
    private readonly workspaceOf: (botId: string) => string | undefined,
  ) {}

  /** A page of the workspace's dead letters, newest first, after `cursor`. */
  async list(
    workspace: string,
    options: { limit: number; cursor?: DeadLetterCursor },
  ): Promise<{ deadLetters: DeadLetterView[]; more: boolean }> {
    const after = options.cursor;
    const ours = (await this.entries(workspace))
      .filter((e) => !after || e.stored.at < after.at || (e.stored.at === after.at && e.id < after.id))
      .sort((a, b) => b.stored.at - a.stored.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return {
      deadLetters: ours.slice(0, options.limit).map(view),
      more: ours.length > options.limit,
    };
  }

  /**
   * Takes a dead letter out of the list and puts its event back at the tail of its conversation's inbox;
   * the caller kicks the conversation. Undefined when this workspace has no such dead letter (or another
   * replay took it first). Should the inbox write fail, the dead letter is put back before the error goes on.
   */
  async replay(workspace: string, id: string): Promise<DeadLetterView | undefined> {
    const entry = (await this.entries(workspace)).find((e) => e.id === id);
    if (!entry) return undefined;
    const key = this.conversations.keys.deadLetters();
    // The list and the inbox are in different slots on a cluster: removing first makes two replays one.
    if ((await this.redis.lrem(key, 1, entry.raw)) === 0) return undefined;
    try {
      await this.conversations.requeue(entry.stored.cid, entry.stored.sealedEvent, entry.stored.eventId);
    } catch (error) {
      await this.redis.lpush(key, entry.raw).catch(() => undefined);
      throw error;
    }
    return view(entry);
  }

  private async entries(workspace: string): Promise<Entry[]> {
    const raw = await this.redis.lrange(this.conversations.keys.deadLetters(), 0, -1);
    const entries: Entry[] = [];
    for (const item of raw) {
      const stored = parse(item);
      if (!stored) continue;
      let botId = stored.bot;
      if (stored.ws === undefined && botId === undefined) {
        botId = this.conversations.openEvent(stored.cid, stored.sealedEvent)?.botId;
      }
      const ws = stored.ws ?? (botId !== undefined ? this.workspaceOf(botId) : undefined);
      if (ws !== workspace) continue;
      const id = stored.id ?? `legacy-${createHash('sha256').update(item).digest('base64url').slice(0, 16)}`;
      entries.push({ raw: item, stored, id, workspace: ws, botId });
    }
    return entries;
  }
}

function view(entry: Entry): DeadLetterView {
  return {
    id: entry.id,
    cid: entry.stored.cid,
    botId: entry.botId ?? null,
    eventId: entry.stored.eventId,
    reason: entry.stored.reason,
    at: entry.stored.at,
  };
}

function parse(item: string): StoredDeadLetter | undefined {
  try {
    const value = JSON.parse(item) as Partial<StoredDeadLetter>;
    if (
      typeof value.cid !== 'string' ||
      typeof value.eventId !== 'string' ||
      typeof value.sealedEvent !== 'string' ||
      typeof value.at !== 'number'
    )
      return undefined;
    return { ...value, reason: typeof value.reason === 'string' ? value.reason : '' } as StoredDeadLetter;
  } catch {
    return undefined;
  }
}
