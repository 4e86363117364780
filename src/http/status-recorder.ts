// Message status callbacks: failures are recorded once and reported as `message.failed`.
import type { Redis } from 'ioredis';
import type { WebhookParams } from '../../channels/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { SEEN_TTL } from '../store/keys.js';
import type { Keys } from '../store/keys.js';

const FAILED = new Set(['failed', 'undelivered']);

export interface MessageFailure {
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
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly onFailure: (failure: MessageFailure) => Promise<void>,
  ) {}

  async record(params: WebhookParams): Promise<void> {
    const status = params.MessageStatus!;
    if (!FAILED.has(status)) return;
    const key = `${this.keys.prefix}:status:${params.MessageSid}:${status}`;
    const fresh = await this.redis.set(key, '1', 'EX', SEEN_TTL, 'NX');
    if (fresh !== 'OK') return;
    const channel =
      (params.To ?? '').startsWith('whatsapp:') || params.ChannelPrefix === 'whatsapp' ? 'whatsapp' : 'sms';
    this.metrics.outbound.inc({ channel, status: 'failed' });
    this.logger.warn('message delivery failed', {
      message: params.MessageSid,
      status,
      errorCode: params.ErrorCode,
      channel,
    });
    await this.onFailure({
      messageSid: params.MessageSid!,
      status,
      channel,
      from: params.From ?? '',
      to: params.To ?? '',
      ...(params.ErrorCode ? { errorCode: params.ErrorCode } : {}),
    });
  }
}
