// The operator API's zod schemas and the OpenAPI 3.1 document generated from them.
import { z } from 'zod';
import { CHANNELS } from '../config/index.js';
import { ANONYMOUS_PREFIX } from '../identity/types.js';
import { phoneNumberSchema } from '../core/phone-number.js';
import { TIERS } from '../core/ports/users.js';
import { VariableNameSchema } from '../config/schema.js';
import { MESSAGE_STATUSES } from '../store/message-store.js';
import { PlaceCallBodySchema, PlacedCallSchema } from './calls.js';

// Printable, no whitespace at the ends, no control characters: ids end up in logs, templates and events.
const ID_TEXT = /^[^\s\p{Cc}](?:[^\p{Cc}]*[^\s\p{Cc}])?$/u;
const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const MAX_TOKEN_TTL = 31_536_000;
export const MAX_LINK_CODE_TTL = 86_400;
export const MAX_HISTORY_LIMIT = 200;

export const ExternalIdSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(ID_TEXT, { error: 'must be printable text without leading or trailing spaces' })
  .meta({
    description:
      'The operator’s own sub-scope (team, org, account). The same userId with two externalIds is two users.',
  });

export const UserIdSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(ID_TEXT, { error: 'must be printable text without leading or trailing spaces' })
  .refine((id) => !id.startsWith(ANONYMOUS_PREFIX), {
    error: `"${ANONYMOUS_PREFIX}" is reserved for anonymous users`,
  })
  .meta({ description: 'The operator’s id for the user.' });

export const ComponentNameSchema = z
  .string()
  .regex(COMPONENT)
  .meta({ description: 'An auth component of one of the workspace’s bots.' });

export const CustomDataSchema = z
  .record(z.string().min(1).max(128), z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]))
  .refine((data) => Object.keys(data).length <= 100, { error: 'at most 100 entries' })
  .meta({ description: 'Flat data about the user, readable in templates as user.customData.NAME.' });

export const IdentityInputSchema = z
  .strictObject({
    channel: z.enum(CHANNELS),
    address: phoneNumberSchema('must be an E.164 phone number such as "+15551234567" (no channel prefix)'),
  })
  .meta({ description: 'A channel identity: a phone number on one channel.' });

const TokenInputSchema = z.strictObject({
  token: z
    .string()
    .min(1)
    .max(16_384)
    .meta({ description: 'The token’s value: stored encrypted, never shown again.' }),
  ttl: z.number().positive().max(MAX_TOKEN_TTL).meta({ description: 'Seconds the token is valid from now.' }),
});

export const RegisterUserBodySchema = z.strictObject({
  userId: UserIdSchema,
  externalId: ExternalIdSchema.optional(),
  name: z.string().min(1).max(256).optional(),
  email: z.email().max(320).optional(),
  customData: CustomDataSchema.optional(),
  identities: z.array(IdentityInputSchema).max(50).meta({
    description: 'The user’s complete list of identities: identities no longer listed are released.',
  }),
  tokens: z.record(ComponentNameSchema, TokenInputSchema).optional(),
});

export const RenewTokenBodySchema = TokenInputSchema;

export const CreateLinkCodeBodySchema = z.strictObject({
  userId: UserIdSchema,
  externalId: ExternalIdSchema.optional(),
  name: z.string().min(1).max(256).optional(),
  customData: CustomDataSchema.optional(),
  ttl: z
    .int()
    .positive()
    .max(MAX_LINK_CODE_TTL)
    .optional()
    .meta({ description: 'Seconds the code is valid (default 600).' }),
  keypad: z
    .boolean()
    .optional()
    .meta({ description: 'Ten digits for a caller to key, instead of ten letters and digits to type.' }),
});

export const UserQuerySchema = z.strictObject({ externalId: ExternalIdSchema.optional() });

/** A `limit` query parameter: a whole number from 1 to `max`. */
function limitParam(max: number, fallback: number) {
  return z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(z.int().min(1).max(max))
    .optional()
    .meta({ description: `How many to return (1 to ${max}, default ${fallback}).` });
}

