// The SIDs of the WhatsApp content resources (quick-reply buttons, list pickers) Twilio created for
// `choose` questions: each distinct one is created once and reused, from any worker.
import type { Connection } from './connections.js';
import type { Keys } from './keys.js';

/**
 * Seconds a content SID is remembered. Twilio keeps a content resource until it is deleted, so this only
 * bounds what Redis keeps for prompts that are rendered per user (a name in the prompt): one that is not
 * used for 30 days is forgotten, and created again (once) if it comes back.
 */
export const CONTENT_SID_TTL = 30 * 86_400;
/** Content SIDs each process also keeps in memory, so a menu asked again costs no Redis round trip. */
const MEMORY_CAP = 1000;

export class ContentSidStore {
  private readonly memory = new Map<string, string>();

  constructor(
    private readonly redis: Connection,
    private readonly keys: Keys,
  ) {}

  /** The SID of the content resource `content` (a canonical description of it) for one account. */
  async get(accountSid: string, content: string): Promise<string | undefined> {
    const key = this.keys.contentSid(accountSid, content);
    const known = this.memory.get(key);
    if (known) return known;
    const sid = await this.redis.getex(key, 'EX', CONTENT_SID_TTL);
    if (sid) this.remember(key, sid);
    return sid ?? undefined;
  }

  async set(accountSid: string, content: string, sid: string): Promise<void> {
    const key = this.keys.contentSid(accountSid, content);
    await this.redis.set(key, sid, 'EX', CONTENT_SID_TTL);
    this.remember(key, sid);
  }

  /** Forgets a SID Twilio no longer knows (the resource was deleted there). */
  async forget(accountSid: string, content: string): Promise<void> {
    const key = this.keys.contentSid(accountSid, content);
    this.memory.delete(key);
    await this.redis.del(key);
  }

  private remember(key: string, sid: string): void {
    if (this.memory.size >= MEMORY_CAP) this.memory.delete(this.memory.keys().next().value!);
    this.memory.set(key, sid);
  }
}
