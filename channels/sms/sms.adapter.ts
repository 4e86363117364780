// SMS: Twilio's inbound message webhook in, texts out through the REST API.
import { identityOf } from '../../src/core/events.js';
import { E164, required, splitText, type MessagingAdapter, type WebhookParams } from '../channel-adapter.js';
import { readMessage } from '../message-fields.js';

export const smsAdapter: MessagingAdapter = {
  channel: 'sms',
  ourNumber: (params) => params.To,
  parseInbound(params: WebhookParams, meta) {
    const problem = required(params, ['MessageSid', 'AccountSid', 'From', 'To']);
    if (problem) return { ok: false, problem };
    if (!E164.test(params.From!)) return { ok: false, problem: 'From is not an E.164 number' };
    return {
      ok: true,
      value: {
        ...readMessage(params, meta.receivedAt),
        channel: 'sms',
        identity: identityOf('sms', params.From!),
      },
    };
  },
  toTexts: (text) => splitText(text),
};
