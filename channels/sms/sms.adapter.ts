// SMS: Twilio's inbound message webhook in, texts out through the REST API.
import { identityOf } from '../../src/core/events.js';
import { isE164 } from '../../src/core/phone-number.js';
import { required } from '../channel.js';
import {
  readMessage,
  sendText,
  statusRoute,
  twilioMessaging,
  type MessageReader,
  type MessagingAdapter,
} from '../twilio/messaging.js';

const smsReader: MessageReader = {
  ourNumber: (params) => params.To,
  parseInbound(params, meta) {
    const problem = required(params, ['MessageSid', 'AccountSid', 'From', 'To']);
    if (problem) return { ok: false, problem };
    if (!isE164(params.From!)) return { ok: false, problem: 'From is not an E.164 number' };
    return {
      ok: true,
      value: {
        ...readMessage(params, meta.receivedAt),
        channel: 'sms',
        identity: identityOf('sms', params.From!),
      },
    };
  },
};

const twilio = twilioMessaging('sms', smsReader);

export const smsAdapter: MessagingAdapter = {
  ...twilio,
  // Twilio posts the statuses of both messaging channels' replies to one URL; SMS mounts it.
  routes: [...twilio.routes, statusRoute],
  deliver: (item, ctx) => sendText(item, ctx),
};

declare module '../../src/core/events.js' {
  interface ChannelNames {
    sms: true;
  }
}
