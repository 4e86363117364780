// Sandbox mode: per address, the replies the recording sender kept instead of sending and the simulated
// user's own messages (kept by the simulator), in order, in Redis.
import type { Connection } from './connections.js';
import type { Keys } from './keys.js';

/** How long and how many recorded messages are kept per address. */
const OUTBOX_TTL = 86_400;
const OUTBOX_CAP = 500;

export class SandboxOutbox {
  constructor(
    private readonly redis: Connection,
    private readonly keys: Keys,
  ) {}

  /** Keeps one recorded message (JSON) for `to`, dropping the oldest past the cap. */
  async add(to: string, record: string): Promise<void> {
    const key = this.keys.sandboxOutbox(to);
    await this.redis.multi().rpush(key, record).ltrim(key, -OUTBOX_CAP, -1).expire(key, OUTBOX_TTL).exec();
  }

  /** What was recorded for `to`, oldest first. */
  list(to: string): Promise<string[]> {
    return this.redis.lrange(this.keys.sandboxOutbox(to), 0, -1);
  }
}
