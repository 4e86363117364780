// The zod schema of the operator configuration: the single source of its types and defaults.
import { z } from 'zod';
import { authMethods, onAuthMethodRegistered, type AuthComponent } from '../auth/index.js';
import { isAllowHostEntry } from './hosts.js';
import { parseCidr } from '../net/addresses.js';
import {
  LOCALES,
  LocaleSchema,
  STEPS,
  TextsSchema,
  resolveLocale,
  resolveTexts,
  type StepOf,
  type StepRegistry,
  type TextOverrides,
} from '../core/dialog.js';
import { NonEmpty, PositiveSeconds, Text, withHint } from '../core/schema-parts.js';
import { isE164 } from '../core/phone-number.js';
import { CHANNEL_NAMES } from '../../channels/index.js';
import { Id } from '../core/primitives.js';
import { KeywordsSchema } from './keywords.js';

export {
  AnswerPathSchema,
  HTTP_METHODS,
  RESERVED_VARIABLES,
  VariableNameSchema,
  withHint,
} from '../core/schema-parts.js';
export { AskOptionsSchema, type AskOptions } from '../core/dialog/steps/ask.js';
export { RequestOptionsSchema, type RequestOptions } from '../core/dialog/steps/request.js';
export { CredentialFieldSchema } from '../core/primitives.js';
export type { CredentialField } from '../core/primitives.js';

/** The channels a bot has numbers on: the registry's. */
export const CHANNELS = CHANNEL_NAMES;
export const ChannelSchema = z.enum(CHANNELS);
export type { Channel } from '../core/events.js';

export const EVENT_TYPES = [
  'conversation.started',
  'conversation.ended',
  'user.verified',
  'identity.moved',
  'auth.failed',
  'user.locked',
  'user.opted_out',
  'user.opted_in',
  'message.failed',
  'link_codes.locked',
  'message.status',
  'conversation.handoff',
  'conversation.message',
  'conversation.resumed',
  'call.failed',
] as const;
export const EventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.output<typeof EventTypeSchema>;

