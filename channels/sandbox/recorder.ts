// Sandbox mode: replies are recorded in Redis instead of being sent, for the simulator and scripts.
import { randomBytes } from 'node:crypto';
import type { Connection } from '../../src/store/connections.js';
import type { Keys } from '../../src/store/keys.js';
import type { MessageSender, OutboundText } from '../twilio/sender.js';

export interface RecordedMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  at: string;
}

/** How long and how many recorded messages are kept per address. */
const OUTBOX_TTL = 86_400;
const OUTBOX_CAP = 500;

export class SandboxRecorder implements MessageSender {
  constructor(
    private readonly redis: Connection,
    private readonly keys: Keys,
  ) {}

  async send(message: OutboundText): Promise<{ sid: string }> {
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const record: RecordedMessage = {
      sid,
      to: message.to,
      from: message.from,
      body: message.contentSid ? `[template ${message.contentSid}]` : message.body,
      at: new Date().toISOString(),
    };
    const key = this.keys.sandboxOutbox(message.to);
    await this.redis
      .multi()
      .rpush(key, JSON.stringify(record))
      .ltrim(key, -OUTBOX_CAP, -1)
      .expire(key, OUTBOX_TTL)
      .exec();
    return { sid };
  }

  async deleteMessage(): Promise<void> {}

  /** What was sent to an address, oldest first. */
  async list(to: string): Promise<RecordedMessage[]> {
    const raw = await this.redis.lrange(this.keys.sandboxOutbox(to), 0, -1);
    return raw.map((r) => JSON.parse(r) as RecordedMessage);
  }
}
