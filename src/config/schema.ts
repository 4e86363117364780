// The zod schema of the operator configuration: the single source of its types and defaults.
import { z } from 'zod';
import { authMethods, onAuthMethodRegistered, type AuthComponent } from '../auth/index.js';
import { isAllowHostEntry } from './hosts.js';
import {
  AnswerPathSchema,
  Count,
  Headers,
  Id,
  Method,
  NonEmpty,
  Pattern,
  PositiveSeconds,
  Text,
  VariableNameSchema,
  digitsNeedKeypad,
  withHint,
} from './primitives.js';
import { parseCidr } from '../net/addresses.js';

export {
  AnswerPathSchema,
  CredentialFieldSchema,
  RESERVED_VARIABLES,
  VariableNameSchema,
  withHint,
} from './primitives.js';
export type { CredentialField } from './primitives.js';

const E164 = /^\+[1-9]\d{1,14}$/;

export const CHANNELS = ['sms', 'whatsapp', 'voice'] as const;
export const ChannelSchema = z.enum(CHANNELS);
export type Channel = z.output<typeof ChannelSchema>;

export const EVENT_TYPES = [
  'conversation.started',
  'conversation.ended',
  'user.verified',
  'auth.failed',
  'user.locked',
  'user.opted_out',
  'user.opted_in',
  'message.failed',
  'link_codes.locked',
] as const;
export const EventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.output<typeof EventTypeSchema>;

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const PhoneNumberSchema = z.string().superRefine((number, ctx) => {
  if (E164.test(number)) return;
  const hint = /^(whatsapp|sms|voice):/i.test(number)
    ? 'write the number without the channel prefix, e.g. "+15551234567".'
    : 'write "+", the country code and the number, digits only, e.g. "+15551234567".';
  ctx.addIssue({ code: 'custom', message: withHint(`"${number}" is not an E.164 phone number`, hint) });
});

