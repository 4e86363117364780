// The operator API's view of what is happening now: live conversations, lockouts, opt-outs, dead letters.
import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import type { Logger } from '../log.js';
import type { Config } from '../config/index.js';
import { identityOf } from '../core/events.js';
import { normalizedAccountId } from '../auth/accounts.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { UserScope } from '../store/identity-keys.js';
import type { LiveConversation } from '../store/conversation-store.js';
import { ApiError } from './api-error.js';
import { decodeCursor, encodeCursor, isDeadLetterCursor, isLiveCursor } from './cursor.js';
import {
  ConversationsQuerySchema,
  DEFAULT_PAGE_LIMIT,
  LockoutsQuerySchema,
  OptOutsQuerySchema,
  PageQuerySchema,
  type CONVERSATION_STATES,
} from './openapi.js';
import type { Audited, LiveStateDeps } from './operator-api.js';

/** What the operator API's router lends these routes: its parsing, its caller, its audit log. */
export interface RouteKit {
  parse: <T extends z.ZodType>(schema: T, value: unknown, where: string) => z.output<T>;
  existingUser: (req: Request, res: Response, externalId: string | undefined) => Promise<UserScope>;
  callerOf: (res: Response) => { workspace: string };
  audited: Audited;
  now: () => number;
  param: (req: Request, name: string) => string;
  identity: IdentityStore;
  config: () => Config;
  logger: Logger;
}

type ConversationState = (typeof CONVERSATION_STATES)[number];

function stateOf(conversation: LiveConversation): ConversationState {
  if (conversation.waiting === null) return 'idle';
  if (conversation.waiting === 'handoff') return 'handoff'; // the pending kind of a handoff step (HANDOFF)
  return conversation.waiting === 'signin' ? 'signing-in' : 'waiting';
}

