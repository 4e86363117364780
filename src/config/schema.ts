// The zod schema of the operator configuration: the single source of its types and defaults.
import { z } from 'zod';
import { isAllowHostEntry } from './hosts.js';
import { parseCidr } from '../net/addresses.js';
import { CHANNEL_NAMES } from '../../channels/index.js';

/** Names a flow, save or set may not take: the template context already has them. */
export const RESERVED_VARIABLES = ['input', 'authtoken', 'user', 'channel', 'from', 'bot'] as const;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const E164 = /^\+[1-9]\d{1,14}$/;
// `data.items[0].amount` or `data.items.0.amount`; a leading `[0]` reads into an answer that is a list.
const ANSWER_PATH = /^(?:[^.[\]]+|\[\d+\])(?:\.[^.[\]]+|\[\d+\])*$/;

/** The channels a bot has numbers on: the registry's. */
export const CHANNELS = CHANNEL_NAMES;
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

/** A message with its hint, joined so a refinement can carry both through zod. */
export function withHint(message: string, hint: string): string {
  return `${message}\n${hint}`;
}

// Text that is rendered (a template or plain words): YAML turns `say: 42` into a number, which is still text.
const Text = z.preprocess(
  (v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v),
  z.string(),
);

const NonEmpty = z.string().min(1);

const Id = z.string().regex(ID, {
  error: withHint(
    'not a valid name',
    'use letters, digits, "-", "_" and ".", starting with a letter or digit.',
  ),
});

export const VariableNameSchema = z.string().superRefine((name, ctx) => {
  if (!VARIABLE_NAME.test(name)) {
    ctx.addIssue({
      code: 'custom',
      message: withHint(
        `"${name}" is not a valid variable name`,
        'use letters, digits and "_", starting with a letter or "_".',
      ),
    });
  } else if ((RESERVED_VARIABLES as readonly string[]).includes(name)) {
    ctx.addIssue({
      code: 'custom',
      message: withHint(
        `"${name}" is a reserved variable name`,
        `pick another name; reserved: ${RESERVED_VARIABLES.join(', ')}.`,
      ),
    });
  }
});

const PositiveSeconds = z.number().positive();
const Count = z.int().min(0);

const Pattern = z.string().superRefine((pattern, ctx) => {
  try {
    new RegExp(pattern);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: withHint(
        `not a valid regular expression: ${(err as Error).message}`,
        'write a JavaScript regular expression without surrounding slashes, e.g. "^[0-9]{4}$".',
      ),
    });
  }
});

export const AnswerPathSchema = z.string().regex(ANSWER_PATH, {
  error: withHint('not a valid path into the JSON answer', 'write it like "data.items[0].amount".'),
});

const Method = <const M extends readonly [string, ...string[]]>(methods: M) =>
  z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(methods));

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

const CredentialFieldObject = z.strictObject({
  name: VariableNameSchema,
  prompt: Text,
  secret: z.boolean().default(false),
  keypad: z.boolean().default(false),
  digits: z.int().positive().optional(),
  pattern: Pattern.optional(),
});

function digitsNeedKeypad(
  value: { digits?: number | undefined; keypad: boolean },
  ctx: z.RefinementCtx,
): void {
  if (value.digits !== undefined && !value.keypad) {
    ctx.addIssue({
      code: 'custom',
      path: ['digits'],
      message: withHint(
        '"digits" only applies to keypad input',
        'add "keypad: true", or use "pattern" to check the length of a typed answer.',
      ),
    });
  }
}

export const CredentialFieldSchema = CredentialFieldObject.superRefine(digitsNeedKeypad);
export type CredentialField = z.output<typeof CredentialFieldSchema>;

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

const Headers = z.record(z.string(), Text);

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

// --- auth components ---

/**
 * Whose user ids a component's typed ids are: its own (the default, the component's name), a name shared
 * with the components whose ids agree, or `false` for the workspace's own ids (those of the operator API).
 */
const UserNamespace = z.union([
  z.literal(false),
  z.string().regex(ID, {
    error: withHint(
      'not a valid user namespace',
      'use letters, digits, "-", "_" and ".", starting with a letter or digit, or false for the workspace\'s own user ids.',
    ),
  }),
]);

