// The operator API's outbound calls: POST /v1/calls places a call through Twilio that runs a flow when answered.
import type { IdempotencyStore } from '../store/idempotency.js';
import { idempotentRunner } from './idempotency.js';
import type { Router } from 'express';
import { z } from 'zod';
import { accountOf, CallRefusedError, CallUnavailableError, type CallPlacer } from '../../channels/index.js';
import { identityOf } from '../core/events.js';
import { phoneNumberSchema } from '../core/phone-number.js';
import { RESERVED_VARIABLES } from '../core/schema-parts.js';
import type { OutboundCalls } from '../store/call-store.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { ApiError } from './api-error.js';
import type { RouteKit } from './live-state.js';

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variable names the template context already has: an operator's would be shadowed or confuse a template. */
const RESERVED = new Set<string>(RESERVED_VARIABLES);

const E164 = phoneNumberSchema('must be an E.164 phone number such as "+15551234567"');

export const PlaceCallBodySchema = z.strictObject({
  bot: z.string().min(1).max(128).meta({ description: 'The bot whose voice number places the call.' }),
  to: z
    .union([
      E164,
      z.strictObject({
        userId: z.string().min(1).max(256),
        externalId: z.string().min(1).max(256).optional(),
      }),
    ])
    .meta({
      description:
        'Whom to call: an E.164 number, or a registered user of this workspace (their voice number, else their SMS number).',
    }),
  flow: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .meta({ description: 'The flow run when the call is answered (default "main").' }),
  variables: z
    .record(
      z.string().regex(VARIABLE, { error: 'must be a name of letters, digits and "_"' }),
      z.string().max(1024),
    )
    .refine((vars) => Object.keys(vars).length <= 50, { error: 'at most 50 variables' })
    .refine((vars) => !Object.keys(vars).some((name) => RESERVED.has(name)), {
      error: `reserved names (${RESERVED_VARIABLES.join(', ')}) are the template context’s own`,
    })
    .optional()
    .meta({ description: 'The flow’s variables at its start, readable in templates as {{name}}.' }),
  machineDetection: z
    .strictObject({
      message: z
        .string()
        .min(1)
        .max(1000)
        .meta({ description: 'Said to an answering machine after its greeting, then the call hangs up.' }),
    })
    .optional()
    .meta({
      description:
        'Answering-machine detection: Twilio waits for a machine’s greeting to end; a person gets the flow.',
    }),
});

export const PlacedCallSchema = z.object({
  id: z.string().meta({ description: 'Twilio’s CallSid.' }),
  conversation: z.string().meta({
    description: 'The call’s conversation id, as GET /v1/conversations lists it once answered.',
  }),
  bot: z.string(),
  to: z.string(),
  flow: z.string(),
  status: z.literal('queued').meta({
    description: 'Twilio is placing the call; its outcome arrives as call.failed or as the flow running.',
  }),
});

export interface CallsDeps {
  calls: OutboundCalls;
  /** Places calls through Twilio; absent in the sandbox, where calls are answered 409. */
  placer: CallPlacer | undefined;
  conversations: ConversationStore;
  /** Where each Idempotency-Key's first answer is kept. */
  idempotency: IdempotencyStore;
}

export function mountCalls(router: Router, deps: CallsDeps, kit: RouteKit): void {
  const idempotent = idempotentRunner(deps.idempotency, kit.callerOf);
  router.post('/v1/calls', async (req, res) => {
    const body = kit.parse(PlaceCallBodySchema, req.body, 'body');
    const config = kit.config();
    const workspace = kit.callerOf(res).workspace;
    const bot = Object.hasOwn(config.bots, body.bot) ? config.bots[body.bot] : undefined;
    if (!bot || bot.workspace !== workspace)
      throw new ApiError(404, 'bot_not_found', `This workspace has no bot "${body.bot}".`);
    const from = bot.numbers.voice[0];
    if (!from)
      throw new ApiError(
        422,
        'no_voice_number',
        `Bot "${body.bot}" has no voice number to call from: add one under numbers.voice in its configuration.`,
      );
    const flow = body.flow ?? 'main';
    if (!Object.hasOwn(bot.flows, flow))
      throw new ApiError(404, 'flow_not_found', `Bot "${body.bot}" has no flow "${flow}".`);

    let to: string;
    if (typeof body.to === 'string') to = body.to;
    else {
      const scope = {
        workspace,
        userId: body.to.userId,
        ...(body.to.externalId ? { externalId: body.to.externalId } : {}),
      };
      const view = (await kit.identity.userExists(scope)) ? await kit.identity.getUser(scope) : undefined;
      if (!view) throw new ApiError(404, 'user_not_found', 'No such user in this workspace.');
      const number =
        view.identities.find((i) => i.channel === 'voice')?.address ??
        view.identities.find((i) => i.channel === 'sms')?.address;
      if (!number)
        throw new ApiError(
          422,
          'user_has_no_phone_number',
          'The user has no voice or SMS identity to call: register one with POST /v1/users.',
        );
      to = number;
    }

    // A retried request (the same Idempotency-Key) gets the first answer: one call, never two.
    await idempotent(req, res, 'calls', body, async () => {
      const callerCid = deps.conversations.keys.conversationId(body.bot, identityOf('voice', to));
      const [optedOut] = await deps.conversations.optedOut([callerCid]);
      if (optedOut)
        throw new ApiError(409, 'opted_out', `${to} opted out of bot "${body.bot}": it is not called.`);
      if (!deps.placer)
        throw new ApiError(
          409,
          'calls_need_twilio',
          'Outbound calls need a Twilio account: the sandbox cannot place calls. Add a twilio section to the configuration, or try the flow with an inbound call in the simulator.',
        );
      const account = accountOf(config, bot);
      if (!account)
        throw new ApiError(409, 'calls_need_twilio', `Bot "${body.bot}" has no Twilio account to call with.`);

      let sid: string;
      try {
        ({ sid } = await deps.placer.place({
          accountSid: account.accountSid,
          from,
          to,
          publicUrl: config.server.publicUrl,
          detectMachine: body.machineDetection !== undefined,
        }));
      } catch (error) {
        if (error instanceof CallRefusedError) {
          kit.logger.warn('Twilio refused an outbound call', {
            bot: body.bot,
            errorCode: error.code,
            reason: error.message,
          });
          throw new ApiError(
            424,
            'twilio_refused',
            `Twilio refused to place the call${error.code ? ` (error ${error.code})` : ''}: ${error.message}`,
            [
              {
                path: 'to',
                message: error.code ? `Twilio error ${error.code}` : `Twilio answered ${error.status}`,
              },
            ],
          );
        }
        if (error instanceof CallUnavailableError) {
          kit.logger.warn('outbound call not placed: Twilio unavailable', {
            bot: body.bot,
            reason: error.message,
          });
          res.set('Retry-After', '5');
          throw new ApiError(
            424,
            'twilio_unavailable',
            `The call was not placed: ${error.message}. Nothing was called; retry.`,
          );
        }
        throw error;
      }
      await deps.calls.remember(sid, {
        bot: body.bot,
        to,
        flow,
        vars: body.variables ?? {},
        ...(body.machineDetection ? { machineMessage: body.machineDetection.message } : {}),
      });
      kit.logger.info('outbound call placed', { bot: body.bot, channel: 'voice', flow });
      return {
        status: 201,
        body: JSON.stringify({
          id: sid,
          conversation: deps.conversations.keys.callConversationId(body.bot, identityOf('voice', to), sid),
          bot: body.bot,
          to,
          flow,
          status: 'queued',
        }),
      };
    });
  });
}