function identityJson(identity: string): { channel: string; address: string } {
  const colon = identity.indexOf(':');
  return { channel: identity.slice(0, colon), address: identity.slice(colon + 1) };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function mountLiveState(router: Router, live: LiveStateDeps, kit: RouteKit): void {
  const { parse, callerOf, audited, now } = kit;

  /** The user's channel identities (`sms:+1…`), 404 when there is no such user. */
  const identitiesOf = async (req: Request, res: Response, externalId: string | undefined) => {
    const scope = await kit.existingUser(req, res, externalId);
    const view = await kit.identity.getUser(scope);
    if (!view) throw new ApiError(404, 'user_not_found', 'No such user in this workspace.');
    return { scope, identities: view.identities.map((i) => identityOf(i.channel, i.address)) };
  };
  const botsOf = (res: Response, only: string | undefined): string[] => {
    const workspace = callerOf(res).workspace;
    const bots = Object.entries(kit.config().bots)
      .filter(([, bot]) => bot.workspace === workspace)
      .map(([id]) => id);
    if (only === undefined) return bots;
    if (!bots.includes(only))
      throw new ApiError(404, 'bot_not_found', `This workspace has no bot "${only}".`);
    return [only];
  };
  const componentsOf = (res: Response): string[] => {
    const workspace = callerOf(res).workspace;
    const names = new Set<string>();
    for (const bot of Object.values(kit.config().bots)) {
      if (bot.workspace === workspace) for (const name of Object.keys(bot.auth)) names.add(name);
    }
    return [...names].sort();
  };

  router.get('/v1/conversations', async (req, res) => {
    const query = parse(ConversationsQuerySchema, req.query, 'query');
    const cursor = query.cursor ? decodeCursor(query.cursor, isLiveCursor) : undefined;
    const page = await live.conversations.liveConversations(callerOf(res).workspace, {
      now: now(),
      limit: query.limit ?? DEFAULT_PAGE_LIMIT,
      ...(cursor ? { cursor } : {}),
      keep: (c) =>
        (query.bot === undefined || c.botId === query.bot) &&
        (query.channel === undefined || c.channel === query.channel) &&
        (query.state === undefined || stateOf(c) === query.state),
    });
    const last = page.conversations.at(-1);
    res.json({
      conversations: page.conversations.map((c) => ({
        id: c.cid,
        bot: c.botId,
        channel: c.channel,
        identity: identityJson(c.identity),
        state: stateOf(c),
        flow: c.flow,
        step: c.step,
        waiting: c.waiting,
        updatedAt: iso(c.updatedAt),
        expiresAt: iso(c.expiresAt),
      })),
      nextCursor: page.more && last ? encodeCursor({ at: last.updatedAt, cid: last.cid }) : null,
    });
  });

  router.get('/v1/users/:userId/lockouts', async (req, res) => {
    const query = parse(LockoutsQuerySchema, req.query, 'query');
    const { scope, identities } = await identitiesOf(req, res, query.externalId);
    const lockouts: Record<string, unknown>[] = [];
    for (const identity of identities) {
      for (const entry of await live.lockout.read(scope.workspace, identity)) {
        lockouts.push({
          kind: 'identity',
          identity: identityJson(identity),
          component: entry.component,
          failures: entry.failures,
          lockedUntil: entry.lockedUntil === null ? null : iso(entry.lockedUntil),
        });
      }
    }
    const account = normalizedAccountId(query.account);
    if (account !== undefined) {
      for (const component of componentsOf(res)) {
        const entry = await live.lockout.readAccount({ workspace: scope.workspace, component, account });
        if (!entry) continue;
        lockouts.push({
          kind: 'account',
          identity: null,
          component,
          failures: entry.failures,
          lockedUntil: entry.lockedUntil === null ? null : iso(entry.lockedUntil),
        });
      }
    }
    res.json({ userId: scope.userId, lockouts });
  });

  router.delete('/v1/users/:userId/lockouts', async (req, res) => {
    const query = parse(LockoutsQuerySchema, req.query, 'query');
    const { scope, identities } = await identitiesOf(req, res, query.externalId);
    for (const identity of identities) await live.lockout.clearIdentity(scope.workspace, identity);
    const account = normalizedAccountId(query.account);
    if (account !== undefined) {
      for (const component of componentsOf(res)) {
        await live.lockout.clearAccount({ workspace: scope.workspace, component, account });
      }
    }
    // The typed account id is what a user logs in with: the log says one was cleared, not which.
    await audited(res, 'lockout.clear', {}, scope);
    kit.logger.info('lockout ended: cleared through the operator API', {
      workspace: scope.workspace,
      userId: scope.userId,
      identities: identities.length,
      account: account !== undefined,
    });
    res.status(204).end();
  });

  /** Every (bot, identity) pair of the user, with its conversation id (the opt-out's key). */
  const optOutPairs = async (req: Request, res: Response) => {
    const query = parse(OptOutsQuerySchema, req.query, 'query');
    const { scope, identities } = await identitiesOf(req, res, query.externalId);
    const bots = botsOf(res, query.bot);
    const keys = live.conversations.keys;
    const pairs = bots.flatMap((bot) =>
      identities.map((identity) => ({ bot, identity, cid: keys.conversationId(bot, identity) })),
    );
    return { scope, pairs, bot: query.bot };
  };

  router.get('/v1/users/:userId/opt-outs', async (req, res) => {
    const { scope, pairs } = await optOutPairs(req, res);
    const out = await live.conversations.optedOut(pairs.map((p) => p.cid));
    res.json({
      userId: scope.userId,
      optOuts: pairs
        .filter((_, i) => out[i])
        .map((p) => ({ bot: p.bot, identity: identityJson(p.identity) })),
    });
  });

  router.delete('/v1/users/:userId/opt-outs', async (req, res) => {
    const { scope, pairs, bot } = await optOutPairs(req, res);
    await live.conversations.clearOptOuts(pairs.map((p) => p.cid));
    await audited(res, 'opt-out.clear', bot !== undefined ? { bot } : {}, scope);
    res.status(204).end();
  });

  router.get('/v1/dead-letters', async (req, res) => {
    const query = parse(PageQuerySchema, req.query, 'query');
    const cursor = query.cursor ? decodeCursor(query.cursor, isDeadLetterCursor) : undefined;
    const page = await live.deadLetters.list(callerOf(res).workspace, {
      limit: query.limit ?? DEFAULT_PAGE_LIMIT,
      ...(cursor ? { cursor } : {}),
    });
    const last = page.deadLetters.at(-1);
    res.json({
      deadLetters: page.deadLetters.map(deadLetterJson),
      nextCursor: page.more && last ? encodeCursor({ at: last.at, id: last.id }) : null,
    });
  });

  router.post('/v1/dead-letters/:deadLetterId/replay', async (req, res) => {
    const id = kit.param(req, 'deadLetterId');
    const replayed = id.length <= 64 ? await live.deadLetters.replay(callerOf(res).workspace, id) : undefined;
    if (!replayed) {
      throw new ApiError(404, 'dead_letter_not_found', 'No such dead letter in this workspace.');
    }
    await live.kick(replayed.cid);
    await audited(res, 'dead-letter.replay', {
      deadLetter: replayed.id,
      conversation: replayed.cid,
      ...(replayed.botId !== null ? { bot: replayed.botId } : {}),
    });
    res.status(202).json({ deadLetter: deadLetterJson(replayed), queued: 'tail' });
  });
}

function deadLetterJson(d: {
  id: string;
  cid: string;
  botId: string | null;
  eventId: string;
  reason: string;
  at: number;
}) {
  return { id: d.id, conversation: d.cid, bot: d.botId, eventId: d.eventId, reason: d.reason, at: iso(d.at) };
}
