// The operator API's zod schemas and the OpenAPI 3.1 document generated from them.
import { z } from 'zod';
import { CHANNELS } from '../config/index.js';
import { ANONYMOUS_PREFIX } from '../identity/types.js';
import { phoneNumberSchema } from '../core/phone-number.js';
import { TIERS } from '../core/ports/users.js';

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

export const HistoryQuerySchema = z.strictObject({
  externalId: ExternalIdSchema.optional(),
  limit: z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(z.int().min(1).max(MAX_HISTORY_LIMIT))
    .optional(),
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
    404: 'No such user (or component) in this workspace.',
    409: 'Conflict: an identity belongs to another user.',
    413: 'Body over 1 MiB.',
    422: 'The body or query does not match the schema; the message names the field.',
    429: 'Rate limit: retry after the Retry-After header’s seconds.',
  };
  return Object.fromEntries(
    [401, 429, ...statuses].map((status) => [
      String(status),
      {
        description: text[status],
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );
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

/** The OpenAPI 3.1 document of the operator API, served at `GET /v1/openapi.json`. */
export function operatorOpenApiDocument(): JsonSchema {
  const userPath = ['userId'];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard operator API',
      version: '1',
      description:
        'Register verified users, manage their cached tokens, issue link codes, read and erase what Switchboard knows about a user. ' +
        'Every request carries "Authorization: Bearer <workspace API key>"; a key sees only its workspace.',
    },
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
        Error: jsonSchema(ErrorSchema, 'output'),
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
          summary: 'Recent messages across the user’s identities, oldest first; secrets as "[redacted]".',
          parameters: parameters(HistoryQuerySchema, userPath),
          responses: { '200': answer('The history.', 'History'), ...errors(404, 422) },
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
      '/v1/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document.',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1.', content: { 'application/json': {} } } },
        },
      },
    },
  };
}
