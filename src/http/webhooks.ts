// Twilio's webhooks: check the signature, read the event, queue it once, answer quickly.
import express, { type Request, type Response, type Router } from 'express';
import twilio from 'twilio';
import { channels, type ChannelAdapter, type WebhookParams } from '../../channels/index.js';
import type { ChannelEvent } from '../../channels/channel-adapter.js';
import type { Channel, InboundEvent } from '../core/events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Queues } from '../queue/queues.js';
import type { TurnWaiter } from '../queue/turn-waiter.js';
import type { CallAccepted, ConversationStore } from '../store/conversation-store.js';
import type { BotRef, Directory } from '../runtime/directory.js';
import type { StatusRecorder } from './status-recorder.js';

export interface WebhookDeps {
  directory: () => Directory;
  store: ConversationStore;
  queues: Queues;
  waiter: TurnWaiter;
  statuses: StatusRecorder;
  logger: Logger;
  metrics: Metrics;
  /** How long a webhook waits on Redis before answering 503 (so Twilio's retry and fallback act). */
  redisDeadlineMs: number;
  /** Set while shutting down: new webhooks get 503 so Twilio retries elsewhere. */
  draining: () => boolean;
}

/** Holds after which a voice turn that still has no answer is given up (about a minute of hold). */
const MAX_HOLDS = 20;

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** Rejects when Redis does not answer in time, so a webhook never hangs on an outage. */
async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(`Redis did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (error) {
    throw error instanceof RedisUnavailableError ? error : new RedisUnavailableError(String(error));
  } finally {
    clearTimeout(timer);
  }
}

function flatten(body: unknown): WebhookParams {
  const params: WebhookParams = {};
  if (!body || typeof body !== 'object') return params;
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') params[key] = value;
    else if (Array.isArray(value) && typeof value[0] === 'string') params[key] = value[0];
  }
  return params;
}

/**
 * The path and query of a request target. Twilio signs the URL it was given, which is on the public URL,
 * so only these parts of the target count; an absolute-form target (`POST http://host/path`, as proxies
 * send) loses its scheme and host here.
 */
function pathAndQuery(target: string): string {
  if (target.startsWith('/')) return target;
  const rest = target.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '');
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Any failure inside the check (a URL the twilio package cannot parse) is a mismatch, never a 500. */
function signatureMatches(token: string, signature: string, url: string, params: WebhookParams): boolean {
  try {
    return twilio.validateRequest(token, signature, url, params);
  } catch {
    return false;
  }
}

/**
 * Which of our numbers a webhook is about, and on which channel: `To` for what users send us, `From`
 * for the status of a message we sent.
 */
function ownerOf(route: string, params: WebhookParams): { channel: Channel; number: string } | undefined {
  if (route === 'status') {
    const from = params.From ?? '';
    const whatsapp = from.startsWith('whatsapp:');
    const number = whatsapp ? from.slice('whatsapp:'.length) : from;
    return number ? { channel: whatsapp ? 'whatsapp' : 'sms', number } : undefined;
  }
  if (route !== 'sms' && route !== 'whatsapp' && route !== 'voice') return undefined;
  const number = channels[route].ourNumber(params);
  return number ? { channel: route, number } : undefined;
}

function turnOf(req: Request): number | undefined {
  const raw = req.query.turn;
  if (typeof raw !== 'string' || !/^\d{1,6}$/.test(raw)) return undefined;
  return Number(raw);
}

