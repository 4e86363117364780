// Every channel's webhooks, mounted from the registry: drained on shutdown, Redis behind a deadline, each
// event queued once; what a webhook looks like and how it is checked is its channel's.
import express, { type Response, type Router } from 'express';
import type { ChannelEvent, ChannelRegistry, DeliveryStatus, WebhookKit } from '../../channels/index.js';
import type { InboundEvent } from '../core/events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Lead } from '../queue/kick-worker.js';
import type { Queues } from '../queue/queues.js';
import type { TurnWaiter } from '../queue/turn-waiter.js';
import type { CallAccepted, ConversationStore, HeadRead } from '../store/conversation-store.js';
import type { BotRef, Directory } from '../config/directory.js';
import type { StatusRecorder } from './status-recorder.js';
import type { OutboundCalls } from '../store/call-store.js';
import type { FailedCall } from '../turn/call-failed.js';
import {
  annotateActiveSpan,
  conversationAttributes,
  failed,
  inSpan,
  SpanKind,
  traceField,
} from '../tracing.js';

export interface WebhookDeps {
  channels: ChannelRegistry;
  directory: () => Directory;
  store: ConversationStore;
  queues: Queues;
  waiter: TurnWaiter;
  statuses: StatusRecorder;
  logger: Logger;
  metrics: Metrics;
  /** How long a webhook waits on Redis before answering 503 (so the provider's retry and fallback act). */
  redisDeadlineMs: number;
  /** Set while shutting down: new webhooks get 503 so the provider retries elsewhere. */
  draining: () => boolean;
  /** The time an event is received at (ms): its rate-limit minute. */
  now: () => number;
  /** The outbound calls placed through the operator API (what each runs when answered). */
  outboundCalls?: OutboundCalls;
  /** Tells the operator an outbound call never connected (`call.failed`). */
  callFailed?: (failure: FailedCall) => Promise<void>;
}

/** Twilio's final statuses of a call that never connected. */
const NOT_CONNECTED = new Set(['no-answer', 'busy', 'failed', 'canceled']);

/** Redis did not answer a webhook within its deadline: the webhook answers 503. */
export class RedisDeadlineError extends Error {
  override readonly name = 'RedisDeadlineError';
}

