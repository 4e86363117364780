// What Twilio's SMS and WhatsApp share: the inbound message fields, the message webhook, sending through
// the REST API, the status callback and the deletion of secret-bearing messages from Twilio's log.
import type { Request, Response } from 'express';
import type { Channel, InboundEvent } from '../../src/core/events.js';
import type { OutboxItem } from '../../src/store/conversation-store.js';
import {
  providerField,
  splitText,
  type ChannelAdapter,
  type ChannelEvent,
  type DeliveryContext,
  type Parsed,
  type RedactionContext,
  type WebhookKit,
  type WebhookRoute,
} from '../channel.js';
import { accountOf } from './accounts.js';
import { admit, EMPTY_TWIML, form, type WebhookParams } from './webhook.js';

const OPT_OUT = new Set(['STOP', 'START', 'HELP']);
/** Twilio sends at most 10 media items; more would be a forged request. */
const MAX_MEDIA = 10;

/** Twilio's limit for one message body. */
export const MAX_TEXT = 1600;

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
    provider: { accountSid: params.AccountSid! },
    text: params.Body ?? '',
    receivedAt,
    ...(media.length ? { media } : {}),
    ...(OPT_OUT.has(optOut) ? { optOut: optOut as 'STOP' | 'START' | 'HELP' } : {}),
  };
}

/** Reads one messaging channel's webhooks. */
export interface MessageReader {
  /** Turns Twilio's webhook parameters into the normalized event, or says what is missing. */
  parseInbound(params: WebhookParams, meta: { turn: number; receivedAt: number }): Parsed<ChannelEvent>;
  /** Our number in the webhook, in E.164, to find the bot that serves it. */
  ourNumber(params: WebhookParams): string | undefined;
}

/** The inbound message webhook of a messaging channel: an empty TwiML answer once the event is queued. */
export function messageRoute(channel: Channel, reader: MessageReader): WebhookRoute {
  return {
    path: `/webhooks/${channel}`,
    body: form,
    async handle(req: Request, res: Response, kit: WebhookKit) {
      const owner = (params: WebhookParams) => {
        const number = reader.ourNumber(params);
        return number ? { channel, number } : undefined;
      };
      const admitted = admit(req, res, kit, channel, owner);
      if (!admitted) return;
      const parsed = reader.parseInbound(admitted.params, { turn: 0, receivedAt: kit.now() });
      if (!parsed.ok) return kit.badRequest(res, channel, parsed.problem);
      const queued = await kit.accept(res, parsed.value, admitted.bot, { number: admitted.number });
      if (queued) res.status(200).type('text/xml').send(EMPTY_TWIML);
    },
  };
}

const FAILED = new Set(['failed', 'undelivered']);

/**
 * Twilio's status callback for messages we sent, of both messaging channels: the bot is the one that owns
 * `From`, our number that sent it.
 */
export const statusRoute: WebhookRoute = {
  path: '/webhooks/status',
  body: form,
  async handle(req, res, kit) {
    const admitted = admit(req, res, kit, 'status', (params) => {
      const from = params.From ?? '';
      const whatsapp = from.startsWith('whatsapp:');
      const number = whatsapp ? from.slice('whatsapp:'.length) : from;
      return number ? { channel: whatsapp ? 'whatsapp' : 'sms', number } : undefined;
    });
    if (!admitted) return;
    const { params } = admitted;
    if (!params.MessageSid || !params.MessageStatus) {
      return kit.badRequest(res, 'status', 'missing MessageSid or MessageStatus');
    }
    const channel =
      (params.To ?? '').startsWith('whatsapp:') || params.ChannelPrefix === 'whatsapp' ? 'whatsapp' : 'sms';
    try {
      await kit.recordStatus(
        {
          messageId: params.MessageSid,
          status: params.MessageStatus,
          failed: FAILED.has(params.MessageStatus),
          reason: `Twilio reported ${params.MessageStatus}`,
          channel,
          from: params.From ?? '',
          to: params.To ?? '',
          ...(params.ErrorCode ? { errorCode: params.ErrorCode } : {}),
        },
        admitted.bot,
      );
      res.status(204).end();
    } catch (error) {
      kit.unavailable(res, 'status', error);
    }
  },
};

/** Sends one reply through the REST API (or the sandbox's recorder), from the account the message came in on. */
export async function sendText(
  item: OutboxItem,
  ctx: DeliveryContext,
  contentSid?: string,
  contentVariables?: Record<string, string>,
): Promise<{ id: string }> {
  const sent = await ctx.sender.send({
    accountSid: item.accountSid,
    from: item.from,
    to: item.to,
    body: item.body,
    ...(contentSid ? { contentSid } : {}),
    ...(contentSid && contentVariables && Object.keys(contentVariables).length > 0
      ? { contentVariables: JSON.stringify(contentVariables) }
      : {}),
  });
  return { id: sent.sid };
}

/** Twilio keeps message bodies in its log; delete the ones that carried a secret, when the account asks to. */
export async function redactMessage(event: InboundEvent, ctx: RedactionContext): Promise<void> {
  const { directory, sender, logger } = ctx;
  const bot = directory.bot(event.botId);
  const account = bot ? accountOf(directory.config, bot) : directory.config.twilio;
  if (!account?.redactSecretMessages || !sender.deleteMessage) return;
  await sender.deleteMessage(providerField(event, 'accountSid') ?? '', event.id).catch((error: unknown) =>
    logger.warn('could not delete a secret-bearing message from Twilio', {
      bot: event.botId,
      channel: event.channel,
      reason: error instanceof Error ? error.message : String(error),
    }),
  );
}

/** SMS and WhatsApp: Twilio's message webhook in, texts out through its REST API. */
export type MessagingAdapter = ChannelAdapter &
  MessageReader &
  Required<Pick<ChannelAdapter, 'toTexts' | 'deliver' | 'redact'>>;

/** The parts of a messaging channel that are Twilio's, for `sms` and `whatsapp` to build on. */
export function twilioMessaging(channel: Channel, reader: MessageReader) {
  return {
    ...reader,
    name: channel,
    routes: [messageRoute(channel, reader)],
    toTexts: (text: string) => splitText(text, MAX_TEXT),
    redact: redactMessage,
  };
}