export function webhookRouter(deps: WebhookDeps): Router {
  const { logger, metrics } = deps;
  const router = express.Router();

  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1000 });

  /**
   * Draining, content type, signature and account checks shared by every webhook; undefined when
   * answered. The bot that owns the webhook's number is looked up here, once, and kept in
   * `res.locals.bot` for the route (absent when no bot serves the number: the route answers 404).
   */
  function admit(req: Request, res: Response, channel: string): WebhookParams | undefined {
    if (deps.draining()) {
      res.status(503).set('Retry-After', '1').type('text/plain').send('Shutting down; retry.');
      return undefined;
    }
    if (!req.is('application/x-www-form-urlencoded')) {
      metrics.inbound.inc({ channel, status: 'rejected' });
      res
        .status(400)
        .type('text/plain')
        .send('Expected an application/x-www-form-urlencoded body, as Twilio sends.');
      return undefined;
    }
    const params = flatten(req.body);
    const directory = deps.directory();
    const signature = req.get('X-Twilio-Signature');
    const authToken = params.AccountSid ? directory.authToken(params.AccountSid) : undefined;
    const url = directory.publicUrl + pathAndQuery(req.originalUrl);
    let reason: string | undefined;
    if (!signature) reason = 'no X-Twilio-Signature header';
    else if (!params.AccountSid) reason = 'no AccountSid parameter';
    else if (!authToken) reason = 'unknown AccountSid';
    else if (!signatureMatches(authToken, signature, url, params)) reason = 'signature does not match';
    const owner = reason ? undefined : ownerOf(channel, params);
    const bot = owner ? directory.botFor(owner.channel, owner.number) : undefined;
    if (bot && !directory.drives(params.AccountSid!, bot)) {
      reason = `AccountSid is not the Twilio account of the bot that serves ${owner!.number}`;
    }
    if (reason) {
      metrics.inbound.inc({ channel, status: 'forbidden' });
      logger.warn('webhook refused', { path: req.path, reason, url });
      res.status(403).type('text/plain').send(`Forbidden: ${reason}.`);
      return undefined;
    }
    res.locals.bot = bot;
    return params;
  }

  function badRequest(res: Response, channel: string, problem: string) {
    metrics.inbound.inc({ channel, status: 'rejected' });
    res.status(400).type('text/plain').send(`Bad request: ${problem}.`);
  }

  function unavailable(res: Response, channel: string, error: unknown) {
    metrics.inbound.inc({ channel, status: 'unavailable' });
    logger.error('webhook could not reach Redis', {
      channel,
      reason: error instanceof Error ? error.message : String(error),
    });
    res
      .status(503)
      .set('Retry-After', '1')
      .type('text/plain')
      .send('Service unavailable: the queue cannot be reached. Retry.');
  }

  /**
   * The bot `admit()` found and checked against the AccountSid (never looked up again, so no route can
   * reach a bot its account was not checked against); undefined when answered with a 404.
   */
  function admittedBot(channel: Channel, number: string | undefined, res: Response): BotRef | undefined {
    const bot = res.locals.bot as BotRef | undefined;
    if (bot) return bot;
    metrics.inbound.inc({ channel, status: 'rejected' });
    logger.warn('webhook for a number no bot serves', { channel, number });
    res
      .status(404)
      .type('text/plain')
      .send(`No bot serves ${channel} number ${number ?? '(none)'}.`);
    return undefined;
  }

  /**
   * Accepts an event into its conversation and kicks it: messages into the identity's conversation, voice
   * events into their call's. `refused` when a call is over or was never seen here (a replay): then nothing
   * is queued and nothing changes. Undefined when answered (404, 503).
   */
  async function enqueue(channel: Channel, parsed: ChannelEvent, params: WebhookParams, res: Response) {
    const bot = admittedBot(channel, channels[channel].ourNumber(params), res);
    if (!bot) return undefined;
    const event: InboundEvent = { ...parsed, botId: bot.id };
    const { keys } = deps.store;
    const cid =
      channel === 'voice'
        ? keys.callConversationId(bot.id, event.identity, params.CallSid!)
        : keys.conversationId(bot.id, event.identity);
    const meta = { conversation: cid, bot: bot.id, channel, event: event.id };
    try {
      const outcome: CallAccepted =
        channel === 'voice'
          ? await withDeadline(deps.store.acceptCall(cid, event), deps.redisDeadlineMs)
          : (await withDeadline(deps.store.accept(cid, event), deps.redisDeadlineMs))
            ? 'new'
            : 'duplicate';
      if (outcome === 'ended' || outcome === 'unknown') {
        metrics.inbound.inc({ channel, status: 'refused' });
        logger.warn('event of a call that is over or unknown refused', {
          ...meta,
          reason: outcome === 'ended' ? 'the call is over' : 'the call did not start here',
        });
        return { cid, bot, refused: true };
      }
      // Kick on duplicates too: it repairs a kick lost when the first copy's request died halfway.
      await withDeadline(deps.queues.kickConversation(cid), deps.redisDeadlineMs);
      metrics.inbound.inc({ channel, status: outcome === 'new' ? 'accepted' : 'duplicate' });
      if (outcome === 'duplicate') logger.info('duplicate webhook ignored', meta);
      return { cid, bot, refused: false };
    } catch (error) {
      unavailable(res, channel, error);
      return undefined;
    }
  }

  function messaging(adapter: ChannelAdapter & { channel: 'sms' | 'whatsapp' }) {
    return async (req: Request, res: Response) => {
      const params = admit(req, res, adapter.channel);
      if (!params) return;
      const parsed = adapter.parseInbound(params, { turn: 0, receivedAt: Date.now() });
      if (!parsed.ok) return badRequest(res, adapter.channel, parsed.problem);
      const queued = await enqueue(adapter.channel, parsed.value, params, res);
      if (queued) res.status(200).type('text/xml').send(EMPTY_TWIML);
    };
  }

  /** Answers a voice turn: the worker's TwiML, or hold-and-redirect while it is still working. */
  async function answerTurn(res: Response, cid: string, botId: string, turn: number, hold: number) {
    const directory = deps.directory();
    const bot = directory.bot(botId);
    if (!bot) return res.status(404).type('text/plain').send('The bot is no longer configured.');
    const settings = directory.voiceSettings(bot);
    try {
      const answer = await deps.waiter.wait(cid, turn, bot.voice.replyWaitMs);
      if (answer === 'over') return res.status(200).type('text/xml').send(channels.voice.hangupTwiml());
      if (answer !== undefined) return res.status(200).type('text/xml').send(answer);
    } catch (error) {
      return unavailable(res, 'voice', error);
    }
    if (hold >= MAX_HOLDS) {
      logger.error('voice turn not answered in time; hanging up', {
        conversation: cid,
        bot: botId,
        channel: 'voice',
        turn,
      });
      return res.status(200).type('text/xml').send(channels.voice.apologyTwiml(settings));
    }
    return res
      .status(200)
      .type('text/xml')
      .send(channels.voice.holdTwiml({ publicUrl: directory.publicUrl, turn, hold, settings }));
  }

  async function voiceTurn(req: Request, res: Response, turn: number) {
    const params = admit(req, res, 'voice');
    if (!params) return;
    const parsed = channels.voice.parseInbound(params, { turn, receivedAt: Date.now() });
    if (!parsed.ok) return badRequest(res, 'voice', parsed.problem);
    const queued = await enqueue('voice', parsed.value, params, res);
    if (queued?.refused) res.status(200).type('text/xml').send(channels.voice.hangupTwiml());
    else if (queued) await answerTurn(res, queued.cid, queued.bot.id, turn, 0);
  }

  router.post('/webhooks/sms', form, messaging(channels.sms));
  router.post('/webhooks/whatsapp', form, messaging(channels.whatsapp));
  router.post('/webhooks/voice', form, (req, res) => voiceTurn(req, res, 0));

  router.post('/webhooks/voice/gather', form, async (req, res) => {
    const turn = turnOf(req);
    if (turn === undefined || turn < 1)
      return void badRequest(res, 'voice', 'the turn query parameter must be a number from 1');
    await voiceTurn(req, res, turn);
  });

  router.post('/webhooks/voice/result', form, async (req, res) => {
    const params = admit(req, res, 'voice');
    if (!params) return;
    const turn = turnOf(req);
    const hold = Number(
      typeof req.query.hold === 'string' && /^\d{1,3}$/.test(req.query.hold) ? req.query.hold : 0,
    );
    if (turn === undefined) return badRequest(res, 'voice', 'the turn query parameter must be a number');
    const parsed = channels.voice.parseInbound(params, { turn, receivedAt: Date.now() });
    if (!parsed.ok) return badRequest(res, 'voice', parsed.problem);
    const bot = admittedBot('voice', channels.voice.ourNumber(params), res);
    if (!bot) return;
    const cid = deps.store.keys.callConversationId(bot.id, parsed.value.identity, params.CallSid!);
    await answerTurn(res, cid, bot.id, turn, hold);
  });

  router.post('/webhooks/voice/status', form, async (req, res) => {
    const params = admit(req, res, 'voice');
    if (!params) return;
    const parsed = channels.voice.parseStatus(params, Date.now());
    if (!parsed.ok) return badRequest(res, 'voice', parsed.problem);
    if (!parsed.value) return void res.status(204).end();
    // A status of a call that is over or unknown changes nothing: a replayed `completed` ends no live call.
    const queued = await enqueue('voice', parsed.value, params, res);
    if (queued) res.status(204).end();
  });

  router.post('/webhooks/status', form, async (req, res) => {
    const params = admit(req, res, 'status');
    if (!params) return;
    if (!params.MessageSid || !params.MessageStatus) {
      return badRequest(res, 'status', 'missing MessageSid or MessageStatus');
    }
    try {
      await withDeadline(
        deps.statuses.record(params, res.locals.bot as BotRef | undefined),
        deps.redisDeadlineMs,
      );
      res.status(204).end();
    } catch (error) {
      unavailable(res, 'status', error);
    }
  });

  return router;
}
