// Message status callbacks: a failure of a reply we sent is recorded once and reported as `message.failed`.
import type { WebhookParams } from '../../channels/index.js';
import { identityOf } from '../core/events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { BotRef } from '../runtime/directory.js';
import type { ConversationStore } from '../store/conversation-store.js';

const FAILED = new Set(['failed', 'undelivered']);

export interface MessageFailure {
  botId: string;
  messageSid: string;
  status: string;
  errorCode?: string;
  channel: 'sms' | 'whatsapp';
  /** Our number that sent it and the address it was for, as Twilio knows them. */
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
  async record(params: WebhookParams, bot: BotRef | undefined): Promise<void> {
    const status = params.MessageStatus!;
    if (!FAILED.has(status) || !bot) return;
    const channel =
      (params.To ?? '').startsWith('whatsapp:') || params.ChannelPrefix === 'whatsapp' ? 'whatsapp' : 'sms';
    const cid = this.store.keys.conversationId(bot.id, identityOf(channel, params.To ?? ''));
    if (!(await this.store.settleSent(cid, params.MessageSid!))) {
      this.logger.info('status callback for a message we did not send or already reported; ignored', {
        messageSid: params.MessageSid,
        status,
        bot: bot.id,
      });
      return;
    }
    this.metrics.outbound.inc({ channel, status: 'failed' });
    this.logger.warn('message delivery failed', {
      messageSid: params.MessageSid,
      status,
      errorCode: params.ErrorCode,
      channel,
    });
    await this.onFailure({
      botId: bot.id,
      messageSid: params.MessageSid!,
      status,
      channel,
      from: params.From ?? '',
      to: params.To ?? '',
      ...(params.ErrorCode ? { errorCode: params.ErrorCode } : {}),
    });
  }
}