/** An opaque `cursor` query parameter: the `nextCursor` of the previous page, as it was given. */
const CursorParam = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9_-]+$/, { error: 'must be a nextCursor from a previous answer' })
  .optional()
  .meta({ description: 'The `nextCursor` of the previous page, as given.' });

/** An ISO 8601 time as a query parameter, read as milliseconds. */
const TimeParam = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 time such as "2026-01-31T12:00:00Z"' })
  .transform((text) => Date.parse(text))
  .optional();

export const MAX_PAGE_LIMIT = 200;
export const DEFAULT_PAGE_LIMIT = 50;

export const HistoryQuerySchema = z.strictObject({
  externalId: ExternalIdSchema.optional(),
  limit: limitParam(MAX_HISTORY_LIMIT, 50),
  before: TimeParam.meta({ description: 'Only entries strictly before this time (ISO 8601).' }),
  after: TimeParam.meta({ description: 'Only entries at or after this time (ISO 8601).' }),
  cursor: CursorParam,
});

/** What a live conversation is doing; more states may come (a conversation handed off to a person). */
export const CONVERSATION_STATES = ['waiting', 'signing-in', 'idle', 'handoff'] as const;

export const ConversationsQuerySchema = z.strictObject({
  bot: z.string().min(1).max(128).optional().meta({ description: 'Only this bot’s conversations.' }),
  channel: z.enum(CHANNELS).optional().meta({ description: 'Only conversations on this channel.' }),
  state: z.enum(CONVERSATION_STATES).optional().meta({
    description:
      '"waiting": for an answer; "signing-in": a sign-in link is out; "idle": nothing awaited; "handoff": a person has it (the bot does not answer). More states may be added.',
  }),
  limit: limitParam(MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT),
  cursor: CursorParam,
});

export const LockoutsQuerySchema = z.strictObject({
  externalId: ExternalIdSchema.optional(),
  account: z.string().min(1).max(256).optional().meta({
    description:
      'An account id as the user types it at a login (its first field): its account lockouts, in every auth component, are included (or cleared) too.',
  }),
});

export const OptOutsQuerySchema = z.strictObject({
  externalId: ExternalIdSchema.optional(),
  bot: z.string().min(1).max(128).optional().meta({ description: 'Only this bot (default: every bot).' }),
});

export const PageQuerySchema = z.strictObject({
  limit: limitParam(MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT),
  cursor: CursorParam,
});

// --- answers (documented; built by hand in the router) ---

const Timestamp = z.iso.datetime().meta({ description: 'ISO 8601, UTC.' });
const Tier = z.enum(TIERS);

export const RegisteredUserSchema = z.object({
  userId: z.string(),
  externalId: z.string().optional(),
  tier: z.literal('verified'),
});

export const LinkCodeSchema = z.object({
  code: z
    .string()
    .meta({ description: 'Show it to the user: they send "LINK <code>" (or key it, for a keypad code).' }),
  expiresAt: Timestamp,
});

export const UserSchema = z.object({
  userId: z.string(),
  externalId: z.string().nullable(),
  tier: Tier,
  profile: z.object({
    name: z.string().nullable(),
    email: z.string().nullable(),
    customData: CustomDataSchema.nullable(),
    verified: z.boolean().meta({ description: 'False: what the user told a profile step, unproven.' }),
  }),
  identities: z.array(
    z.object({
      channel: z.enum(CHANNELS),
      address: z.string(),
      verified: z.boolean(),
      via: z.enum(['auth', 'link', 'operator']).nullable(),
      verifiedAt: Timestamp.nullable(),
    }),
  ),
  tokens: z
    .array(
      z.object({
        component: z.string(),
        expiresAt: Timestamp.meta({
          description:
            'When the access token expires; past it, a record with a refresh token is renewed on use.',
        }),
        refreshExpiresAt: Timestamp.nullable().meta({
          description: 'When the refresh token expires (the record is kept until then); null without one.',
        }),
      }),
    )
    .meta({
      description: 'Which tokens are cached and until when; never their values.',
    }),
  createdAt: Timestamp.nullable(),
  updatedAt: Timestamp.nullable(),
});

