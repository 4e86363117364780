// The fields SMS and WhatsApp webhooks share: sid, addresses, body, media, opt-out type.
import type { InboundEvent } from '../src/core/events.js';
import type { WebhookParams } from './channel-adapter.js';

const OPT_OUT = new Set(['STOP', 'START', 'HELP']);
/** Twilio sends at most 10 media items; more would be a forged request. */
const MAX_MEDIA = 10;

export function readMessage(
  params: WebhookParams,
  receivedAt: number,
): Omit<InboundEvent, 'botId' | 'channel' | 'identity'> {
  const media: { url: string; contentType: string }[] = [];
  const count = Math.min(Number.parseInt(params.NumMedia ?? '0', 10) || 0, MAX_MEDIA);
  for (let i = 0; i < count; i++) {
    const url = params[`MediaUrl${i}`];
    if (url) media.push({ url, contentType: params[`MediaContentType${i}`] ?? 'application/octet-stream' });
  }
  const optOut = (params.OptOutType ?? '').toUpperCase();
  return {
    id: params.MessageSid!,
    kind: 'message',
    from: params.From!,
    to: params.To!,
    accountSid: params.AccountSid!,
    text: params.Body ?? '',
    receivedAt,
    ...(media.length ? { media } : {}),
    ...(OPT_OUT.has(optOut) ? { optOut: optOut as 'STOP' | 'START' | 'HELP' } : {}),
  };
}
