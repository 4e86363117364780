// Message status callbacks: a failure of a reply we sent is recorded once and reported as `message.failed`.
import type { DeliveryStatus } from '../../channels/index.js';
import { identityOf, type Channel } from '../core/events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { BotRef } from '../config/directory.js';
import type { ConversationStore } from '../store/conversation-store.js';

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
  ) {}

  /**
   * Records a status for a reply of `bot` (the bot that owns `From`). Only a MessageSid the send worker
   * remembered counts, and it is forgotten as it is reported: a callback for a message we never sent, or
   * a replay of one already reported, however old, changes nothing.
   */
  async record(report: DeliveryStatus, bot: BotRef | undefined): Promise<void> {
    const { status, channel } = report;
    if (!report.failed || !bot) return;
    const cid = this.store.keys.conversationId(bot.id, identityOf(channel, report.to));
    if (!(await this.store.settleSent(cid, report.messageId))) {
      this.logger.info('status callback for a message we did not send or already reported; ignored', {
        messageSid: report.messageId,
        status,
        bot: bot.id,
      });
      return;
    }
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
}
