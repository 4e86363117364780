// Sandbox-only simulator: serves the built phone page, and plays Twilio for it with signed webhooks over loopback.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import express, { type Request, type Response, type Router } from 'express';
import { signedFormHeaders } from '../../../channels/index.js';
import { z } from 'zod';
import { identityOf, type Channel } from '../../core/events.js';
import { isE164, phoneNumberSchema } from '../../core/phone-number.js';
import type { Tier } from '../../core/ports/users.js';
import { awaitsSecret, type DialogState } from '../../core/dialog.js';
import type { Logger } from '../../log.js';
import type { Directory } from '../../config/directory.js';
import { handoffOf } from '../handoff.js';

/** The account the simulator's webhooks name; in sandbox mode one auth token signs for every account. */
export const SIMULATOR_ACCOUNT_SID = 'AC00000000000000000000000000000000';

/** How long the simulator waits for the gateway's own webhook to answer (voice holds answer in seconds). */
const WEBHOOK_TIMEOUT_MS = 30_000;

/** What the simulator shows about the user behind a channel identity: never a token's value. */
export interface SandboxUserView {
  tier: Tier;
  name?: string;
  /**
   * Components with a live cached token (or a live refresh token), with the access token's absolute expiry
   * and, when there is a refresh token, its expiry (ms since the epoch).
   */
  tokens: { component: string; expiresAt: number; refreshExpiresAt?: number }[];
  /** Where the conversation stands; absent when the lookup has no conversation or lockout store. */
  conversation?: SandboxConversationView;
}

/**
 * Where a conversation stands, as the simulator shows it: states only, never a variable of the dialog or
 * anything the user typed.
 */
export interface SandboxConversationView {
  /** The user replied STOP: only HELP is answered until START. */
  optedOut: boolean;
  /** The bot's auth components this identity is locked out of, with the end of each lockout (ms). */
  lockouts: { component: string; until: number }[];
  /** A sign-in link is out for this component (until it expires, ms), or it was used and a code is awaited. */
  signingIn?: { component: string; linkExpiresAt: number; awaitingCode: boolean };
  /** The next answer is a secret (a password, a PIN, a code): the page and `switchboard chat` hide it. */
  awaitingSecret: boolean;
  /** A person has the conversation (a handoff step): the bot does not answer until it is resumed. */
  handedOff?: boolean;
}

/**
 * Who Switchboard thinks is behind a channel identity, as the simulator shows it. Implemented by
 * `sandboxUserLookup` over the identity store and the token store.
 */
export interface SandboxUserLookup {
  describe(botId: string, identity: string, callSid?: string): Promise<SandboxUserView>;
  /** Only where the conversation stands (of one call, given its CallSid); undefined without the stores. */
  conversation?(
    botId: string,
    identity: string,
    callSid?: string,
  ): Promise<SandboxConversationView | undefined>;
}

/**
 * The parts of `IdentityStore`, `TokenStore`, `ConversationStore`, `Keys` and `Lockout` that
 * `sandboxUserLookup` reads (the conversation's three are optional: without them there is no state).
 */
export interface SandboxUserSources {
  directory: () => Directory;
  identities: {
    resolveUser(input: {
      workspace: string;
      identity: string;
      trustCallerId?: boolean;
    }): Promise<{ userId: string; externalId?: string; tier: Tier; name?: string }>;
  };
  tokens: {
    list(scope: {
      workspace: string;
      userId: string;
      externalId?: string;
    }): Promise<{ component: string; expiresAt: number; refreshExpiresAt?: number }[]>;
  };
  conversations?: {
    head(cid: string): Promise<{ state: DialogState | null; optedOut: boolean }>;
    state(cid: string): Promise<DialogState | null>;
  };
  /** `Keys`: the ids the conversation store files a conversation (and a call) under. */
  conversationIds?: {
    conversationId(botId: string, identity: string): string;
    callConversationId(botId: string, identity: string, callSid: string): string;
  };
  lockouts?: {
    isLocked(target: {
      workspace: string;
      identity: string;
      component: string;
    }): Promise<{ until: number } | undefined>;
  };
}