/** Failed attempts counted per typed account id, whatever phone or channel they come from. */
const AccountLimit = z.strictObject({
  /** Default: three times the component's `maxAttempts` (one person's tries on all three channels). */
  maxAttempts: z.int().positive().optional(),
  /** Seconds the account is locked (also the window failures count in); default the component's `lockout`. */
  lockout: PositiveSeconds.optional(),
});

export const LoginComponentSchema = z.strictObject({
  type: z.literal('login'),
  method: Method(['GET', 'POST'] as const).default('POST'),
  url: NonEmpty,
  headers: Headers.optional(),
  fields: z.array(CredentialFieldSchema).min(1),
  body: z.unknown().optional(),
  token: z.strictObject({ path: AnswerPathSchema.optional() }).default({}),
  expiresInPath: AnswerPathSchema.optional(),
  ttl: PositiveSeconds.default(3600),
  userIdPath: AnswerPathSchema.optional(),
  userNamespace: UserNamespace.optional(),
  maxAttempts: z.int().positive().default(3),
  lockout: PositiveSeconds.default(900),
  account: AccountLimit.extend({ field: VariableNameSchema.optional() }).optional(),
  timeout: PositiveSeconds.default(10),
});

export const VerifyComponentSchema = z.strictObject({
  type: z.literal('verify'),
  url: NonEmpty,
  fields: z.array(CredentialFieldSchema).superRefine((fields, ctx) => {
    if (fields.length < 2) {
      ctx.addIssue({
        code: 'custom',
        message: withHint(
          `a verify component needs 2 fields, found ${fields.length}`,
          'list the member number (sent as auth_id) then the code (sent as auth_code).',
        ),
      });
    }
  }),
  ttl: PositiveSeconds.default(3600),
  userNamespace: UserNamespace.optional(),
  maxAttempts: z.int().positive().default(3),
  lockout: PositiveSeconds.default(900),
  account: AccountLimit.optional(),
  timeout: PositiveSeconds.default(10),
});

export const AuthComponentSchema = z
  .discriminatedUnion('type', [LoginComponentSchema, VerifyComponentSchema])
  .superRefine((component, ctx) => {
    if (component.type !== 'login') return;
    if (component.userIdPath !== undefined && component.userNamespace !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['userNamespace'],
        message: withHint(
          'userNamespace does not apply with userIdPath: the service names the user, and that id is used as is',
          'remove userNamespace, or remove userIdPath to name users by what they type.',
        ),
      });
    }
    const field = component.account?.field;
    if (field === undefined) return;
    const named = component.fields.find((f) => f.name === field);
    if (!named || named.secret) {
      ctx.addIssue({
        code: 'custom',
        path: ['account', 'field'],
        message: withHint(
          named ? `field "${field}" is secret and cannot name the account` : `there is no field "${field}"`,
          `name the field the user types their account id in: ${component.fields
            .filter((f) => !f.secret)
            .map((f) => `"${f.name}"`)
            .join(', ')}.`,
        ),
      });
    }
  });
export type AuthComponent = z.output<typeof AuthComponentSchema>;
export type LoginComponent = z.output<typeof LoginComponentSchema>;
export type VerifyComponent = z.output<typeof VerifyComponentSchema>;

// --- bots, workspaces, the whole file ---

const NumberList = z.array(PhoneNumberSchema).default([]);

export const BotSchema = z.strictObject({
  workspace: NonEmpty,
  numbers: z
    .strictObject(
      Object.fromEntries(CHANNELS.map((c) => [c, NumberList])) as Record<
        (typeof CHANNELS)[number],
        typeof NumberList
      >,
    )
    .prefault({}),
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

export const ConfigSchema = z.strictObject({
  server: ServerSchema,
  twilio: TwilioSchema.optional(),
  workspaces: z.record(Id, WorkspaceSchema).default({}),
  bots: z.record(Id, BotSchema).default({}),
});
export type Config = z.output<typeof ConfigSchema>;
