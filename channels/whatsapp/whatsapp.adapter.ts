// WhatsApp: Twilio's inbound message webhook (`whatsapp:` addresses), texts out through the REST API, with
// a pre-approved template once the 24-hour window is over.
import { identityOf } from '../../src/core/events.js';
import { isE164 } from '../../src/core/phone-number.js';
import { required, SendRejectedError } from '../channel.js';
import { sendChoice } from '../twilio/content.js';
import {
  readMessage,
  sendText,
  twilioMessaging,
  type MessageReader,
  type MessagingAdapter,
} from '../twilio/messaging.js';

const WHATSAPP_PREFIX = 'whatsapp:';

/** The E.164 number inside a `whatsapp:+…` address, if the address is one. */
function whatsappNumber(address: string | undefined): string | undefined {
  const number = address?.startsWith(WHATSAPP_PREFIX) ? address.slice(WHATSAPP_PREFIX.length) : undefined;
  return number !== undefined && isE164(number) ? number : undefined;
}

/** WhatsApp allows free-form replies for 24 hours after the user last wrote. */
export const WHATSAPP_WINDOW_MS = 24 * 3600 * 1000;

/** Whether free text may go to a WhatsApp user who last wrote at `lastInbound` (ms; undefined: never). */
export function insideWhatsAppWindow(lastInbound: number | undefined, now: number): boolean {
  return lastInbound !== undefined && now - lastInbound <= WHATSAPP_WINDOW_MS;
}

const whatsappReader: MessageReader = {
  ourNumber: (params) => whatsappNumber(params.To),
  parseInbound(params, meta) {
    const problem = required(params, ['MessageSid', 'AccountSid', 'From', 'To']);
    if (problem) return { ok: false, problem };
    const from = whatsappNumber(params.From);
    if (!from) return { ok: false, problem: 'From is not a whatsapp:+E164 address' };
    const message = readMessage(params, meta.receivedAt);
    // A tapped button or list item answers with its id, not with its label.
    if (params.ButtonPayload) message.text = params.ButtonPayload;
    else if (params.ListId) message.text = params.ListId;
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
};

export const whatsappAdapter: MessagingAdapter = {
  ...twilioMessaging('whatsapp', whatsappReader),
  templates: true,
  freeTextAllowed: insideWhatsAppWindow,
  async deliver(item, ctx) {
    const inWindow = Date.now() - item.windowStart <= WHATSAPP_WINDOW_MS;
    // A `choose` question: buttons or a list (the Content API), within the window like any free-form reply.
    if (inWindow && item.choice) return sendChoice(item, ctx);
    if (inWindow) return sendText(item, ctx);
    // Outside the window: the reply's own template (an operator's message or started flow), else the bot's one.
    if (item.template) return sendText(item, ctx, item.template.contentSid, item.template.variables);
    const contentSid = ctx.bot?.whatsappTemplate?.contentSid;
    if (!contentSid) {
      throw new SendRejectedError(
        'outside the WhatsApp 24-hour window and the bot has no whatsappTemplate',
        400,
        63016,
      );
    }
    return sendText(item, ctx, contentSid);
  },
};

declare module '../../src/core/events.js' {
  interface ChannelNames {
    whatsapp: true;
  }
}