/** The lookup over the real stores: the bot's workspace scopes the user, as the dialogs see it. */
export function sandboxUserLookup(sources: SandboxUserSources): SandboxUserLookup {
  const { conversations, conversationIds, lockouts } = sources;
  async function conversation(
    botId: string,
    identity: string,
    callSid?: string,
  ): Promise<SandboxConversationView | undefined> {
    const bot = sources.directory().bot(botId);
    if (!bot) throw new Error(`no bot ${botId}`);
    if (!conversations || !conversationIds || !lockouts) return undefined;
    const cid = conversationIds.conversationId(botId, identity);
    // A call's dialog is its own conversation; its opt-out is the caller's.
    const [head, callState, locked] = await Promise.all([
      conversations.head(cid),
      callSid ? conversations.state(conversationIds.callConversationId(botId, identity, callSid)) : undefined,
      Promise.all(
        Object.keys(bot.auth).map(async (component) => {
          const lock = await lockouts.isLocked({ workspace: bot.workspace, identity, component });
          return lock ? { component, until: lock.until } : undefined;
        }),
      ),
    ]);
    const state = callSid ? (callState ?? null) : head.state;
    const pending = state?.pending;
    const signIn =
      pending?.kind === 'signin'
        ? (pending as { component?: unknown; linkExpiresAt?: unknown; completed?: unknown })
        : undefined;
    return {
      optedOut: head.optedOut,
      lockouts: locked.filter((l) => l !== undefined),
      ...(signIn && typeof signIn.component === 'string'
        ? {
            signingIn: {
              component: signIn.component,
              linkExpiresAt: Number(signIn.linkExpiresAt),
              awaitingCode: signIn.completed === true,
            },
          }
        : {}),
      awaitingSecret: awaitsSecret(bot, state),
      ...(handoffOf(state, Date.now()) ? { handedOff: true } : {}),
    };
  }
  return {
    conversation,
    async describe(botId, identity, callSid) {
      const bot = sources.directory().bot(botId);
      if (!bot) throw new Error(`no bot ${botId}`);
      const user = await sources.identities.resolveUser({
        workspace: bot.workspace,
        identity,
        trustCallerId: bot.voice.trustCallerId,
      });
      const tokens = await sources.tokens.list({
        workspace: bot.workspace,
        userId: user.userId,
        ...(user.externalId !== undefined ? { externalId: user.externalId } : {}),
      });
      const state = await conversation(botId, identity, callSid);
      return {
        tier: user.tier,
        ...(user.name ? { name: user.name } : {}),
        tokens,
        ...(state ? { conversation: state } : {}),
      };
    },
  };
}

export interface SimulatorDeps {
  directory: () => Directory;
  /** Signs the simulator's webhooks; default: the directory's sandbox token (SWITCHBOARD_SANDBOX_AUTH_TOKEN). */
  authToken?: string;
  /**
   * Where this gateway's webhooks are reached over HTTP, e.g. `http://127.0.0.1:3000`; default: the
   * address the simulator's own request came in on (the same server).
   */
  selfUrl?: string | (() => string | undefined);
  /** What Switchboard knows about users; absent, the page says "unknown". */
  users?: SandboxUserLookup;
  /**
   * The sandbox outbox (`SandboxOutbox`): the user's own simulated messages are kept there beside the
   * replies, so that the page rebuilds the thread after a reload. Needs `users` to tell a secret answer,
   * which is kept as `secret: true` without its text.
   */
  thread?: { add(to: string, record: string): Promise<void> };
  /** What the page suggests trying (the demo's accounts and PINs): `GET /simulator/notes`. */
  notes?: readonly string[];
  /** Plays the operator's agent on a handed-off conversation (`sandboxAgent`); absent, the page cannot. */
  agent?: (
    botId: string,
    identity: string,
    action: { kind: 'agent'; text: string } | { kind: 'resume' },
  ) => Promise<'queued' | 'not_handed_off'>;
  logger?: Logger;
}

