// WhatsApp's interactive messages for `choose` questions, through Twilio's Content API: quick-reply buttons
// for 3 options or fewer, a list picker for up to 10. Each distinct resource is created once per account
// (its SID kept in Redis) and sent by its ContentSid; when it cannot be made, the numbered list goes instead.
import { createHash } from 'node:crypto';
import { MAX_BUTTONS } from '../../src/core/choices.js';
import type { OutboxItem } from '../../src/store/conversation-store.js';
import { SendRejectedError, type DeliveryContext } from '../channel.js';
import type { OutboundChoice } from './sender.js';

/** WhatsApp's limits, in characters: longer texts are cut, ending with "…". */
export const CONTENT_LIMITS = {
  body: 1024,
  buttonTitle: 20,
  listButton: 20,
  listItem: 24,
  listDescription: 72,
} as const;

/** Twilio's error for a ContentSid it does not know (the resource was deleted there). */
const UNKNOWN_CONTENT = 21655;

/** Text within `max` characters: cut at a word where one is near the end, then "…". */
function cut(text: string, max: number): string {
  const trimmed = text.trim();
  if (trimmed.length <= max) return trimmed;
  const head = trimmed.slice(0, max - 1);
  const space = head.lastIndexOf(' ');
  return `${(space >= max / 2 ? head.slice(0, space) : head).trimEnd()}…`;
}

/** The choice as WhatsApp shows it: its kind chosen by the number of options, every text within its limit. */
export function whatsappChoice(choice: NonNullable<OutboxItem['choice']>): OutboundChoice {
  const prompt = cut(choice.prompt, CONTENT_LIMITS.body) || '…';
  if (choice.options.length <= MAX_BUTTONS) {
    return {
      type: 'buttons',
      prompt,
      options: choice.options.map((o) => ({ id: o.id, title: cut(o.title, CONTENT_LIMITS.buttonTitle) })),
    };
  }
  return {
    type: 'list',
    prompt,
    button: cut(choice.button ?? 'Choose', CONTENT_LIMITS.listButton),
    options: choice.options.map((o) => ({
      id: o.id,
      title: cut(o.title, CONTENT_LIMITS.listItem),
      ...(o.description ? { description: cut(o.description, CONTENT_LIMITS.listDescription) } : {}),
    })),
  };
}

/** The Content API's request body for a choice (Twilio's field names); `fallback` is the plain-text variant. */
export function contentRequest(choice: OutboundChoice, fallback: string): Record<string, unknown> {
  const types =
    choice.type === 'buttons'
      ? {
          'twilio/quick-reply': {
            body: choice.prompt,
            actions: choice.options.map((o) => ({ title: o.title, id: o.id })),
          },
        }
      : {
          'twilio/list-picker': {
            body: choice.prompt,
            button: choice.button,
            items: choice.options.map((o) => ({
              item: o.title,
              id: o.id,
              ...(o.description ? { description: o.description } : {}),
            })),
          },
        };
  const described = JSON.stringify(types);
  return {
    friendly_name: `switchboard_choose_${createHash('sha256').update(described).digest('hex').slice(0, 16)}`,
    language: 'en',
    types: { ...types, 'twilio/text': { body: cut(fallback, 1600) } },
  };
}

/**
 * Sends a `choose` question on WhatsApp: by the SID of its content resource (created on first use), or,
 * with no Content API (the sandbox's recorder), with the choice for the recorder to keep. When the
 * resource cannot be created the numbered list is sent as text, so the user can still answer.
 */
export async function sendChoice(item: OutboxItem, ctx: DeliveryContext): Promise<{ id: string }> {
  const { sender, contents, logger } = ctx;
  const choice = whatsappChoice(item.choice!);
  const base = { accountSid: item.accountSid, from: item.from, to: item.to, body: item.body };
  const asText = async () => ({ id: (await sender.send(base)).sid });
  if (!sender.createContent || !contents) return { id: (await sender.send({ ...base, choice })).sid };

  const request = contentRequest(choice, item.body);
  const described = JSON.stringify(request.types);
  let sid = await contents.get(item.accountSid, described);
  if (!sid) {
    try {
      sid = (await sender.createContent(item.accountSid, request)).sid;
    } catch (error) {
      logger?.warn('could not create WhatsApp content for a choice: sent as a numbered list', {
        conversation: item.cid,
        bot: item.botId,
        reply: item.id,
        reason: error instanceof Error ? error.message : String(error),
      });
      return asText();
    }
    await contents.set(item.accountSid, described, sid);
  }
  try {
    return { id: (await sender.send({ ...base, contentSid: sid })).sid };
  } catch (error) {
    if (!(error instanceof SendRejectedError && error.code === UNKNOWN_CONTENT)) throw error;
    // Deleted at Twilio since: forget it (the next one creates it again) and send this one as text.
    await contents.forget(item.accountSid, described);
    logger?.warn('WhatsApp content of a choice no longer exists at Twilio: sent as a numbered list', {
      conversation: item.cid,
      bot: item.botId,
      reply: item.id,
    });
    return asText();
  }
}
