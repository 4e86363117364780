// Operator-initiated conversations: POST /v1/messages (a message sent first, text or a WhatsApp template),
// GET /v1/messages/{id} (its status) and POST /v1/conversations (a flow started for a user). Each POST takes
// an Idempotency-Key: the first request does the work, a repeat within 24 hours gets the same answer.
import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import { senderAccountOf, type ChannelRegistry } from '../../channels/index.js';
import type { BotConfig } from '../config/index.js';
import { identityOf, type Channel, type InboundEvent } from '../core/events.js';
import type { Queues } from '../queue/queues.js';
import type { ConversationStore, OutboxItem } from '../store/conversation-store.js';
import type { IdempotencyStore, StoredAnswer } from '../store/idempotency.js';
import { idempotentRunner } from './idempotency.js';
import type { MessageStore } from '../store/message-store.js';
import { traceField } from '../tracing.js';
import { ApiError } from './api-error.js';
import type { RouteKit } from './live-state.js';
import { SendMessageBodySchema, StartConversationBodySchema } from './openapi.js';

export interface ProactiveDeps {
  conversations: ConversationStore;
  messages: MessageStore;
  idempotency: IdempotencyStore;
  queues: Pick<Queues, 'kickSend' | 'kickConversation'>;
  /** Each channel's rules: its window for free text, whether it has templates. */
  channels: ChannelRegistry;
}

type Recipient = z.output<typeof SendMessageBodySchema>['to'];
type TemplateRef = NonNullable<z.output<typeof SendMessageBodySchema>['template']>;
/** Who a message goes to and from, on which channel. */
interface Route {
  channel: Channel;
  identity: string;
  /** Their address and ours, as Twilio writes them (`whatsapp:+…` or `+…`). */
  to: string;
  from: string;
}