/** A message the simulated user sent, as the outbox keeps it (`direction: 'in'`; `GET /sandbox/outbox?thread=1`). */
export interface SimulatedInbound {
  sid: string;
  direction: 'in';
  /** The bot's number (with its `whatsapp:` prefix): which bot's thread it belongs to. */
  to: string;
  from: string;
  /** Empty when `secret`. */
  body: string;
  secret?: true;
  at: string;
}

/** A voice answer, read out of the gateway's TwiML for the page. */
export interface SimulatedVoiceStep {
  says: string[];
  gather?: { action: string; numDigits?: number; input: string[]; finishOnKey?: string; timeout?: number };
  pauseSeconds?: number;
  redirect?: string;
  hangup: boolean;
}

const E164 = phoneNumberSchema('must be an E.164 number like +15551234567');
const BotId = z.string().min(1).max(200);
const CallSid = z.string().regex(/^CA[0-9a-f]{32}$/, 'must be the callSid the call started with');
const ActionUrl = z.string().max(2000);

const MessageRequest = z.object({
  bot: BotId,
  from: E164,
  text: z.string().min(1, 'type a message').max(1600, 'a message is at most 1,600 characters'),
  profileName: z.string().max(100).optional(),
  /** WhatsApp: a tapped quick-reply button or list item (the id Twilio posts, and its title). */
  tap: z
    .object({
      type: z.enum(['button', 'list']),
      id: z.string().min(1).max(200),
      title: z.string().max(200),
    })
    .optional(),
});

/** The fields Twilio adds to a WhatsApp message that is a tapped button (ButtonPayload) or list item (ListId). */
function tapParams(tap: NonNullable<z.output<typeof MessageRequest>['tap']>): Record<string, string> {
  return tap.type === 'button'
    ? { MessageType: 'button', ButtonText: tap.title, ButtonPayload: tap.id }
    : { MessageType: 'interactive', ListId: tap.id, ListTitle: tap.title };
}

const VoiceRequest = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), bot: BotId, from: E164 }),
  z.object({
    action: z.literal('gather'),
    bot: BotId,
    from: E164,
    callSid: CallSid,
    url: ActionUrl,
    digits: z
      .string()
      .regex(/^[0-9*#]{0,64}$/, 'keypad keys only: 0-9, * and #')
      .default(''),
    speech: z.string().max(500).optional(),
  }),
  z.object({ action: z.literal('redirect'), bot: BotId, from: E164, callSid: CallSid, url: ActionUrl }),
  z.object({ action: z.literal('hangup'), bot: BotId, from: E164, callSid: CallSid }),
]);

// A channel prefix (none is SMS), then the number, which isE164 checks.
const ADDRESS = /^(?:(sms|whatsapp|voice):)?(.*)$/;