export const PhoneNumberSchema = z.string().superRefine((number, ctx) => {
  if (isE164(number)) return;
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

// --- steps: each step is a mapping with one key, its kind; the kinds come from the step registry ---

/**
 * The schema of a step of the registry's kinds: a zod discriminated union on `kind`, which the step's one
 * key names. A value that is not such a mapping is one issue carrying the kinds (see `issues.ts`).
 */
export function stepSchema<R extends StepRegistry>(steps: R): z.ZodType<StepOf<R>> {
  const kinds = Object.keys(steps);
  const options = Object.values(steps).map((step) =>
    z.strictObject({ kind: z.literal(step.kind), [step.kind]: step.schema }),
  );
  const union = z.discriminatedUnion('kind', options as unknown as [z.ZodObject, ...z.ZodObject[]]);
  return z
    .preprocess((value, ctx) => {
      const keys = isMapping(value) ? Object.keys(value) : [];
      if (keys.length === 1 && kinds.includes(keys[0]!)) return { kind: keys[0], ...(value as object) };
      ctx.addIssue({ code: 'custom', message: 'not a step', params: { stepKinds: kinds } });
      return value;
    }, union)
    .transform(({ kind: _kind, ...step }) => step) as unknown as z.ZodType<StepOf<R>>;
}

function isMapping(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type StepKind = keyof typeof STEPS & string;

// --- auth components: one option per registered auth method (src/auth/methods/), told apart by `type` ---

function authComponentUnion(): z.ZodType<AuthComponent> {
  const [first, ...rest] = authMethods().map((method) => method.schema);
  return z.discriminatedUnion('type', [first!, ...rest]);
}

export let AuthComponentSchema = authComponentUnion();
export type { AuthComponent };

// The engine's ports pass the bot's auth components through: they are this type (core cannot import it).
declare module '../core/ports/auth-component.js' {
  interface DialogConfigTypes {
    authComponent: AuthComponent;
  }
}

// --- bots, workspaces, the whole file ---

export const TwilioSchema = z.strictObject({
  accountSid: NonEmpty,
  authToken: NonEmpty,
  apiBaseUrl: AbsoluteHttpUrl.optional(),
  redactSecretMessages: z.boolean().default(false),
});
export type TwilioConfig = z.output<typeof TwilioSchema>;

/** Messages per second one sender may send (Twilio's limit for it); fractions allowed (0.5: one per 2 s). */
const MessagesPerSecond = z.number().positive().max(1000);
/** A sender as Twilio writes it: an E.164 number, a short code, or a WhatsApp sender. */
const SENDER = /^(whatsapp:)?\+[1-9]\d{1,14}$|^\d{3,8}$/;

/**
 * Send pacing per sender: the defaults by kind of sender (Twilio's: 1/s for a long code, 100/s for a short
 * code, 80/s for a WhatsApp sender), a rate per number, and how many seconds of sends a reply may run
 * ahead of the rate (Twilio queues them at the sender's rate).
 */
export const PacingSchema = z
  .strictObject({
    longCode: MessagesPerSecond.default(1),
    shortCode: MessagesPerSecond.default(100),
    whatsapp: MessagesPerSecond.default(80),
    replyAhead: z.number().min(0).max(14_400).default(3600),
    numbers: z
      .record(z.string(), MessagesPerSecond)
      .superRefine((numbers, ctx) => {
        for (const sender of Object.keys(numbers)) {
          if (SENDER.test(sender)) continue;
          ctx.addIssue({
            code: 'custom',
            path: [sender],
            message: withHint(
              `"${sender}" is not a sender`,
              'write an E.164 number ("+15551234567"), a short code ("12345") or "whatsapp:+15551234567".',
            ),
          });
        }
      })
      .default({}),
  })
  .prefault({});
export type PacingConfig = z.output<typeof PacingSchema>;

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
  /**
   * A login that verifies a channel identity as another user than the one it belongs to moves it:
   * `allow` (the default) moves it and emits `identity.moved`, `forbid` refuses the login.
   */
  identityMoves: z.enum(['allow', 'forbid']).default('allow'),
});
export type WorkspaceConfig = z.output<typeof WorkspaceSchema>;

export const ServerSchema = z.strictObject({
  publicUrl: AbsoluteHttpUrl,
  port: z.int().min(0).max(65535).default(3000),
  /** Absent: 127.0.0.1 in sandbox mode (its endpoints have no authentication), 0.0.0.0 in production. */
  host: NonEmpty.optional(),
});
export type ServerConfig = z.output<typeof ServerSchema>;

const NumberList = z.array(PhoneNumberSchema).default([]);

/** A WhatsApp template Twilio approved (its Content SID) and the names of its variables, in order. */
export const TemplateSchema = z.strictObject({
  contentSid: z.string().regex(/^HX[0-9a-fA-F]{32}$/, {
    error: withHint(
      'is not a Content SID',
      'copy the template\'s SID from the Twilio console (Content Template Builder): "HX" and 32 hex digits.',
    ),
  }),
  variables: z
    .array(z.string().regex(/^[A-Za-z0-9_]{1,64}$/, { error: 'a variable name is letters, digits or _' }))
    .default([])
    .superRefine((names, ctx) => {
      const twice = names.filter((name, i) => names.indexOf(name) !== i);
      if (twice.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: withHint(
            `variable "${twice[0]}" is listed twice`,
            "list each of the template's variables once.",
          ),
        });
      }
    }),
});
export type TemplateConfig = z.output<typeof TemplateSchema>;