const NextCursor = z
  .string()
  .nullable()
  .meta({ description: 'Pass it as `cursor` for the next page; null on the last page.' });

const IdentitySchema = z
  .object({ channel: z.enum(CHANNELS), address: z.string() })
  .meta({ description: 'A channel identity, as in a user’s identities.' });

export const HistorySchema = z.object({
  userId: z.string(),
  entries: z.array(
    z.object({
      at: Timestamp,
      direction: z.enum(['in', 'out']),
      channel: z.enum(CHANNELS),
      address: z.string(),
      text: z.string().meta({ description: 'A secret answer is "[redacted]".' }),
      secret: z.boolean(),
    }),
  ),
  nextCursor: NextCursor.meta({ description: 'The page of older entries; null when there are none.' }),
});

export const ConversationListSchema = z.object({
  conversations: z.array(
    z.object({
      id: z.string().meta({ description: 'The conversation id (opaque).' }),
      bot: z.string(),
      channel: z.enum(CHANNELS),
      identity: IdentitySchema,
      state: z.enum(CONVERSATION_STATES),
      flow: z.string(),
      step: z.int().meta({ description: 'The index of the step in its flow that is waiting.' }),
      waiting: z
        .string()
        .nullable()
        .meta({ description: 'What the step waits for (ask, credential, signin…); null when nothing.' }),
      updatedAt: Timestamp.meta({ description: 'The last turn.' }),
      expiresAt: Timestamp.meta({ description: 'When the session ends if nothing more happens.' }),
    }),
  ),
  nextCursor: NextCursor,
});

export const LockoutsSchema = z.object({
  userId: z.string(),
  lockouts: z.array(
    z.object({
      kind: z.enum(['identity', 'account']),
      identity: IdentitySchema.nullable().meta({
        description: 'For an identity lockout; null for an account.',
      }),
      component: z.string(),
      failures: z.int().meta({ description: 'Failures counted in the current window.' }),
      lockedUntil: Timestamp.nullable().meta({
        description: 'The end of the lockout; null when not locked.',
      }),
    }),
  ),
});

export const OptOutsSchema = z.object({
  userId: z.string(),
  optOuts: z.array(z.object({ bot: z.string(), identity: IdentitySchema })),
});

export const DeadLetterSchema = z.object({
  id: z.string(),
  conversation: z.string(),
  bot: z.string().nullable(),
  eventId: z
    .string()
    .meta({ description: 'The provider’s id of the event (a MessageSid, a CallSid and turn).' }),
  reason: z.string(),
  at: Timestamp,
});

export const DeadLetterListSchema = z.object({
  deadLetters: z.array(DeadLetterSchema),
  nextCursor: NextCursor,
});

export const ReplaySchema = z.object({
  deadLetter: DeadLetterSchema,
  queued: z.literal('tail').meta({
    description: 'The event was put back at the end of its conversation’s inbox: after what waits there now.',
  }),
});

// --- handoff: an agent's reply and giving the conversation back ---

export const MAX_AGENT_TEXT = 1600;

export const AgentMessageBodySchema = z
  .strictObject({
    text: z
      .string()
      .max(MAX_AGENT_TEXT)
      .refine((text) => text.trim() !== '', { error: 'must not be empty' })
      .meta({
        description: 'What the agent says to the user: sent as it is, in order with the conversation.',
      }),
  })
  .meta({ description: 'A message from the operator’s agent to a handed-off conversation’s user.' });

export const ResumeBodySchema = z
  .strictObject({
    flow: z.string().min(1).max(128).optional().meta({
      description: 'Carry on at the start of this flow of the bot; default: the step after the handoff.',
    }),
  })
  .meta({ description: 'Give the conversation back to the bot.' });

