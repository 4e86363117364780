// Message status callbacks: a failure of a reply we sent is recorded once and reported as `message.failed`;
// a proactive message's status (sent, delivered, read, failed) moves its record forward (`message.status`).
import type { DeliveryStatus } from '../../channels/index.js';
import { identityOf, type Channel } from '../core/events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { BotRef } from '../config/directory.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { messageStatusOf, type MessageRecord, type MessageStore } from '../store/message-store.js';

/** Proactive messages' records, and what to tell when one's status changed. */
export interface MessageStatuses {
  store: MessageStore;
  now: () => number;
  /** `to`: the recipient's address as the provider knows it. */
  changed: (record: MessageRecord, to: string) => Promise<void>;
}

export interface MessageFailure {
  botId: string;
  messageSid: string;
  status: string;
  errorCode?: string;
  reason: string;
  channel: Channel;
  /** Our number that sent it and the address it was for, as the provider knows them. */
  from: string;
  to: string;
}

export class StatusRecorder {
  constructor(
    private readonly store: ConversationStore,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly onFailure: (failure: MessageFailure) => Promise<void>,
    private readonly messages?: MessageStatuses,
  ) {}

  /**
   * Records a status for a reply of `bot` (the bot that owns `From`). Only a MessageSid the send worker
   * remembered counts, and it is forgotten as it is reported: a callback for a message we never sent, or
   * a replay of one already reported, however old, changes nothing.
   */
  async record(report: DeliveryStatus, bot: BotRef | undefined): Promise<void> {
    const { status, channel } = report;
    if (!bot) return;
    const cid = this.store.keys.conversationId(bot.id, identityOf(channel, report.to));
    if (!report.failed) {
      // Only a proactive message has a status to keep: its sent mark names it (a reply's says '1').
      if (!this.messages || messageStatusOf(status) === undefined) return;
      const message = await this.store.peekSent(cid, report.messageId);
      if (message !== null && message !== '1') await this.advance(message, report);
      return;
    }
    const taken = await this.store.takeSent(cid, report.messageId);
    if (taken === null) {
      this.logger.info('status callback for a message we did not send or already reported; ignored', {
        messageSid: report.messageId,
        status,
        bot: bot.id,
      });
      return;
    }
    if (taken !== '1') await this.advance(taken, report);
    this.metrics.outbound.inc({ channel, status: 'failed' });
    this.metrics.sendErrors.inc({ channel, error_code: String(report.errorCode || 'none') });
    this.logger.warn('message delivery failed', {
      messageSid: report.messageId,
      status,
      errorCode: report.errorCode,
      bot: bot.id,
      channel,
      conversation: cid,
    });
    await this.onFailure({
      botId: bot.id,
      messageSid: report.messageId,
      status,
      reason: report.reason,
      channel,
      from: report.from,
      to: report.to,
      ...(report.errorCode ? { errorCode: report.errorCode } : {}),
    });
  }

  private async advance(message: string, report: DeliveryStatus): Promise<void> {
    const status = messageStatusOf(report.status);
    if (!this.messages || !status) return;
    const changed = await this.messages.store.advance(message, status, this.messages.now(), report.errorCode);
    if (changed) await this.messages.changed(changed, report.to);
  }
}