/** The bot and whole-file schemas for a step registry (tests add kinds of their own). */
export function configSchemas<R extends StepRegistry>(steps: R) {
  const BotFields = z.strictObject({
    workspace: NonEmpty,
    numbers: z
      .strictObject(
        Object.fromEntries(CHANNELS.map((c) => [c, NumberList])) as Record<
          (typeof CHANNELS)[number],
          typeof NumberList
        >,
      )
      .prefault({}),
    /** The language of the engine's texts (default: that of voice.language when there are texts for it, else en). */
    locale: LocaleSchema.optional(),
    voice: z
      .strictObject({
        /** Default: the locale's (en-US, es-ES). */
        language: NonEmpty.optional(),
        /** Default: the locale's (Polly.Joanna, Polly.Lucia). */
        voice: NonEmpty.optional(),
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
        /** The same as texts.holdMessage. */
        holdMessage: Text.optional(),
      })
      .prefault({}),
    sessionTimeout: PositiveSeconds.default(1800),
    /** The same as texts.help. */
    help: Text.optional(),
    keywords: KeywordsSchema,
    whatsappTemplate: z.strictObject({ contentSid: NonEmpty }).optional(),
    /** WhatsApp templates the operator API sends by name (proactive messages, started flows). */
    templates: z.record(Id, TemplateSchema).default({}),
    rateLimit: z
      .strictObject({
        messagesPerMinute: z.int().positive().default(30),
        /** The same as texts.rateLimited. */
        reply: Text.optional(),
      })
      .prefault({}),
    auth: z.record(Id, AuthComponentSchema).default({}),
    flows: z.record(NonEmpty, z.array(stepSchema(steps)).min(1)),
    /** The engine's texts by name (see docs/configuration.md), spoken variants under `voice:`. */
    texts: TextsSchema.optional(),
  });
  // Each text resolved once, here: from the locale and what the bot wrote.
  const BotSchema = BotFields.transform(withTexts);

  const ConfigSchema = z.strictObject({
    server: ServerSchema,
    twilio: TwilioSchema.optional(),
    pacing: PacingSchema,
    workspaces: z.record(Id, WorkspaceSchema).default({}),
    bots: z.record(Id, BotSchema).default({}),
  });
  return { BotSchema, ConfigSchema };
}

interface WrittenTexts {
  locale?: string | undefined;
  help?: string | undefined;
  voice: { language?: string | undefined; voice?: string | undefined; holdMessage?: string | undefined };
  rateLimit: { reply?: string | undefined };
  texts?: TextOverrides | undefined;
}

/**
 * Resolves a bot's locale, voice and texts once, at load: each text is the bot's own (under `texts:`, or
 * the older `help`, `voice.holdMessage`, `rateLimit.reply`) or its locale's.
 */
function withTexts<B extends WrittenTexts>(bot: B) {
  const locale =
    (bot.locale === undefined ? undefined : resolveLocale(bot.locale)) ??
    (bot.voice.language === undefined ? undefined : resolveLocale(bot.voice.language)) ??
    'en';
  const written: TextOverrides = { ...bot.texts };
  if (bot.help !== undefined) written.help ??= bot.help;
  if (bot.voice.holdMessage !== undefined) written.holdMessage ??= bot.voice.holdMessage;
  if (bot.rateLimit.reply !== undefined) written.rateLimited ??= bot.rateLimit.reply;
  const texts = resolveTexts(locale, written);
  return {
    ...bot,
    locale,
    help: texts.text.help,
    voice: {
      ...bot.voice,
      language: bot.voice.language ?? LOCALES[locale].language,
      voice: bot.voice.voice ?? LOCALES[locale].speaker,
      holdMessage: texts.voice.holdMessage,
    },
    rateLimit: { ...bot.rateLimit, reply: texts.text.rateLimited },
    texts,
  };
}

export const StepSchema = stepSchema(STEPS);
export let { BotSchema, ConfigSchema } = configSchemas(STEPS);
export type Step = z.output<typeof StepSchema>;
export type BotConfig = z.output<typeof BotSchema>;
export type Config = z.output<typeof ConfigSchema>;

// A method registered after this module loaded (a test's own) joins the union: rebuild what holds it.
onAuthMethodRegistered(() => {
  AuthComponentSchema = authComponentUnion();
  ({ BotSchema, ConfigSchema } = configSchemas(STEPS));
});
