// The browser side of sign-in links: the link's page (GET shows, POST spends), the provider's callback, and
// the `signin` event that resumes the conversation that sent the link.
import { randomBytes, randomInt } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { beginSignIn, completeSignIn, type AuthComponent, type AuthDeps } from '../auth/index.js';
import type { Directory } from '../config/directory.js';
import type { Channel, InboundEvent } from '../core/events.js';
import type { Templates } from '../core/templates.js';
import type { Logger } from '../log.js';
import type { OutboundClient } from '../net/outbound.js';
import type { Queues } from '../queue/queues.js';
import type { ConversationStore } from '../store/conversation-store.js';
import {
  LINK_CODE_SHAPE,
  SIGN_IN_FINISH_SECONDS,
  SignInSessionGoneError,
  type SignInOrigin,
  type SignInStore,
} from '../store/sign-in-store.js';
import { pages, sendPage, type Page } from './sign-in-pages.js';
import { withDeadline } from './webhooks.js';

/** The cookie that ties a callback to the browser that pressed Continue (its value is kept only hashed). */
export const SIGN_IN_COOKIE = 'switchboard_sign_in';
/** Where the provider sends the browser back: register exactly `${publicUrl}${CALLBACK_PATH}` with it. */
export const CALLBACK_PATH = '/oauth/callback';

export interface SignInRouteDeps {
  directory: () => Directory;
  signIns: SignInStore;
  /** The conversations' inboxes, where the `signin` event goes. */
  store: ConversationStore;
  queues: Queues;
  outbound: OutboundClient;
  templates: Templates;
  logger: Logger;
  now: () => number;
  /** How long a page waits on Redis before it says sign-in is unavailable. */
  redisDeadlineMs: number;
}

/** Redis did not answer (or answered with an error): the page says so with a 503. */
class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