export const HandoffQueuedSchema = z.object({
  conversation: z
    .string()
    .meta({ description: 'The conversation’s id (as GET /v1/conversations gives it).' }),
  id: z.string().meta({ description: 'The queued event’s id.' }),
  queued: z.literal('inbox').meta({
    description:
      'Queued in the conversation’s inbox, after whatever the user sent before: handled in that order.',
  }),
});

export const AuditListSchema = z.object({
  entries: z.array(
    z.object({
      id: z.string(),
      at: Timestamp,
      action: z.enum([
        'user.register',
        'user.erase',
        'token.renew',
        'token.revoke',
        'link-code.create',
        'lockout.clear',
        'opt-out.clear',
        'dead-letter.replay',
        'message.send',
        'conversation.start',
        'conversation.message',
        'conversation.resume',
      ]),
      key: z.string().meta({
        description:
          'The API key’s fingerprint: "key_" and the first 16 hex digits of its SHA-256 (printf %s KEY | sha256sum).',
      }),
      target: z.object({
        user: z.string().optional().meta({
          description:
            'The user, by an opaque reference that stays the same across entries (and after erasure).',
        }),
        userId: z
          .string()
          .optional()
          .meta({ description: 'Who the user is; left out once the user is erased.' }),
        externalId: z.string().optional(),
        component: z.string().optional(),
        bot: z.string().optional(),
        deadLetter: z.string().optional(),
        conversation: z.string().optional(),
        message: z.string().optional(),
      }),
    }),
  ),
  nextCursor: NextCursor,
});

// --- proactive: POST /v1/messages, GET /v1/messages/{id}, POST /v1/conversations ---

/** One message's text: Twilio's limit for one message body. */
export const MAX_PROACTIVE_TEXT = 1600;
const RECIPIENT_FORMAT =
  'must be "<channel>:+<E.164 number>" (e.g. "whatsapp:+447700900123", "sms:+15551234567") or {"userId": …, "channel": …}';
const CHANNEL_ADDRESS = new RegExp(`^(${CHANNELS.join('|')}):\\+[1-9][0-9]{6,14}$`);

const BotIdSchema = z
  .string()
  .min(1)
  .max(128)
  .meta({ description: 'The bot that sends: one of the workspace’s.' });

export const RecipientSchema = z
  .union(
    [
      z.string().regex(CHANNEL_ADDRESS, { error: RECIPIENT_FORMAT }).meta({
        description:
          'A channel identity: the channel, a colon and the E.164 number, e.g. "whatsapp:+447700900123".',
      }),
      z
        .strictObject({
          userId: UserIdSchema,
          externalId: ExternalIdSchema.optional(),
          channel: z.enum(CHANNELS),
        })
        .meta({
          description: 'A registered user of the workspace, reached on their identity of this channel.',
        }),
    ],
    { error: RECIPIENT_FORMAT },
  )
  .meta({ description: 'Who the message is for.' });

const VariableValue = z.union([z.string().max(1024), z.number()]);

export const TemplateRefSchema = z
  .strictObject({
    name: z.string().min(1).max(128).meta({ description: 'A template of the bot’s `templates`.' }),
    variables: z
      .record(z.string().min(1).max(64), VariableValue)
      .optional()
      .meta({ description: 'A value for each variable the template declares, by its name.' }),
  })
  .meta({ description: 'A WhatsApp template the bot declares, with its variables.' });

export const SendMessageBodySchema = z
  .strictObject({
    bot: BotIdSchema,
    to: RecipientSchema,
    text: z
      .string()
      .min(1)
      .max(MAX_PROACTIVE_TEXT)
      .optional()
      .meta({ description: 'Free text: SMS, or WhatsApp inside the 24-hour window.' }),
    template: TemplateRefSchema.optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.text === undefined) === (body.template === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of "text" and "template"' });
    }
  });