function newSid(prefix: 'SM' | 'CA'): string {
  return prefix + randomBytes(16).toString('hex');
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function attribute(tag: string, name: string): string | undefined {
  const value = new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
  return value === undefined ? undefined : unescapeXml(value);
}

/** Reads the gateway's TwiML (Say, Gather, Pause, Redirect, Hangup) in document order. */
export function readVoiceTwiml(xml: string): SimulatedVoiceStep {
  const says = [...xml.matchAll(/<Say\b[^>]*>([\s\S]*?)<\/Say>/g)].map((m) => unescapeXml(m[1]!));
  const step: SimulatedVoiceStep = { says, hangup: /<Hangup\s*\/>/.test(xml) };
  const gatherTag = /<Gather\b([^>]*)>/.exec(xml)?.[1];
  if (gatherTag !== undefined) {
    const numDigits = attribute(gatherTag, 'numDigits');
    const finishOnKey = attribute(gatherTag, 'finishOnKey');
    const timeout = attribute(gatherTag, 'timeout');
    step.gather = {
      action: attribute(gatherTag, 'action') ?? '',
      input: (attribute(gatherTag, 'input') ?? 'dtmf').split(/\s+/).filter(Boolean),
      ...(numDigits !== undefined ? { numDigits: Number(numDigits) } : {}),
      ...(finishOnKey !== undefined ? { finishOnKey } : {}),
      ...(timeout !== undefined ? { timeout: Number(timeout) } : {}),
    };
  }
  const pause = /<Pause\b([^>]*)\/?>/.exec(xml)?.[1];
  if (pause !== undefined) step.pauseSeconds = Number(attribute(pause, 'length') ?? 1);
  const redirect = /<Redirect\b[^>]*>([^<]*)<\/Redirect>/.exec(xml)?.[1];
  if (redirect !== undefined) step.redirect = unescapeXml(redirect);
  return step;
}

/** The address a request came in on, as a URL the server can post to itself. */
function arrivalUrl(req: Request): string {
  let host = req.socket.localAddress ?? '127.0.0.1';
  if (host.startsWith('::ffff:')) host = host.slice('::ffff:'.length);
  if (host === '::' || host === '0.0.0.0') host = '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${req.socket.localPort ?? 80}`;
}

function problem(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ error: { code, message } });
}