export function signInRouter(deps: SignInRouteDeps): Router {
  const { logger } = deps;
  const router = express.Router();

  async function redis<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(work(), deps.redisDeadlineMs);
    } catch (error) {
      if (error instanceof SignInSessionGoneError) throw error;
      throw new StoreUnavailable(error instanceof Error ? error.message : String(error));
    }
  }

  /** The origin's bot, component and the workspace's outbound reach, or undefined when the configuration lost them. */
  function componentOf(origin: SignInOrigin) {
    const directory = deps.directory();
    const bot = directory.bot(origin.botId);
    const component: AuthComponent | undefined = bot?.auth[origin.component];
    const workspace = bot ? directory.config.workspaces[bot.workspace] : undefined;
    if (!bot || !component || !workspace) return undefined;
    const auth: AuthDeps = {
      http: (request) =>
        deps.outbound.send({
          ...request,
          allowHosts: workspace.allowHosts,
          allowPrivateAddresses: workspace.allowPrivateAddresses ?? [],
        }),
      templates: deps.templates,
    };
    // An oauth component may carry a name for people (`displayName`); else the bot's id names the sign-in.
    const shown = (component as { displayName?: unknown }).displayName;
    return { component, auth, name: typeof shown === 'string' && shown !== '' ? shown : origin.botId };
  }

  const redirectUri = () => `${deps.directory().publicUrl.replace(/\/$/, '')}${CALLBACK_PATH}`;

  function log(message: string, origin: SignInOrigin | undefined, outcome: string, level = 'info') {
    logger.log(level, message, {
      ...(origin ? { bot: origin.botId, component: origin.component, conversation: origin.cid } : {}),
      outcome,
    });
  }

  function answer(res: Response, page: Page) {
    if (page.status === 503) res.set('Retry-After', '30');
    sendPage(res, page);
  }

  /** Runs a handler; a Redis failure becomes the 503 page, anything else a clear page too (never a 5xx of ours). */
  function guarded(what: string, handle: (req: Request, res: Response) => Promise<void>) {
    return async (req: Request, res: Response) => {
      try {
        await handle(req, res);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (error instanceof SignInSessionGoneError) {
          logger.warn(`${what}: the session ended meanwhile`, { outcome: 'gone' });
          return answer(res, pages.finished());
        }
        if (error instanceof StoreUnavailable) {
          logger.error(`${what}: Redis could not be reached`, { outcome: 'unavailable', reason });
          return answer(res, pages.redisDown());
        }
        logger.error(`${what} failed`, { outcome: 'error', reason });
        answer(res, pages.providerDown());
      }
    };
  }

  router.get(
    '/s/:code',
    guarded('sign-in page', async (req, res) => {
      const code = String(req.params.code ?? '');
      if (!LINK_CODE_SHAPE.test(code)) {
        log('sign-in page', undefined, 'malformed');
        return answer(res, pages.unknown());
      }
      // Never spends: link previews and scanners fetch this page too.
      const found = await redis(() => deps.signIns.peek(code));
      if (found.status !== 'live') {
        log('sign-in page', undefined, found.status);
        return answer(res, pages[found.status]());
      }
      const target = componentOf(found.origin);
      log('sign-in page', found.origin, target ? 'shown' : 'component_gone');
      answer(res, target ? pages.live(target.name) : pages.gone());
    }),
  );

  router.post(
    '/s/:code',
    guarded('sign-in page', async (req, res) => {
      const code = String(req.params.code ?? '');
      if (!LINK_CODE_SHAPE.test(code)) return answer(res, pages.unknown());
      const found = await redis(() => deps.signIns.peek(code));
      if (found.status !== 'live') {
        log('sign-in page', undefined, found.status);
        return answer(res, pages[found.status]());
      }
      const { origin } = found;
      const target = componentOf(origin);
      if (!target) {
        log('sign-in page', origin, 'component_gone', 'warn');
        return answer(res, pages.gone());
      }
      let start;
      try {
        start = await beginSignIn(origin.component, target.component, redirectUri(), target.auth);
      } catch (error) {
        // The code is not spent: the same link works once the provider is back.
        log('sign-in page', origin, 'provider_unavailable', 'warn');
        logger.debug('sign-in begin failed', { reason: error instanceof Error ? error.name : 'unknown' });
        return answer(res, pages.providerDown());
      }
      const browserKey = randomBytes(32).toString('base64url');
      const spent = await redis(() => deps.signIns.spend(code, start.secrets, browserKey));
      if (!spent.ok) {
        log('sign-in page', origin, spent.reason);
        return answer(res, pages[spent.reason]());
      }
      log('sign-in page', origin, 'redirected');
      res.cookie(SIGN_IN_COOKIE, browserKey, {
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.directory().publicUrl.startsWith('https:'),
        path: '/oauth',
        maxAge: SIGN_IN_FINISH_SECONDS * 1000,
      });
      res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
      res.redirect(303, start.url);
    }),
  );

  /** Queues the `signin` event in the origin's conversation, as a webhook queues a message. */
  async function resume(session: string, origin: SignInOrigin, status: 'completed' | 'failed') {
    const event: InboundEvent = {
      id: `signin:${session}:${status}`,
      kind: 'signin',
      botId: origin.botId,
      channel: origin.channel as Channel,
      identity: origin.identity,
      from: origin.from,
      to: origin.to,
      ...(origin.provider ? { provider: origin.provider } : {}),
      text: '',
      receivedAt: deps.now(),
      signIn: { session, status },
    };
    try {
      await redis(async () => {
        // A call's conversation (`caller.call`) takes events only while its call is live.
        const queued = origin.cid.includes('.')
          ? (await deps.store.acceptCall(origin.cid, event)) === 'new'
          : await deps.store.accept(origin.cid, event);
        await deps.queues.kickConversation(origin.cid);
        return queued;
      });
    } catch (error) {
      // The page still tells the browser how it went; the conversation learns it when the user writes.
      logger.error('sign-in callback: the conversation could not be told', {
        bot: origin.botId,
        conversation: origin.cid,
        outcome: status,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }

  router.get(
    CALLBACK_PATH,
    guarded('sign-in callback', async (req, res) => {
      const state = typeof req.query.state === 'string' ? req.query.state : '';
      if (state === '' || state.length > 512) {
        log('sign-in callback', undefined, 'no_state');
        return answer(res, pages.badCallback());
      }
      const browserKey = cookieOf(req, SIGN_IN_COOKIE);
      const taken = await redis(() => deps.signIns.takeByState(state, browserKey));
      if (!taken.ok) {
        log('sign-in callback', undefined, taken.reason);
        const page = { unknown: pages.badCallback, used: pages.finished, other_browser: pages.otherBrowser };
        return answer(res, page[taken.reason]());
      }
      res.clearCookie(SIGN_IN_COOKIE, { path: '/oauth' });
      const { session, origin, secrets } = taken;
      const target = componentOf(origin);
      const error = typeof req.query.error === 'string' ? req.query.error : undefined;
      if (!target || error !== undefined) {
        const denied = error === 'access_denied';
        await redis(() => deps.signIns.fail(session, denied ? 'denied' : 'error'));
        log('sign-in callback', origin, !target ? 'component_gone' : denied ? 'denied' : 'provider_error');
        await resume(session, origin, 'failed');
        return answer(res, !target ? pages.gone() : denied ? pages.cancelled() : pages.refused());
      }
      const query = req.originalUrl.indexOf('?');
      const callbackUrl = redirectUri() + (query < 0 ? '' : req.originalUrl.slice(query));
      const outcome = await completeSignIn(
        origin.component,
        target.component,
        { callbackUrl, redirectUri: redirectUri(), secrets },
        target.auth,
      ).catch(() => ({ result: 'unavailable' as const, reason: 'the sign-in method failed' }));
      if (outcome.result !== 'success') {
        await redis(() => deps.signIns.fail(session, 'error'));
        log('sign-in callback', origin, outcome.result, 'warn');
        await resume(session, origin, 'failed');
        return answer(res, outcome.result === 'refused' ? pages.refused() : pages.providerDown());
      }
      const { result: _result, userId, ...tokens } = outcome;
      const bindingCode = origin.binding ? String(randomInt(0, 1_000_000)).padStart(6, '0') : undefined;
      await redis(() =>
        deps.signIns.complete(session, { userId, tokens, ...(bindingCode ? { bindingCode } : {}) }),
      );
      log('sign-in callback', origin, 'completed');
      await resume(session, origin, 'completed');
      answer(res, bindingCode ? pages.binding(bindingCode) : pages.signedIn());
    }),
  );

  return router;
}