/** An absolute http(s) URL with nothing templated, stored without a trailing slash. */
const AbsoluteHttpUrl = z
  .string()
  .superRefine((url, ctx) => {
    const problem = absoluteHttpUrlProblem(url);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((url) => url.replace(/\/+$/, ''));

function absoluteHttpUrlProblem(url: string): string | undefined {
  const example = 'write a full URL such as "https://gateway.example.com".';
  if (url.includes('{{') || url.includes('{%'))
    return withHint('this URL cannot contain a template', example);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return withHint(`"${url}" is not an absolute URL`, example);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return withHint(`the scheme must be http or https, not "${parsed.protocol.slice(0, -1)}"`, example);
  }
  if (parsed.search !== '' || parsed.hash !== '')
    return withHint('the URL cannot have a query or fragment', example);
  return undefined;
}

// --- steps: each step is a mapping with exactly one key, its kind ---

export const SayStepSchema = z.strictObject({ say: Text });

export const AskOptionsSchema = z
  .strictObject({
    prompt: Text,
    save: VariableNameSchema,
    keypad: z.boolean().default(false),
    digits: z.int().positive().optional(),
    pattern: Pattern.optional(),
    secret: z.boolean().default(false),
    retries: Count.default(2),
    invalid: Text.default("Sorry, I didn't understand. Goodbye."),
    timeout: PositiveSeconds.optional(),
  })
  .superRefine(digitsNeedKeypad);
export const AskStepSchema = z.strictObject({ ask: AskOptionsSchema });

export const AuthStepSchema = z.strictObject({ auth: NonEmpty });

export const RequestOptionsSchema = z
  .strictObject({
    method: Method(HTTP_METHODS).default('GET'),
    url: NonEmpty,
    headers: Headers.optional(),
    body: z.unknown().optional(),
    auth: NonEmpty.optional(),
    save: z.record(VariableNameSchema, AnswerPathSchema).optional(),
    timeout: PositiveSeconds.default(10),
    retry: Count.default(0),
    onError: NonEmpty.optional(),
  })
  .superRefine((request, ctx) => {
    // Repeating a POST or PATCH after a lost answer could do the operation twice.
    if (request.retry > 0 && (request.method === 'POST' || request.method === 'PATCH')) {
      ctx.addIssue({
        code: 'custom',
        path: ['retry'],
        message: withHint(
          `a ${request.method} request is not retried: it may not be safe to repeat`,
          'remove "retry", or use onError to offer another path.',
        ),
      });
    }
  });
export const RequestStepSchema = z.strictObject({ request: RequestOptionsSchema });

export const SwitchStepSchema = z.strictObject({
  switch: z.strictObject({
    value: Text,
    cases: z.record(z.string(), NonEmpty),
    default: NonEmpty.optional(),
  }),
});

export const SetStepSchema = z.strictObject({ set: z.record(VariableNameSchema, Text) });

export const ProfileStepSchema = z.strictObject({
  profile: z
    .strictObject({
      name: z.union([z.boolean(), z.string()]).optional(),
      email: z.union([z.boolean(), z.string()]).optional(),
    })
    .refine((p) => p.name !== undefined || p.email !== undefined, {
      error: withHint(
        'a profile step asks for at least one of name and email',
        'add "name: true" or "email: true".',
      ),
    }),
});

/** Asks for a link code and redeems it: how a caller, who cannot type LINK, links on voice. */
export const LinkStepSchema = z.strictObject({
  // Required (write `- link: {}` for the defaults): a defaulted key would make every other step match it.
  link: z.strictObject({
    prompt: Text.default('Enter your link code.'),
    retries: Count.default(2),
    invalid: Text.default("Sorry, I couldn't link your account."),
  }),
});

export const GotoStepSchema = z.strictObject({ goto: NonEmpty });

export const EndStepSchema = z.strictObject({ end: Text.nullable() });

/** The step kinds, in the order of StepSchema's options. */
export const STEP_KINDS = [
  'say',
  'ask',
  'auth',
  'request',
  'switch',
  'set',
  'profile',
  'link',
  'goto',
  'end',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const StepSchema = z.union([
  SayStepSchema,
  AskStepSchema,
  AuthStepSchema,
  RequestStepSchema,
  SwitchStepSchema,
  SetStepSchema,
  ProfileStepSchema,
  LinkStepSchema,
  GotoStepSchema,
  EndStepSchema,
]);

export type Step = z.output<typeof StepSchema>;
export type SayStep = z.output<typeof SayStepSchema>;
export type AskStep = z.output<typeof AskStepSchema>;
export type AskOptions = z.output<typeof AskOptionsSchema>;
export type AuthStep = z.output<typeof AuthStepSchema>;
export type RequestStep = z.output<typeof RequestStepSchema>;
export type RequestOptions = z.output<typeof RequestOptionsSchema>;
export type SwitchStep = z.output<typeof SwitchStepSchema>;
export type SetStep = z.output<typeof SetStepSchema>;
export type ProfileStep = z.output<typeof ProfileStepSchema>;
export type GotoStep = z.output<typeof GotoStepSchema>;
export type LinkStep = z.output<typeof LinkStepSchema>;
export type EndStep = z.output<typeof EndStepSchema>;

// --- auth components: one option per registered auth method (src/auth/methods/), told apart by `type` ---

function authComponentUnion(): z.ZodType<AuthComponent> {
  const [first, ...rest] = authMethods().map((method) => method.schema);
  return z.discriminatedUnion('type', [first!, ...rest]);
}

export let AuthComponentSchema = authComponentUnion();
export type { AuthComponent };

// --- bots, workspaces, the whole file ---

const NumberList = z.array(PhoneNumberSchema).default([]);

export let BotSchema = z.strictObject({
  workspace: NonEmpty,
  numbers: z.strictObject({ sms: NumberList, whatsapp: NumberList, voice: NumberList }).prefault({}),
  voice: z
    .strictObject({
      language: NonEmpty.default('en-US'),
      voice: NonEmpty.default('Polly.Joanna'),
      replyWaitMs: z.int().positive().default(2500),
      gatherTimeout: PositiveSeconds.default(5),
      trustCallerId: z.boolean().default(false),
      restartKey: z
        .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string())
        .pipe(
          z.string().regex(/^[0-9*#]?$/, {
            error: withHint(
              'must be one key of the keypad',
              'use one of 0-9, * or #, or "" to turn restarting off.',
            ),
          }),
        )
        .default('*'),
      holdMessage: Text.default('One moment please.'),
    })
    .prefault({}),
  sessionTimeout: PositiveSeconds.default(1800),
  help: Text.default('Reply MENU to start over, STOP to opt out.'),
  whatsappTemplate: z.strictObject({ contentSid: NonEmpty }).optional(),
  rateLimit: z
    .strictObject({
      messagesPerMinute: z.int().positive().default(30),
      reply: Text.default('You are sending messages too quickly. Please wait a minute.'),
    })
    .prefault({}),
  auth: z.record(Id, AuthComponentSchema).default({}),
  flows: z.record(NonEmpty, z.array(StepSchema).min(1)),
});
export type BotConfig = z.output<typeof BotSchema>;

export const TwilioSchema = z.strictObject({
  accountSid: NonEmpty,
  authToken: NonEmpty,
  apiBaseUrl: AbsoluteHttpUrl.optional(),
  redactSecretMessages: z.boolean().default(false),
});
export type TwilioConfig = z.output<typeof TwilioSchema>;

export const AllowHostSchema = z.string().superRefine((entry, ctx) => {
  if (isAllowHostEntry(entry)) return;
  const hint =
    entry === '*'
      ? 'list the hosts the bots call; "*.example.com" allows every subdomain of example.com.'
      : 'write a hostname only (no scheme, port or path), e.g. "api.example.com" or "*.example.com".';
  ctx.addIssue({ code: 'custom', message: withHint(`"${entry}" is not a host name`, hint) });
});

export const PrivateAddressRangeSchema = z.string().superRefine((entry, ctx) => {
  const parsed = parseCidr(entry);
  if (typeof parsed !== 'string') return;
  ctx.addIssue({
    code: 'custom',
    message: withHint(
      parsed,
      'write an address or a range in CIDR notation, e.g. "10.20.0.0/16" or "fd00:1::/64".',
    ),
  });
});

export const WorkspaceSchema = z.strictObject({
  apiKeys: z.array(NonEmpty).min(1),
  allowHosts: z.array(AllowHostSchema).default([]),
  allowPrivateAddresses: z.array(PrivateAddressRangeSchema).optional(),
  events: z
    .strictObject({
      url: AbsoluteHttpUrl,
      secret: NonEmpty,
      types: z.array(EventTypeSchema).optional(),
    })
    .optional(),
  twilio: TwilioSchema.optional(),
  rateLimit: z.strictObject({ requestsPerMinute: z.int().positive().default(600) }).optional(),
  /** Wrong link codes the whole workspace may receive per window before redemptions pause. */
  linkCodes: z
    .strictObject({
      maxFailures: z.int().positive().default(100),
      window: PositiveSeconds.default(900),
      lockout: PositiveSeconds.default(900),
    })
    .prefault({}),
});
export type WorkspaceConfig = z.output<typeof WorkspaceSchema>;

export const ServerSchema = z.strictObject({
  publicUrl: AbsoluteHttpUrl,
  port: z.int().min(0).max(65535).default(3000),
  /** Absent: 127.0.0.1 in sandbox mode (its endpoints have no authentication), 0.0.0.0 in production. */
  host: NonEmpty.optional(),
});
export type ServerConfig = z.output<typeof ServerSchema>;

export let ConfigSchema = z.strictObject({
  server: ServerSchema,
  twilio: TwilioSchema.optional(),
  workspaces: z.record(Id, WorkspaceSchema).default({}),
  bots: z.record(Id, BotSchema).default({}),
});
export type Config = z.output<typeof ConfigSchema>;

// A method registered after this module loaded (a test's own) joins the union: rebuild what holds it.
onAuthMethodRegistered(() => {
  AuthComponentSchema = authComponentUnion();
  BotSchema = BotSchema.extend({ auth: z.record(Id, AuthComponentSchema).default({}) });
  ConfigSchema = ConfigSchema.extend({ bots: z.record(Id, BotSchema).default({}) });
});