export const StartConversationBodySchema = z.strictObject({
  bot: BotIdSchema,
  to: RecipientSchema,
  flow: z.string().min(1).max(128).meta({ description: 'A flow of the bot, run from its first step.' }),
  variables: z
    .record(z.string(), z.union([z.string().max(4096), z.number(), z.boolean()]))
    .superRefine((vars, ctx) => {
      const names = Object.keys(vars);
      if (names.length > 100) ctx.addIssue({ code: 'custom', message: 'at most 100 variables' });
      for (const name of names) {
        const checked = VariableNameSchema.safeParse(name);
        if (!checked.success) {
          ctx.addIssue({ code: 'custom', path: [name], message: checked.error.issues[0]!.message });
        }
      }
    })
    .optional()
    .meta({ description: 'The flow’s variables to start with, readable in its templates.' }),
  template: TemplateRefSchema.optional().meta({
    description: 'WhatsApp: the template the first prompt goes through when the 24-hour window is closed.',
  }),
});

export const MessageAcceptedSchema = z.object({
  id: z.string().meta({ description: 'The message’s id: GET /v1/messages/{id}.' }),
  status: z.literal('queued'),
  bot: z.string(),
  channel: z.enum(CHANNELS),
  conversation: z
    .string()
    .meta({ description: 'The recipient’s conversation, as GET /v1/conversations names it.' }),
  sentAs: z.enum(['text', 'template']),
});

