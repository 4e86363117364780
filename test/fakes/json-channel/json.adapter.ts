// A channel that is not Twilio's, for tests only: events arrive as JSON at `POST /json/<bot>`, signed with
// HMAC-SHA256 over the body in `X-Json-Signature`; replies are posted as JSON to a receiver. It proves a
// channel is one folder plus its registration: nothing under src/ or channels/ knows it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import express from 'express';
import {
  SendRejectedError,
  SendRetryableError,
  type ChannelAdapter,
  type ChannelEvent,
} from '../../../channels/index.js';
import { identityOf, type Channel } from '../../../src/core/events.js';

/** Not among the built-in channels' names, which the types know: the one cast a channel from outside needs. */
export const JSON_CHANNEL = 'json' as Channel;

export const SIGNATURE_HEADER = 'X-Json-Signature';

export function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function signatureMatches(secret: string, body: Buffer, signature: string | undefined): boolean {
  if (!signature || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(sign(secret, body.toString('utf8')), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

interface JsonMessage {
  id: string;
  from: string;
  text: string;
}

function readMessage(body: unknown): JsonMessage | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const { id, from, text } = body as Record<string, unknown>;
  if (typeof id !== 'string' || !id || typeof from !== 'string' || !from || typeof text !== 'string')
    return undefined;
  return { id, from, text };
}

/** What the receiver gets for each reply. */
export interface JsonReply {
  id: string;
  bot: string;
  to: string;
  text: string;
}

export function jsonChannel(opts: { secret: string; deliverTo: string }): ChannelAdapter {
  return {
    name: JSON_CHANNEL,
    routes: [
      {
        path: '/json/:bot',
        body: express.raw({ type: 'application/json', limit: '16kb' }),
        async handle(req, res, kit) {
          const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          if (!signatureMatches(opts.secret, raw, req.get(SIGNATURE_HEADER))) {
            return kit.forbidden(req, res, JSON_CHANNEL, 'signature does not match', req.originalUrl);
          }
          let message: JsonMessage | undefined;
          try {
            message = readMessage(JSON.parse(raw.toString('utf8')));
          } catch {
            message = undefined;
          }
          if (!message) return kit.badRequest(res, JSON_CHANNEL, 'expected {"id", "from", "text"}');
          const botId = String(req.params.bot);
          const event: ChannelEvent = {
            id: message.id,
            kind: 'message',
            channel: JSON_CHANNEL,
            identity: identityOf(JSON_CHANNEL, message.from),
            from: message.from,
            to: botId,
            text: message.text,
            receivedAt: kit.now(),
          };
          // Bots are addressed by id here, not by number: the path names the bot.
          const queued = await kit.accept(res, event, kit.directory().ref(botId), { number: botId });
          if (queued) res.status(202).json({ accepted: message.id });
        },
      },
    ],
    toTexts: (text) => [text],
    async deliver(item) {
      const reply: JsonReply = { id: item.id, bot: item.from, to: item.to, text: item.body };
      let answer: Response;
      try {
        answer = await fetch(opts.deliverTo, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(reply),
        });
      } catch (error) {
        throw new SendRetryableError(`receiver unreachable: ${String(error)}`);
      }
      if (answer.status >= 500)
        throw new SendRetryableError(`receiver answered ${answer.status}`, answer.status);
      if (!answer.ok)
        throw new SendRejectedError(`receiver refused the reply (${answer.status})`, answer.status);
      return { id: `json-${item.id}` };
    },
  };
}
