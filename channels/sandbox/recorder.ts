// Sandbox mode: replies are recorded in Redis instead of being sent, for the simulator and scripts.
import { randomBytes } from 'node:crypto';
import type { SandboxOutbox } from '../../src/store/sandbox-outbox.js';
import type { MessageSender, OutboundChoice, OutboundText } from '../twilio/sender.js';

export interface RecordedMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  at: string;
  /** A `choose` question sent as WhatsApp buttons or a list: what the simulator shows (`body` is its text form). */
  choice?: OutboundChoice;
}

export class SandboxRecorder implements MessageSender {
  constructor(private readonly outbox: SandboxOutbox) {}

  async send(message: OutboundText): Promise<{ sid: string }> {
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const record: RecordedMessage = {
      sid,
      to: message.to,
      from: message.from,
      body: message.contentSid
        ? `[template ${message.contentSid}${message.contentVariables ? ` ${message.contentVariables}` : ''}]`
        : message.body,
      at: new Date().toISOString(),
      ...(message.choice ? { choice: message.choice } : {}),
    };
    await this.outbox.add(message.to, JSON.stringify(record));
    return { sid };
  }

  async deleteMessage(): Promise<void> {}

  /** What was sent to an address, oldest first. */
  async list(to: string): Promise<RecordedMessage[]> {
    const raw = await this.outbox.list(to);
    return raw.map((r) => JSON.parse(r) as RecordedMessage);
  }
}