export const MessageSchema = z.object({
  id: z.string(),
  bot: z.string(),
  channel: z.enum(CHANNELS),
  conversation: z.string(),
  status: z.enum(MESSAGE_STATUSES),
  errorCode: z.string().nullable().meta({ description: 'Twilio’s error code of a failed message.' }),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const ConversationStartedSchema = z.object({
  conversation: z.string().meta({ description: 'The conversation’s id, as GET /v1/conversations lists it.' }),
  bot: z.string(),
  channel: z.enum(CHANNELS),
  flow: z.string(),
  status: z.literal('queued'),
});

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

// --- the document ---

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

function parameters(query: z.ZodObject, path: string[]): JsonSchema[] {
  const params: JsonSchema[] = path.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const shape = jsonSchema(query, 'input') as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  for (const [name, schema] of Object.entries(shape.properties ?? {})) {
    params.push({ name, in: 'query', required: shape.required?.includes(name) ?? false, schema });
  }
  return params;
}

function errors(...statuses: number[]): Record<string, JsonSchema> {
  const text: Record<number, string> = {
    400: 'Malformed request (invalid JSON).',
    401: 'Missing or unknown API key.',
    404: 'No such user, component, bot, flow, conversation or dead letter in this workspace.',
    409: 'Conflict: an identity belongs to another user; the conversation is not handed off to a person, or (WhatsApp) outside the 24-hour window.',
    413: 'Body over 1 MiB.',
    422: 'The body or query does not match the schema; the message names the field.',
    429: 'Rate limit: retry after the Retry-After header’s seconds.',
    503: 'Storage is unavailable: retry after the Retry-After header’s seconds.',
  };
  return Object.fromEntries(
    [401, 429, ...statuses, 503].map((status) => [
      String(status),
      {
        description: text[status],
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );
}

/** An error answer with its own description. */
function problem(description: string): JsonSchema {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
}

function body(ref: string): JsonSchema {
  return {
    required: true,
    content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
  };
}

function answer(description: string, ref?: string): JsonSchema {
  return ref
    ? { description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } }
    : { description };
}

const IDEMPOTENCY_KEY: JsonSchema = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description:
    'Any unique string of at most 255 characters (a UUID): the same key within 24 hours returns the first answer and sends nothing more.',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
};

/** The errors of the proactive endpoints, with what their 409 and 422 mean there. */
function proactiveErrors(): Record<string, JsonSchema> {
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  return {
    ...errors(400, 404, 409, 413, 422),
    '400': error('Invalid JSON, or no Idempotency-Key header.'),
    '404': error('No such bot, or no such user, in this workspace.'),
    '409': error(
      'Not sent: the recipient opted out, WhatsApp’s 24-hour window is closed and no template was given, or a request with this Idempotency-Key is still at work.',
    ),
    '422': error(
      'The body does not fit: unknown template or flow, wrong template variables, a channel the bot has no number on, voice (use POST /v1/calls), or an Idempotency-Key used before with another body.',
    ),
  };
}

/** The OpenAPI 3.1 document of the operator API, served at `GET /v1/openapi.json`. */
export function operatorOpenApiDocument(): JsonSchema {
  const userPath = ['userId'];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard operator API',
      version: '1',
      // The package is UNLICENSED: a LicenseRef is how SPDX names a licence of one's own.
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      description:
        'Register verified users, manage their cached tokens, issue link codes, read and erase what Switchboard knows about a user; ' +
        'see the conversations happening now, clear lockouts and opt-outs, replay dead letters, read the audit log. ' +
        'Every request carries "Authorization: Bearer <workspace API key>"; a key sees only its workspace.',
    },
    // Relative: the API is wherever this document was fetched from (the gateway's own address).
    servers: [{ url: '/', description: 'The gateway that serves this document.' }],
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A workspace API key.' } },
      schemas: {
        RegisterUser: jsonSchema(RegisterUserBodySchema, 'input'),
        RenewToken: jsonSchema(RenewTokenBodySchema, 'input'),
        CreateLinkCode: jsonSchema(CreateLinkCodeBodySchema, 'input'),
        RegisteredUser: jsonSchema(RegisteredUserSchema, 'output'),
        LinkCode: jsonSchema(LinkCodeSchema, 'output'),
        User: jsonSchema(UserSchema, 'output'),
        History: jsonSchema(HistorySchema, 'output'),
        ConversationList: jsonSchema(ConversationListSchema, 'output'),
        Lockouts: jsonSchema(LockoutsSchema, 'output'),
        OptOuts: jsonSchema(OptOutsSchema, 'output'),
        DeadLetterList: jsonSchema(DeadLetterListSchema, 'output'),
        Replay: jsonSchema(ReplaySchema, 'output'),
        AuditList: jsonSchema(AuditListSchema, 'output'),
        SendMessage: jsonSchema(SendMessageBodySchema, 'input'),
        MessageAccepted: jsonSchema(MessageAcceptedSchema, 'output'),
        Message: jsonSchema(MessageSchema, 'output'),
        StartConversation: jsonSchema(StartConversationBodySchema, 'input'),
        ConversationStarted: jsonSchema(ConversationStartedSchema, 'output'),
        AgentMessage: jsonSchema(AgentMessageBodySchema, 'input'),
        Resume: jsonSchema(ResumeBodySchema, 'input'),
        HandoffQueued: jsonSchema(HandoffQueuedSchema, 'output'),
        Error: jsonSchema(ErrorSchema, 'output'),
        PlaceCall: jsonSchema(PlaceCallBodySchema, 'input'),
        PlacedCall: jsonSchema(PlacedCallSchema, 'output'),
      },
    },
    paths: {
      '/v1/users': {
        post: {
          operationId: 'registerUser',
          summary: 'Register or update a verified user, with identities and optional tokens.',
          parameters: [],
          requestBody: body('RegisterUser'),
          responses: { '201': answer('Registered.', 'RegisteredUser'), ...errors(400, 409, 413, 422) },
        },
      },
      '/v1/users/{userId}': {
        get: {
          operationId: 'getUser',
          summary: 'Profile, tier, identities and cached tokens (never their values).',
          parameters: parameters(UserQuerySchema, userPath),
          responses: { '200': answer('The user.', 'User'), ...errors(404, 422) },
        },
        delete: {
          operationId: 'eraseUser',
          summary: 'Erase the user: profile, identities, tokens, history, link codes.',
          parameters: parameters(UserQuerySchema, userPath),
          responses: { '204': answer('Erased.'), ...errors(404, 422) },
        },
      },
      '/v1/users/{userId}/tokens': {
        delete: {
          operationId: 'revokeTokens',
          summary:
            'Revoke every cached token of the user, and at each provider that has a revocation endpoint.',
          parameters: parameters(UserQuerySchema, userPath),
          responses: { '204': answer('Revoked.'), ...errors(404, 422) },
        },
      },
      '/v1/users/{userId}/tokens/{component}': {
        put: {
          operationId: 'renewToken',
          summary: 'Store or renew the user’s token for one auth component.',
          parameters: parameters(UserQuerySchema, [...userPath, 'component']),
          requestBody: body('RenewToken'),
          responses: { '204': answer('Stored.'), ...errors(400, 404, 413, 422) },
        },
        delete: {
          operationId: 'revokeToken',
          summary: 'Revoke the user’s token for one auth component (at its provider too, when it can).',
          parameters: parameters(UserQuerySchema, [...userPath, 'component']),
          responses: { '204': answer('Revoked.'), ...errors(404, 422) },
        },
      },
      '/v1/users/{userId}/history': {
        get: {
          operationId: 'getHistory',
          summary:
            'A page of the user’s messages across their identities, the most recent that match, oldest first in the page; secrets as "[redacted]".',
          parameters: parameters(HistoryQuerySchema, userPath),
          responses: { '200': answer('The history.', 'History'), ...errors(404, 422) },
        },
      },
      '/v1/users/{userId}/lockouts': {
        get: {
          operationId: 'getLockouts',
          summary:
            'Failures and lockouts of the user’s identities, per auth component (and of a typed account id, with `account`).',
          parameters: parameters(LockoutsQuerySchema, userPath),
          responses: { '200': answer('The lockouts.', 'Lockouts'), ...errors(404, 422) },
        },
        delete: {
          operationId: 'clearLockouts',
          summary:
            'Clear the failures and lockouts of every identity of the user (and of the typed account id, with `account`).',
          parameters: parameters(LockoutsQuerySchema, userPath),
          responses: { '204': answer('Cleared: the user may try again.'), ...errors(404, 422) },
        },
      },
      '/v1/users/{userId}/opt-outs': {
        get: {
          operationId: 'getOptOuts',
          summary: 'The bots the user’s identities have opted out of (STOP).',
          parameters: parameters(OptOutsQuerySchema, userPath),
          responses: { '200': answer('The opt-outs.', 'OptOuts'), ...errors(404, 422) },
        },
        delete: {
          operationId: 'clearOptOuts',
          summary:
            'Opt the user’s identities back in, for every bot or one: only with the user’s consent (as START would).',
          parameters: parameters(OptOutsQuerySchema, userPath),
          responses: { '204': answer('Opted back in.'), ...errors(404, 422) },
        },
      },
      '/v1/messages': {
        post: {
          operationId: 'sendMessage',
          summary:
            'Send a message to a user first: free text (SMS; WhatsApp inside the 24-hour window) or a WhatsApp template with its variables. It joins the recipient’s outbox, after the replies already there.',
          parameters: [IDEMPOTENCY_KEY],
          requestBody: body('SendMessage'),
          responses: {
            '202': answer('Queued: its status is at GET /v1/messages/{id}.', 'MessageAccepted'),
            ...proactiveErrors(),
          },
        },
      },
      '/v1/messages/{messageId}': {
        get: {
          operationId: 'getMessage',
          summary:
            'A proactive message’s status: queued, sent, delivered, read, or failed with Twilio’s error code (from Twilio’s status callbacks).',
          parameters: parameters(z.strictObject({}), ['messageId']),
          responses: { '200': answer('The message.', 'Message'), ...errors(404) },
        },
      },
      '/v1/conversations': {
        post: {
          operationId: 'startConversation',
          summary:
            'Start a flow for a user, as if they had written: its first prompt is sent (through the template when WhatsApp’s window is closed) and their reply continues it.',
          parameters: [IDEMPOTENCY_KEY],
          requestBody: body('StartConversation'),
          responses: {
            '202': answer('Queued into the recipient’s conversation.', 'ConversationStarted'),
            ...proactiveErrors(),
          },
        },
        get: {
          operationId: 'listConversations',
          summary:
            'The workspace’s conversations happening now, most recently active first: who, where in the flows, what they wait for; never what was typed.',
          parameters: parameters(ConversationsQuerySchema, []),
          responses: { '200': answer('A page of conversations.', 'ConversationList'), ...errors(422) },
        },
      },
      '/v1/dead-letters': {
        get: {
          operationId: 'listDeadLetters',
          summary: 'Turns that kept failing and were set aside, newest first; never their event.',
          parameters: parameters(PageQuerySchema, []),
          responses: { '200': answer('A page of dead letters.', 'DeadLetterList'), ...errors(422) },
        },
      },
      '/v1/dead-letters/{deadLetterId}/replay': {
        post: {
          operationId: 'replayDeadLetter',
          summary:
            'Put the event back at the end of its conversation’s inbox and run the conversation: it is handled once more, with the state the conversation has now.',
          parameters: parameters(z.strictObject({}), ['deadLetterId']),
          responses: { '202': answer('Queued again.', 'Replay'), ...errors(404) },
        },
      },
      '/v1/conversations/{conversationId}/messages': {
        post: {
          operationId: 'sendAgentMessage',
          summary:
            'The operator’s agent writes to the user of a handed-off conversation (a handoff step ran): the text goes through the conversation’s inbox and outbox, in order. 409 when the conversation is not handed off.',
          parameters: parameters(z.strictObject({}), ['conversationId']),
          requestBody: body('AgentMessage'),
          responses: {
            '202': answer('Queued: the user gets it next, in order.', 'HandoffQueued'),
            ...errors(400, 404, 409, 413, 422),
          },
        },
      },
      '/v1/conversations/{conversationId}/resume': {
        post: {
          operationId: 'resumeConversation',
          summary:
            'Give a handed-off conversation back to the bot: it carries on at the step after the handoff, or at the start of the flow named. 409 when the conversation is not handed off.',
          parameters: parameters(z.strictObject({}), ['conversationId']),
          requestBody: { ...body('Resume'), required: false },
          responses: {
            '202': answer(
              'Queued: the bot runs on once what is queued before it is handled.',
              'HandoffQueued',
            ),
            ...errors(400, 404, 409, 413, 422),
          },
        },
      },
      '/v1/audit': {
        get: {
          operationId: 'listAudit',
          summary:
            'Every change made through this API in the workspace, newest first: which key, what, when, on whom; never a secret.',
          parameters: parameters(PageQuerySchema, []),
          responses: { '200': answer('A page of the audit log.', 'AuditList'), ...errors(422) },
        },
      },
      '/v1/link-codes': {
        post: {
          operationId: 'createLinkCode',
          summary: 'A one-time code the user sends as "LINK <code>" to become this verified user.',
          parameters: [],
          requestBody: body('CreateLinkCode'),
          responses: { '201': answer('Created.', 'LinkCode'), ...errors(400, 413, 422) },
        },
      },
      '/v1/calls': {
        post: {
          operationId: 'placeCall',
          summary:
            'Place a call from a bot’s voice number through Twilio; when it is answered the flow runs on the keypad as on an incoming call. No answer, busy, failed and canceled calls arrive as call.failed events.',
          parameters: [IDEMPOTENCY_KEY],
          requestBody: body('PlaceCall'),
          responses: {
            '201': answer('Twilio is placing the call.', 'PlacedCall'),
            ...errors(400, 413, 422),
            '404': problem(
              'No such bot or flow in this workspace, or no such user (bot_not_found, flow_not_found, user_not_found).',
            ),
            '409': problem(
              'The number opted out of the bot (opted_out), or there is no Twilio account to call with: the sandbox cannot place calls (calls_need_twilio).',
            ),
            '424': problem(
              'Twilio refused the call (twilio_refused, with Twilio’s error code) or could not be reached (twilio_unavailable, with Retry-After): nothing was called.',
            ),
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document.',
          security: [],
          responses: {
            '200': { description: 'OpenAPI 3.1.', content: { 'application/json': {} } },
            '406': {
              description: 'The Accept header allows no JSON.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
            },
          },
        },
      },
    },
  };
}