function zodMessage(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/**
 * The built page (`npm run build`): beside this module in dist/, or dist/'s copy when this module runs
 * from source, as under vitest.
 */
const PAGE_DIRS = [
  new URL('./page/', import.meta.url),
  new URL('../../../dist/src/http/simulator/page/', import.meta.url),
];

const PAGE_FILES = [
  { path: '/simulator', file: 'index.html', type: 'html' },
  { path: '/simulator/app.js', file: 'app.js', type: 'text/javascript' },
  { path: '/simulator/app.css', file: 'style.css', type: 'text/css' },
];

/** The page's files, read once; undefined when the page was not built. */
function readPage(): Map<string, string> | undefined {
  const dir = PAGE_DIRS.find((d) => existsSync(new URL('app.js', d)));
  if (!dir) return undefined;
  return new Map(PAGE_FILES.map(({ file }) => [file, readFileSync(new URL(file, dir), 'utf8')]));
}

interface WebhookAnswer {
  status: number;
  body: string;
}

export function simulatorRouter(deps: SimulatorDeps): Router {
  const router = express.Router();
  const json = express.json({ limit: '16kb' });

  // Belt and braces: the router is mounted only in sandbox mode, and it also refuses outside it.
  router.use(['/simulator', '/sandbox/simulate', '/sandbox/user', '/sandbox/agent'], (_req, res, next) => {
    if (!deps.directory().sandbox)
      return void res.status(404).type('text/plain').send('Not in sandbox mode.');
    next();
  });

  const page = readPage();
  for (const { path, file, type } of PAGE_FILES) {
    router.get(path, (_req, res) => {
      const body = page?.get(file);
      if (body === undefined) {
        return void res
          .status(500)
          .type('text/plain')
          .send('The simulator page is not built: run npm run build.');
      }
      res
        .status(200)
        .type(type)
        .set({
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
          'Content-Security-Policy':
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        })
        .send(body);
    });
  }

  /** Signs `params` for the public URL + path, as Twilio would, and posts them to this gateway. */
  async function post(req: Request, path: string, params: Record<string, string>): Promise<WebhookAnswer> {
    const directory = deps.directory();
    const authToken = deps.authToken ?? directory.sandbox?.authToken ?? '';
    const configured = typeof deps.selfUrl === 'function' ? deps.selfUrl() : deps.selfUrl;
    const base = (configured ?? arrivalUrl(req)).replace(/\/$/, '');
    const res = await fetch(base + path, {
      method: 'POST',
      headers: {
        ...signedFormHeaders(authToken, directory.publicUrl + path, params),
        'user-agent': 'TwilioProxy/1.1 (Switchboard simulator)',
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    return { status: res.status, body: await res.text() };
  }

  function unreachable(res: Response, error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    deps.logger?.warn('simulator could not reach the gateway webhooks', { reason });
    problem(res, 502, 'webhook_unreachable', `The gateway's webhook did not answer: ${reason}.`);
  }

  function storeUnavailable(res: Response, bot: string, error: unknown) {
    deps.logger?.warn('simulator could not read the conversation', {
      bot,
      reason: error instanceof Error ? error.message : String(error),
    });
    problem(res, 503, 'unavailable', 'The conversation store did not answer; try again.');
  }

  /** The bot's first number on a channel, or an answer saying why there is none. */
  function numberOf(res: Response, botId: string, channel: Channel): string | undefined {
    const bot = deps.directory().bot(botId);
    if (!bot) return void problem(res, 404, 'unknown_bot', `There is no bot "${botId}".`);
    const number = bot.numbers[channel][0];
    if (!number) return void problem(res, 422, 'no_number', `Bot "${botId}" has no ${channel} number.`);
    return number;
  }

  /**
   * Keeps the user's message in the outbox beside the replies, before it is posted so that it comes before
   * them. An answer to a secret prompt is kept without its text; unknown whether it is one, it is not kept.
   */
  async function keepInThread(
    bot: string,
    channel: Channel,
    message: { sid: string; to: string; from: string; body: string },
  ): Promise<void> {
    if (!deps.thread || !deps.users?.conversation) return;
    const state = await deps.users.conversation(bot, identityOf(channel, message.from));
    if (!state) return;
    const record: SimulatedInbound = {
      sid: message.sid,
      direction: 'in',
      to: message.to,
      from: message.from,
      body: state.awaitingSecret ? '' : message.body,
      ...(state.awaitingSecret ? { secret: true as const } : {}),
      at: new Date().toISOString(),
    };
    await deps.thread.add(message.from, JSON.stringify(record));
  }

  router.get('/simulator/notes', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ notes: deps.notes ?? [] });
  });

  router.post('/sandbox/simulate/:channel', json, async (req, res) => {
    const channel = req.params.channel;
    if (!req.is('application/json'))
      return problem(res, 415, 'invalid_request', 'Send the request as application/json.');
    if (channel === 'sms' || channel === 'whatsapp') {
      const parsed = MessageRequest.safeParse(req.body);
      if (!parsed.success) return problem(res, 400, 'invalid_request', zodMessage(parsed.error));
      const { bot, from, text, profileName, tap } = parsed.data;
      if (tap && channel !== 'whatsapp')
        return problem(
          res,
          400,
          'invalid_request',
          'tap is for WhatsApp buttons and lists; send text on SMS.',
        );
      const number = numberOf(res, bot, channel);
      if (!number) return;
      const sid = newSid('SM');
      const prefix = channel === 'whatsapp' ? 'whatsapp:' : '';
      const params: Record<string, string> = {
        ToCountry: 'US',
        SmsMessageSid: sid,
        NumMedia: '0',
        SmsSid: sid,
        SmsStatus: 'received',
        Body: text,
        To: prefix + number,
        NumSegments: String(Math.max(1, Math.ceil(text.length / 153))),
        MessageSid: sid,
        AccountSid: SIMULATOR_ACCOUNT_SID,
        From: prefix + from,
        ApiVersion: '2010-04-01',
        ...(channel === 'whatsapp'
          ? {
              WaId: from.slice(1),
              ProfileName: profileName || 'Sandbox User',
              MessageType: 'text',
              ReferralNumMedia: '0',
              ...(tap ? tapParams(tap) : {}),
            }
          : {}),
      };
      let answer: WebhookAnswer;
      try {
        await keepInThread(bot, channel, { sid, to: prefix + number, from: prefix + from, body: text });
      } catch (error) {
        return storeUnavailable(res, bot, error);
      }
      try {
        answer = await post(req, `/webhooks/${channel}`, params);
      } catch (error) {
        return unreachable(res, error);
      }
      const accepted = answer.status === 200;
      return void res.json({
        status: accepted ? 'accepted' : 'refused',
        httpStatus: answer.status,
        messageSid: sid,
        ...(accepted ? {} : { detail: answer.body.slice(0, 500) }),
      });
    }
    if (channel !== 'voice') {
      return problem(res, 404, 'unknown_channel', 'The channel must be sms, whatsapp or voice.');
    }

    const parsed = VoiceRequest.safeParse(req.body);
    if (!parsed.success) return problem(res, 400, 'invalid_request', zodMessage(parsed.error));
    const request = parsed.data;
    const number = numberOf(res, request.bot, 'voice');
    if (!number) return;
    const callSid = request.action === 'start' ? newSid('CA') : request.callSid;
    const call = {
      AccountSid: SIMULATOR_ACCOUNT_SID,
      ApiVersion: '2010-04-01',
      CallSid: callSid,
      Direction: 'inbound',
      From: request.from,
      Caller: request.from,
      To: number,
      Called: number,
    };

    let path = '/webhooks/voice';
    let params: Record<string, string>;
    if (request.action === 'start') {
      params = { ...call, CallStatus: 'ringing', CallerCountry: 'US' };
    } else if (request.action === 'hangup') {
      path = '/webhooks/voice/status';
      params = { ...call, CallStatus: 'completed', CallDuration: '0' };
    } else {
      // Only URLs the gateway's own TwiML can name: the simulator never posts anywhere else.
      const publicUrl = deps.directory().publicUrl;
      const rest = request.url.startsWith(publicUrl) ? request.url.slice(publicUrl.length) : '';
      if (!/^\/webhooks\/voice\/(gather|result)\?[A-Za-z0-9=&]{1,200}$/.test(rest)) {
        return problem(
          res,
          400,
          'invalid_request',
          'url must be a Gather action or Redirect from the gateway TwiML.',
        );
      }
      path = rest;
      params = { ...call, CallStatus: 'in-progress' };
      if (request.action === 'gather') {
        const keys = request.digits.replace(/#$/, '');
        params.Digits = keys;
        params.FinishedOnKey = request.digits.endsWith('#') ? '#' : '';
        if (request.speech) {
          params.SpeechResult = request.speech;
          params.Confidence = '0.92';
        }
        if (keys || request.speech) params.msg = 'Gather End';
      }
    }

    let answer: WebhookAnswer;
    try {
      answer = await post(req, path, params);
    } catch (error) {
      return unreachable(res, error);
    }
    if (request.action === 'hangup') {
      return void res.json({
        status: answer.status < 300 ? 'ended' : 'refused',
        httpStatus: answer.status,
        callSid,
      });
    }
    if (answer.status !== 200) {
      return void res.json({
        status: 'refused',
        httpStatus: answer.status,
        callSid,
        detail: answer.body.slice(0, 500),
      });
    }
    res.json({
      status: 'answered',
      httpStatus: answer.status,
      callSid,
      twiml: readVoiceTwiml(answer.body),
      xml: answer.body,
    });
  });

  mountSandboxAgent(router, deps, json);

  router.get('/sandbox/user', async (req, res) => {
    const { bot, address, callSid } = req.query;
    const match = typeof address === 'string' ? ADDRESS.exec(address) : null;
    if (typeof bot !== 'string' || !match || !isE164(match[2]!)) {
      return problem(
        res,
        400,
        'invalid_request',
        'Give ?bot=ID&address=whatsapp:+15551234567 (or sms:+…, voice:+…; a bare number is SMS).',
      );
    }
    if (callSid !== undefined && !(typeof callSid === 'string' && CallSid.safeParse(callSid).success)) {
      return problem(
        res,
        400,
        'invalid_request',
        'callSid must be a CallSid like CA followed by 32 hex digits.',
      );
    }
    if (!deps.directory().bot(bot)) return problem(res, 404, 'unknown_bot', `There is no bot "${bot}".`);
    const identity = identityOf((match[1] ?? 'sms') as Channel, match[2]!);
    res.set('Cache-Control', 'no-store');
    if (!deps.users) return void res.json({ available: false, identity });
    let user: SandboxUserView;
    try {
      user = await deps.users.describe(bot, identity, typeof callSid === 'string' ? callSid : undefined);
    } catch (error) {
      deps.logger?.warn('simulator could not describe a user', {
        bot,
        reason: error instanceof Error ? error.message : String(error),
      });
      return problem(res, 503, 'unavailable', 'The identity store did not answer; try again.');
    }
    // Copied field by field, so nothing but names, states and expiries can ever reach the page.
    const c = user.conversation;
    res.json({
      available: true,
      identity,
      tier: user.tier,
      ...(user.name ? { name: user.name } : {}),
      tokens: user.tokens.map((t) => ({
        component: t.component,
        expiresAt: t.expiresAt,
        ...(t.refreshExpiresAt !== undefined ? { refreshExpiresAt: t.refreshExpiresAt } : {}),
      })),
      ...(c
        ? {
            conversation: {
              optedOut: c.optedOut,
              lockouts: c.lockouts.map((l) => ({ component: l.component, until: l.until })),
              ...(c.signingIn
                ? {
                    signingIn: {
                      component: c.signingIn.component,
                      linkExpiresAt: c.signingIn.linkExpiresAt,
                      awaitingCode: c.signingIn.awaitingCode,
                    },
                  }
                : {}),
              awaitingSecret: c.awaitingSecret,
              ...(c.handedOff ? { handedOff: true } : {}),
            },
          }
        : {}),
    });
  });

  return router;
}

const AgentRequest = z.strictObject({
  bot: z.string().min(1).max(128),
  address: z.string().max(64),
  action: z.enum(['message', 'resume']),
  text: z.string().max(1600).optional(),
});

/**
 * `POST /sandbox/agent {bot, address, action: "message" | "resume", text}`: the simulator's agent on a
 * handed-off conversation, queued as `POST /v1/conversations/{id}/messages` and `/resume` queue it.
 */
function mountSandboxAgent(router: Router, deps: SimulatorDeps, json: ReturnType<typeof express.json>): void {
  router.post('/sandbox/agent', json, async (req, res) => {
    const parsed = AgentRequest.safeParse(req.body);
    if (!parsed.success) return problem(res, 400, 'invalid_request', zodMessage(parsed.error));
    const { bot, address, action, text } = parsed.data;
    const match = ADDRESS.exec(address);
    if (!match || !isE164(match[2]!) || match[1] === 'voice')
      return problem(
        res,
        400,
        'invalid_request',
        'Give the address as sms:+15551234567 or whatsapp:+15551234567.',
      );
    if (action === 'message' && !text?.trim())
      return problem(res, 400, 'invalid_request', 'Give the agent\'s text in "text".');
    if (!deps.directory().bot(bot)) return problem(res, 404, 'unknown_bot', `There is no bot "${bot}".`);
    if (!deps.agent) return problem(res, 404, 'unavailable', 'This gateway does not wire the agent in.');
    const identity = identityOf((match[1] ?? 'sms') as Channel, match[2]!);
    const outcome = await deps.agent(
      bot,
      identity,
      action === 'message' ? { kind: 'agent', text: text! } : { kind: 'resume' },
    );
    if (outcome === 'not_handed_off')
      return problem(res, 409, 'not_handed_off', 'The conversation is not handed off to a person.');
    res.status(202).json({ status: 'queued' });
  });
}
