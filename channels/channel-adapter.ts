// The contract between Twilio's webhooks and the core: each channel turns parameters into an event.
import type { Channel, InboundEvent } from '../src/core/events.js';

/** Twilio posts form fields; all values arrive as strings (repeated fields keep the first). */
export type WebhookParams = Record<string, string>;

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** The event as a channel reads it; the bot is resolved from `to` by the caller. */
export type ChannelEvent = Omit<InboundEvent, 'botId'>;

/**
 * Reads one channel's webhooks. Implementations: `channels/sms/sms.adapter.ts`,
 * `channels/whatsapp/whatsapp.adapter.ts`, `channels/voice/voice.adapter.ts`.
 */
export interface ChannelAdapter {
  readonly channel: Channel;
  /** Turns Twilio's webhook parameters into the normalized event, or says what is missing. */
  parseInbound(params: WebhookParams, meta: { turn: number; receivedAt: number }): Parsed<ChannelEvent>;
  /** Our number in the webhook, in E.164, to find the bot that serves it. */
  ourNumber(params: WebhookParams): string | undefined;
}

/** SMS and WhatsApp: replies are texts sent through Twilio's REST API. */
export interface MessagingAdapter extends ChannelAdapter {
  readonly channel: 'sms' | 'whatsapp';
  /** Splits a reply into the texts to send, each within Twilio's 1,600-character limit. */
  toTexts(text: string): string[];
}

export function required(params: WebhookParams, names: string[]): string | undefined {
  const missing = names.filter((n) => !params[n]);
  return missing.length ? `missing ${missing.join(', ')}` : undefined;
}

export const E164 = /^\+[1-9][0-9]{5,14}$/;

/** Twilio's limit for one message body. */
export const MAX_TEXT = 1600;

/** Splits text into parts of at most `max` characters, on word boundaries where there is one. */
export function splitText(text: string, max = MAX_TEXT): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    let cut = rest.lastIndexOf(' ', max);
    const newline = rest.lastIndexOf('\n', max);
    if (newline > cut) cut = newline;
    if (cut <= 0) cut = max;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}