export function mountProactive(router: Router, deps: ProactiveDeps, kit: RouteKit): void {
  const { parse, callerOf } = kit;
  const keys = deps.messages.keys;

  const botOf = (res: Response, id: string): BotConfig => {
    const bot = Object.hasOwn(kit.config().bots, id) ? kit.config().bots[id] : undefined;
    if (!bot || bot.workspace !== callerOf(res).workspace) {
      throw new ApiError(404, 'bot_not_found', `This workspace has no bot "${id}".`);
    }
    return bot;
  };

  /** The user a request names by id (for the audit log), or none for a channel identity. */
  const userOf = (res: Response, to: Recipient) =>
    typeof to === 'string'
      ? undefined
      : {
          workspace: callerOf(res).workspace,
          userId: to.userId,
          ...(to.externalId !== undefined ? { externalId: to.externalId } : {}),
        };

  const routeOf = async (res: Response, botId: string, bot: BotConfig, to: Recipient): Promise<Route> => {
    const channel = (typeof to === 'string' ? to.slice(0, to.indexOf(':')) : to.channel) as Channel;
    if (channel === 'voice') {
      throw new ApiError(
        422,
        'voice_not_supported',
        'body to: voice is not a channel for messages; to reach someone by phone, place a call with POST /v1/calls.',
        [{ path: 'to', message: 'voice: use POST /v1/calls' }],
      );
    }
    let number: string;
    if (typeof to === 'string') number = to.slice(to.indexOf(':') + 1);
    else {
      const scope = {
        workspace: callerOf(res).workspace,
        userId: to.userId,
        ...(to.externalId !== undefined ? { externalId: to.externalId } : {}),
      };
      const view = (await kit.identity.userExists(scope)) ? await kit.identity.getUser(scope) : undefined;
      if (!view) throw new ApiError(404, 'user_not_found', 'No such user in this workspace.');
      const found = view.identities.find((i) => i.channel === channel);
      if (!found) {
        throw new ApiError(
          422,
          'no_identity_on_channel',
          `body to: the user has no ${channel} identity; add one (POST /v1/users) or choose another channel.`,
          [{ path: 'to.channel', message: `the user has no ${channel} identity` }],
        );
      }
      number = found.address.startsWith(`${channel}:`)
        ? found.address.slice(channel.length + 1)
        : found.address;
    }
    const ours = bot.numbers[channel]?.[0];
    if (!ours) {
      throw new ApiError(
        422,
        'no_number_on_channel',
        `body to: bot "${botId}" has no ${channel} number; add one under numbers.${channel}, or send on another channel.`,
        [{ path: 'to', message: `bot "${botId}" has no ${channel} number` }],
      );
    }
    const wa = channel === 'whatsapp';
    return {
      channel,
      identity: identityOf(channel, number),
      to: wa ? `whatsapp:${number}` : number,
      from: wa ? `whatsapp:${ours}` : ours,
    };
  };

  /** The bot's template by name, its variables checked against what it declares, in its order. */
  const templateOf = (botId: string, bot: BotConfig, channel: Channel, ref: TemplateRef) => {
    if (!deps.channels.get(channel)?.templates) {
      throw new ApiError(
        422,
        'template_not_supported',
        `body template: ${channel} has no templates (they are WhatsApp's); send "text" instead.`,
        [{ path: 'template', message: `no templates on ${channel}` }],
      );
    }
    const template = Object.hasOwn(bot.templates, ref.name) ? bot.templates[ref.name] : undefined;
    if (!template) {
      const names = Object.keys(bot.templates);
      throw new ApiError(
        422,
        'unknown_template',
        `body template.name: bot "${botId}" has no template "${ref.name}"; ${
          names.length ? `its templates: ${names.join(', ')}` : 'it declares none (add them under templates:)'
        }.`,
        [{ path: 'template.name', message: 'unknown template' }],
      );
    }
    const given = Object.keys(ref.variables ?? {});
    const missing = template.variables.filter((v) => !given.includes(v));
    const unknown = given.filter((v) => !template.variables.includes(v));
    if (missing.length || unknown.length) {
      const declared = template.variables.length ? template.variables.join(', ') : 'none';
      const problems = [
        ...(missing.length ? [`missing ${missing.map((v) => `"${v}"`).join(', ')}`] : []),
        ...(unknown.length ? [`unknown ${unknown.map((v) => `"${v}"`).join(', ')}`] : []),
      ];
      throw new ApiError(
        422,
        'wrong_template_variables',
        `body template.variables: template "${ref.name}" takes ${declared}; ${problems.join('; ')}.`,
        [{ path: 'template.variables', message: problems.join('; ') }],
      );
    }
    return {
      contentSid: template.contentSid,
      variables: Object.fromEntries(template.variables.map((v) => [v, String(ref.variables![v])])),
    };
  };

  /** Whether the channel lets free text go first now (WhatsApp: within 24 hours of the user's last message). */
  const freeText = (channel: Channel, lastInbound: number | undefined, now: number) =>
    deps.channels.get(channel)?.freeTextAllowed?.(lastInbound, now) ?? true;

  const optedOut = () =>
    new ApiError(
      409,
      'opted_out',
      'The recipient opted out of this bot (STOP): nothing was sent. They opt back in by sending START.',
    );

  const idempotent = idempotentRunner(deps.idempotency, callerOf);

  /**
   * What both POSTs do first: the recipient's route and the template named, then, under the request's
   * Idempotency-Key, the recipient's conversation, refused when it opted out.
   */
  async function toRecipient(
    req: Request,
    res: Response,
    endpoint: 'messages' | 'conversations',
    body: { bot: string; to: Recipient; template?: TemplateRef | undefined },
    bot: BotConfig,
    work: (reached: {
      route: Route;
      template: ReturnType<typeof templateOf> | undefined;
      workspace: string;
      key: string;
      now: number;
      cid: string;
      recipient: Awaited<ReturnType<MessageStore['recipient']>>;
    }) => Promise<StoredAnswer>,
  ): Promise<void> {
    const route = await routeOf(res, body.bot, bot, body.to);
    const template = body.template ? templateOf(body.bot, bot, route.channel, body.template) : undefined;
    const workspace = callerOf(res).workspace;
    await idempotent(req, res, endpoint, body, async (key) => {
      const cid = keys.conversationId(body.bot, route.identity);
      const recipient = await deps.messages.recipient(cid);
      if (recipient.optedOut) throw optedOut();
      return work({ route, template, workspace, key, now: kit.now(), cid, recipient });
    });
  }

  router.post('/v1/messages', async (req, res) => {
    const body = parse(SendMessageBodySchema, req.body, 'body');
    const bot = botOf(res, body.bot);
    await toRecipient(
      req,
      res,
      'messages',
      body,
      bot,
      async ({ route, template, workspace, key, now, cid, recipient }) => {
        if (!template && !freeText(route.channel, recipient.lastInbound, now)) {
          throw new ApiError(
            409,
            'outside_whatsapp_window',
            'Not sent: the recipient has not written in the last 24 hours, and WhatsApp allows free text only within 24 hours of their last message. Send one of the bot\'s templates instead ("template": {"name": …, "variables": {…}}).',
          );
        }
        // The same key names the same message, so a retry after a crash finds it instead of making another.
        const id = `msg_${keys.naming.hash('message', workspace, key)}`;
        await deps.messages.create({
          id,
          workspace,
          botId: body.bot,
          channel: route.channel,
          cid,
          createdAt: now,
        });
        const item: OutboxItem & { message: string } = {
          id: `msg:${id}`,
          botId: body.bot,
          channel: route.channel,
          accountSid: senderAccountOf(kit.config(), bot),
          from: route.from,
          to: route.to,
          body: body.text ?? `[template ${body.template!.name}]`,
          // A template goes as a template wherever the window is: it counts as outside it.
          windowStart: template ? 0 : (recipient.lastInbound ?? 0),
          cid,
          message: id,
          bulk: true,
          ...(template ? { template } : {}),
          ...traceField(),
        };
        await deps.messages.enqueue(item);
        await deps.queues.kickSend(cid, { bulk: true });
        kit.logger.info('proactive message queued', {
          bot: body.bot,
          channel: route.channel,
          conversation: cid,
          message: id,
          sentAs: template ? 'template' : 'text',
        });
        await kit.audited(
          res,
          'message.send',
          { bot: body.bot, conversation: cid, message: id },
          userOf(res, body.to),
        );
        return {
          status: 202,
          body: JSON.stringify({
            id,
            status: 'queued',
            bot: body.bot,
            channel: route.channel,
            conversation: cid,
            sentAs: template ? 'template' : 'text',
          }),
        };
      },
    );
  });

  router.get('/v1/messages/:messageId', async (req, res) => {
    const id = kit.param(req, 'messageId');
    const record = id.length <= 64 ? await deps.messages.get(id) : undefined;
    if (!record || record.workspace !== callerOf(res).workspace) {
      throw new ApiError(404, 'message_not_found', 'No such message in this workspace.');
    }
    res.json({
      id: record.id,
      bot: record.botId,
      channel: record.channel,
      conversation: record.cid,
      status: record.status,
      errorCode: record.errorCode,
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
    });
  });

  router.post('/v1/conversations', async (req, res) => {
    const body = parse(StartConversationBodySchema, req.body, 'body');
    const bot = botOf(res, body.bot);
    if (!Object.hasOwn(bot.flows, body.flow)) {
      throw new ApiError(
        404,
        'flow_not_found',
        `body flow: bot "${body.bot}" has no flow "${body.flow}"; its flows: ${Object.keys(bot.flows).join(', ')}.`,
        [{ path: 'flow', message: 'unknown flow' }],
      );
    }
    await toRecipient(
      req,
      res,
      'conversations',
      body,
      bot,
      async ({ route, template, workspace, key, now, cid, recipient }) => {
        const inside = freeText(route.channel, recipient.lastInbound, now);
        if (!inside && !template) {
          throw new ApiError(
            409,
            'outside_whatsapp_window',
            'Not started: the recipient has not written in the last 24 hours, and WhatsApp allows free text only within 24 hours of their last message. Give a "template" for the flow\'s first prompt.',
          );
        }
        const vars = Object.fromEntries(Object.entries(body.variables ?? {}).map(([k, v]) => [k, String(v)]));
        const event: InboundEvent = {
          // The same key names the same start: a retry after a crash is the inbox's duplicate.
          id: `start:${keys.naming.hash('start', workspace, key)}`,
          kind: 'start',
          botId: body.bot,
          channel: route.channel,
          identity: route.identity,
          from: route.to,
          to: route.from,
          provider: { accountSid: senderAccountOf(kit.config(), bot) },
          text: '',
          receivedAt: now,
          start: {
            flow: body.flow,
            vars,
            windowStart: recipient.lastInbound ?? 0,
            ...(template && !inside ? { template } : {}),
          },
          ...traceField(),
        };
        await deps.conversations.accept(cid, event);
        await deps.queues.kickConversation(cid);
        kit.logger.info('flow started by the operator', {
          bot: body.bot,
          channel: route.channel,
          conversation: cid,
          flow: body.flow,
        });
        await kit.audited(
          res,
          'conversation.start',
          { bot: body.bot, conversation: cid },
          userOf(res, body.to),
        );
        return {
          status: 202,
          body: JSON.stringify({
            conversation: cid,
            bot: body.bot,
            channel: route.channel,
            flow: body.flow,
            status: 'queued',
          }),
        };
      },
    );
  });
}
