// WhatsApp: Twilio's inbound message webhook (`whatsapp:` addresses), texts out through the REST API.
import { identityOf } from '../../src/core/events.js';
import { E164, required, splitText, type MessagingAdapter, type WebhookParams } from '../channel-adapter.js';
import { readMessage } from '../message-fields.js';

const WHATSAPP_ADDRESS = /^whatsapp:(\+[1-9][0-9]{5,14})$/;

export const whatsappAdapter: MessagingAdapter = {
  channel: 'whatsapp',
  ourNumber: (params) => WHATSAPP_ADDRESS.exec(params.To ?? '')?.[1],
  parseInbound(params: WebhookParams, meta) {
    const problem = required(params, ['MessageSid', 'AccountSid', 'From', 'To']);
    if (problem) return { ok: false, problem };
    const from = WHATSAPP_ADDRESS.exec(params.From!)?.[1];
    if (!from || !E164.test(from)) return { ok: false, problem: 'From is not a whatsapp:+E164 address' };
    const message = readMessage(params, meta.receivedAt);
    // A tapped button answers with its payload, not with its label.
    if (params.ButtonPayload) message.text = params.ButtonPayload;
    if (params.ProfileName) message.profileName = params.ProfileName;
    if (params.Latitude && params.Longitude) {
      message.location = {
        latitude: params.Latitude,
        longitude: params.Longitude,
        ...(params.Address ? { address: params.Address } : {}),
        ...(params.Label ? { label: params.Label } : {}),
      };
    }
    return { ok: true, value: { ...message, channel: 'whatsapp', identity: identityOf('whatsapp', from) } };
  },
  toTexts: (text) => splitText(text),
};