/** Rejects when Redis does not answer in time, so a webhook never hangs on an outage. */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisDeadlineError(`Redis did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (error) {
    throw error instanceof RedisDeadlineError ? error : new RedisDeadlineError(String(error));
  } finally {
    clearTimeout(timer);
  }
}

export function webhookRouter(deps: WebhookDeps): Router {
  const { logger, metrics } = deps;
  const router = express.Router();

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

  /** The bot the channel found and checked; undefined when answered with a 404. */
  function servedBy(res: Response, channel: string, bot: BotRef | undefined, number: string | undefined) {
    if (bot) return bot;
    metrics.inbound.inc({ channel, status: 'rejected' });
    logger.warn('webhook for a number no bot serves', { channel, number });
    res
      .status(404)
      .type('text/plain')
      .send(`No bot serves ${channel} number ${number ?? '(none)'}.`);
    return undefined;
  }

  const kit: WebhookKit = {
    directory: deps.directory,
    logger,
    metrics,
    now: deps.now,
    forbidden(req, res, channel, reason, url) {
      metrics.inbound.inc({ channel, status: 'forbidden' });
      logger.warn('webhook refused', { path: req.path, reason, url });
      res.status(403).type('text/plain').send(`Forbidden: ${reason}.`);
    },
    badRequest(res, channel, problem) {
      metrics.inbound.inc({ channel, status: 'rejected' });
      res.status(400).type('text/plain').send(`Bad request: ${problem}.`);
    },
    unavailable,
    servedBy,
    callConversation: (bot, identity, call) => deps.store.keys.callConversationId(bot.id, identity, call),
    waitTurn: (cid, turn, ms) => deps.waiter.wait(cid, turn, ms),
    recordStatus: (status: DeliveryStatus, bot) =>
      withDeadline(deps.statuses.record(status, bot), deps.redisDeadlineMs),
    outboundCall: async (callSid) =>
      deps.outboundCalls ? withDeadline(deps.outboundCalls.plan(callSid), deps.redisDeadlineMs) : undefined,
    async outboundCallEnded({ bot, callSid, to, status }) {
      const calls = deps.outboundCalls;
      if (!calls) return;
      // Only a call we placed, and once: the plan is forgotten with the first final status.
      const plan = await withDeadline(calls.plan(callSid), deps.redisDeadlineMs);
      if (!plan || plan.bot !== bot.id) return;
      await withDeadline(calls.forget(callSid), deps.redisDeadlineMs);
      if (!NOT_CONNECTED.has(status)) return;
      logger.info('outbound call did not connect', { bot: bot.id, channel: 'voice', status });
      await deps.callFailed?.({ botId: bot.id, callSid, to, status });
    },

    /**
     * Messages go into the identity's conversation, call events into their call's. A call that is over or
     * was never seen here (a replay) is refused: nothing is queued and nothing changes.
     */
    async accept(res, parsed: ChannelEvent, found, opts) {
      const { channel } = parsed;
      const bot = servedBy(res, channel, found, opts.number);
      if (!bot) return undefined;
      // The webhook's span goes into the queued event: the turn that handles it continues the trace.
      const event: InboundEvent = { ...parsed, botId: bot.id, ...traceField() };
      const { keys } = deps.store;
      const cid =
        opts.call !== undefined
          ? keys.callConversationId(bot.id, event.identity, opts.call)
          : keys.conversationId(bot.id, event.identity);
      const meta = { conversation: cid, bot: bot.id, channel, event: event.id };
      annotateActiveSpan(() => conversationAttributes(meta));
      // Listening before the event is queued: a new turn's answer is then heard without a read of Redis.
      const expected =
        opts.call !== undefined && opts.turn !== undefined ? deps.waiter.expect(cid, opts.turn) : undefined;
      // The kick hands this process's worker the event and, when the accept queued nothing before it, what
      // the worker's first read would say (it skips that read): see `Lead`.
      const lead: Lead = { event };
      let peek: ((head?: HeadRead) => void) | undefined;
      if (deps.queues.takesHere(cid, lead)) lead.head = new Promise((resolve) => (peek = resolve));
      // Settled once the accept has answered, with nothing when it saw no head (a resolve's second call is void).
      const told = <T>(accepting: Promise<T>) => accepting.finally(() => peek?.());
      const kick = () => withDeadline(deps.queues.kickConversation(cid, lead), deps.redisDeadlineMs);
      // The kick goes in the same round trip as the accept (sent behind it on one connection, so Redis runs
      // them in that order); a refused event's kick finds nothing to do. Not while the accept script is new to
      // the connection: its first use is refused (NOSCRIPT) and sent again, behind the kick, which would then
      // find an empty inbox. When Redis lost the script since (a restart, a failover), the same happens: the
      // accept says so, and the conversation is kicked again once the accept has landed.
      let kicked: Promise<void> | undefined;
      let reloaded = false;
      const toldReloaded = () => void (reloaded = true);
      try {
        const inOrder = deps.store.acceptInOrder(opts.call !== undefined);
        const accepted =
          opts.call !== undefined
            ? withDeadline(told(deps.store.acceptCall(cid, event, peek, toldReloaded)), deps.redisDeadlineMs)
            : withDeadline(
                told(deps.store.accept(cid, event, peek, toldReloaded)),
                deps.redisDeadlineMs,
              ).then((fresh): CallAccepted => (fresh ? 'new' : 'duplicate'));
        if (inOrder) (kicked = kick()).catch(() => undefined);
        const outcome: CallAccepted = await accepted;
        if (outcome === 'ended' || outcome === 'unknown') {
          metrics.inbound.inc({ channel, status: 'refused' });
          logger.warn('event of a call that is over or unknown refused', {
            ...meta,
            reason: outcome === 'ended' ? 'the call is over' : 'the call did not start here',
          });
          expected?.cancel();
          return { cid, bot, refused: true };
        }
        // Kick on duplicates too: it repairs a kick lost when the first copy's request died halfway.
        await (kicked ?? kick());
        if (kicked && reloaded) await withDeadline(deps.queues.kickConversation(cid), deps.redisDeadlineMs);
        metrics.inbound.inc({ channel, status: outcome === 'new' ? 'accepted' : 'duplicate' });
        if (outcome === 'duplicate') logger.info('duplicate webhook ignored', meta);
        if (!expected) return { cid, bot, refused: false };
        const look = outcome !== 'new';
        const answer = async (ms: number) => {
          const answered = await expected.answer(ms, look);
          // Not answered in time: kick again (idempotent), in case the kick was lost on its way.
          if (answered === undefined) await kick().catch(() => undefined);
          return answered;
        };
        return { cid, bot, refused: false, answer };
      } catch (error) {
        expected?.cancel();
        unavailable(res, channel, error);
        return undefined;
      }
    },
  };

  for (const channel of deps.channels.all()) {
    for (const route of channel.routes) {
      router.post(route.path, route.body, async (req, res) => {
        if (deps.draining()) {
          res.status(503).set('Retry-After', '1').type('text/plain').send('Shutting down; retry.');
          return;
        }
        await inSpan(
          `webhook ${channel.name}`,
          {
            kind: SpanKind.SERVER,
            attributes: () => ({
              'switchboard.channel': channel.name,
              'http.request.method': req.method,
              'http.route': route.path,
            }),
          },
          async (span) => {
            await route.handle(req, res, kit);
            span.setAttribute('http.response.status_code', res.statusCode);
            if (res.statusCode >= 500) failed(span, String(res.statusCode));
          },
        );
      });
    }
  }

  return router;
}
