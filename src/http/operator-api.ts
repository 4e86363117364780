// The operator API: Bearer workspace keys, zod at the edge, JSON errors, per-key rate limits.
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { TakenTokens, TokenStore } from '../store/token-store.js';
import type { Config } from '../config/index.js';
import { identityOf } from '../core/events.js';
import type { ConfigSource } from '../operator-events/sink.js';
import { IdentityInUseError, type IdentityStore } from '../store/identity-store.js';
import type { LinkCodes } from '../identity/link-codes.js';
import { ANONYMOUS_PREFIX, type OperatorUserView } from '../identity/types.js';
import type { Logger } from '../log.js';
import { clientOf } from '../net/addresses.js';
import type { IdentityKeys, UserScope } from '../store/identity-keys.js';
import type { FixedWindowLimiter } from '../store/rate-limiter.js';
import type { AuditEntry, AuditLog, AuditTarget } from '../store/audit-log.js';
import type { ConversationStore } from '../store/conversation-store.js';
import type { DeadLetters } from '../store/dead-letters.js';
import type { Lockout } from '../store/lockout.js';
import {
  CreateLinkCodeBodySchema,
  DEFAULT_PAGE_LIMIT,
  HistoryQuerySchema,
  PageQuerySchema,
  RegisterUserBodySchema,
  RenewTokenBodySchema,
  UserQuerySchema,
  operatorOpenApiDocument,
} from './openapi.js';
import { ApiError } from './api-error.js';
import { decodeCursor, encodeCursor, isAuditCursor, isHistoryCursor } from './cursor.js';
import { mountHandoff } from './handoff.js';
import { mountLiveState } from './live-state.js';
import { mountProactive, type ProactiveDeps } from './messages.js';
import { mountCalls, type CallsDeps } from './calls.js';

export const OPERATOR_API_BODY_LIMIT = 1024 * 1024;
const DEFAULT_REQUESTS_PER_MINUTE = 600;
/** Failed authentications one client address may have in a minute before it is answered 429. */
export const AUTH_FAILURES_PER_MINUTE = 20;

export interface OperatorApiDeps {
  directory: ConfigSource;
  /** For the per-key and failed-authentication rate limits; on a connection that fails fast (the web one). */
  limiter: FixedWindowLimiter;
  keys: IdentityKeys;
  identity: IdentityStore;
  tokens: TokenStore;
  linkCodes: LinkCodes;
  logger: Logger;
  now?: () => number;
  /** Revokes removed tokens at their providers (bounded by each component's timeout; never throws). */
  revokeAtProvider?: (workspace: string, taken: TakenTokens[]) => Promise<void>;
  /** What is happening now (conversations, lockouts, opt-outs, dead letters): those endpoints need it. */
  live?: LiveStateDeps;
  /** Where every change is recorded; without it nothing is. */
  audit?: AuditLog;
  /** Messages and flows the operator starts (POST /v1/messages, /v1/conversations): those endpoints need it. */
  proactive?: ProactiveDeps;
  /** Outbound calls (`POST /v1/calls`). */
  calls?: CallsDeps;
}

/** Records a change once it is done: what, on what (never a value), and the user it was done to. */
export type Audited = (
  res: Response,
  action: AuditEntry['action'],
  target: Omit<AuditTarget, 'user' | 'userId' | 'externalId'>,
  scope?: UserScope,
) => Promise<void>;

export interface LiveStateDeps {
  conversations: ConversationStore;
  lockout: Lockout;
  deadLetters: DeadLetters;
  /** Runs a conversation's inbox (a replayed dead letter waits there). */
  kick: (cid: string) => Promise<void>;
}

export { ApiError };

interface Caller {
  workspace: string;
  keyHash: string;
  /** What the audit log names the key by (`keyFingerprint`). */
  fingerprint: string;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * An API key's name in the audit log: "key_" and 16 hex digits of its SHA-256. Its holder can tell which
 * key it was (`printf %s KEY | sha256sum`); a workspace key is long and random, so it gives the key to no one.
 */
export function keyFingerprint(key: string): string {
  return `key_${sha256(key).toString('hex').slice(0, 16)}`;
}

/** Hashes of every workspace's keys, computed once per configuration (it is replaced on reload). */
const keyHashes = new WeakMap<Config, { workspace: string; hash: Buffer }[]>();

function hashesOf(config: Config): { workspace: string; hash: Buffer }[] {
  let hashes = keyHashes.get(config);
  if (!hashes) {
    hashes = Object.entries(config.workspaces).flatMap(([workspace, ws]) =>
      ws.apiKeys.map((key) => ({ workspace, hash: sha256(key) })),
    );
    keyHashes.set(config, hashes);
  }
  return hashes;
}

/**
 * The workspace of a presented key. Both sides are hashed to equal lengths and every configured key is
 * compared, match or not, so the time taken says nothing about how close a guess was.
 */
export function workspaceOfKey(config: Config, presented: string): string | undefined {
  const hash = sha256(presented);
  let found: string | undefined;
  for (const entry of hashesOf(config)) {
    if (timingSafeEqual(entry.hash, hash) && found === undefined) found = entry.workspace;
  }
  return found;
}

/** JSON's names for what a missing field should have been. */
const JSON_TYPES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  record: 'an object',
};

/** The value at `path` inside `value`, or undefined where the path leaves it. */
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const part of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[part];
  }
  return at;
}

/** What a JSON value is, in the words of an error message. */
function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'boolean') return String(value);
  return JSON_TYPES[typeof value] ?? typeof value;
}

function describeIssues(error: z.ZodError, where: string, input: unknown): ApiError {
  const details = error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    } else if (issue.code === 'invalid_type') {
      const got = valueAt(input, issue.path);
      const expected = JSON_TYPES[issue.expected] ?? issue.expected;
      message =
        got === undefined ? `missing; expected ${expected}` : `expected ${expected}, got ${jsonTypeOf(got)}`;
    }
    return { path, message };
  });
  const message = details
    .slice(0, 5)
    .map((d) => (d.path ? `${where} ${d.path}: ${d.message}` : `${where}: ${d.message}`))
    .join('; ');
  return new ApiError(422, 'validation_failed', message, details);
}

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw describeIssues(result.error, where, value);
  return result.data;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function userJson(view: OperatorUserView): Record<string, unknown> {
  return {
    userId: view.userId,
    externalId: view.externalId ?? null,
    tier: view.tier,
    profile: {
      name: view.name ?? null,
      email: view.email ?? null,
      customData: view.customData ?? null,
      verified: view.profileVerified,
    },
    identities: view.identities.map((i) => ({
      channel: i.channel,
      address: i.address,
      verified: i.verified,
      via: i.via ?? null,
      verifiedAt: iso(i.verifiedAt),
    })),
    tokens: view.tokens.map((t) => ({
      component: t.component,
      expiresAt: iso(t.expiresAt),
      refreshExpiresAt: iso(t.refreshExpiresAt),
    })),
    createdAt: iso(view.createdAt),
    updatedAt: iso(view.updatedAt),
  };
}

/** The auth components of every bot of a workspace. */
function componentsOf(config: Config, workspace: string): Set<string> {
  const names = new Set<string>();
  for (const bot of Object.values(config.bots)) {
    if (bot.workspace === workspace) for (const name of Object.keys(bot.auth)) names.add(name);
  }
  return names;
}

/** ioredis refusing a command because Redis is away (fail-fast web connection). */
function redisUnavailable(error: Error): boolean {
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /enableOfflineQueue|Connection is closed|ECONNREFUSED/.test(error.message)
  );
}

interface BodyParserError extends Error {
  status?: number;
  statusCode?: number;
  type?: string;
}

export function operatorApiRouter(deps: OperatorApiDeps): Router {
  const router = express.Router();
  const now = deps.now ?? Date.now;
  const { identity, tokens, linkCodes, logger } = deps;
  let openapi: string | undefined;

  router.get('/v1/openapi.json', (req, res) => {
    if (!req.accepts('application/json')) {
      throw new ApiError(406, 'not_acceptable', 'This document is JSON: accept application/json.');
    }
    openapi ??= JSON.stringify(operatorOpenApiDocument());
    res.type('application/json').send(openapi);
  });

  // Authentication comes before the body is read: an unknown caller costs us a hash, not a parse.
  // A valid key costs nothing more; failures are counted per client address in a fixed minute, and past
  // the limit are answered 429, so a guessing run or a client stuck on a revoked key is told to stop.
  // A valid key from that address is still served: behind a proxy every client shares its address.
  router.use('/v1', async (req, res, next) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.get('authorization') ?? '');
    const workspace = match?.[1] ? workspaceOfKey(deps.directory().config, match[1]) : undefined;
    if (match?.[1] && workspace !== undefined) {
      res.locals.caller = {
        workspace,
        keyHash: sha256(match[1]).toString('base64url').slice(0, 22),
        fingerprint: keyFingerprint(match[1]),
      } satisfies Caller;
      return next();
    }
    const client = clientOf(req.ip ?? req.socket.remoteAddress ?? '');
    const failures = await deps.limiter.hit((window) => deps.keys.apiAuthFailures(client, window), now());
    if (failures.count > AUTH_FAILURES_PER_MINUTE) {
      const retryAfter = Math.max(1, Math.ceil(failures.retryAfterMs / 1000));
      res.set('Retry-After', String(retryAfter));
      throw new ApiError(
        429,
        'too_many_failed_authentications',
        `Too many requests without a valid API key from this address: at most ${AUTH_FAILURES_PER_MINUTE} per minute. Retry in ${retryAfter} s.`,
      );
    }
    res.set('WWW-Authenticate', 'Bearer');
    throw new ApiError(
      401,
      'unauthorized',
      match ? 'The API key is not valid.' : 'Send "Authorization: Bearer <workspace API key>".',
    );
  });

  // A fixed one-minute window per key (see `FixedWindowLimiter`).
  router.use('/v1', async (_req, res, next) => {
    const caller = res.locals.caller as Caller;
    const limit =
      deps.directory().config.workspaces[caller.workspace]?.rateLimit?.requestsPerMinute ??
      DEFAULT_REQUESTS_PER_MINUTE;
    const hits = await deps.limiter.hit((window) => deps.keys.apiRateLimit(caller.keyHash, window), now());
    const count = hits.count;
    res.set('RateLimit-Limit', String(limit));
    res.set('RateLimit-Remaining', String(Math.max(0, limit - count)));
    if (count > limit) {
      const retryAfter = Math.max(1, Math.ceil(hits.retryAfterMs / 1000));
      res.set('Retry-After', String(retryAfter));
      throw new ApiError(
        429,
        'rate_limited',
        `Too many requests: at most ${limit} per minute. Retry in ${retryAfter} s.`,
      );
    }
    next();
  });

  // Any content type is read as JSON: the API speaks nothing else, and a wrong header should not hide a body.
  router.use('/v1', express.json({ limit: OPERATOR_API_BODY_LIMIT, strict: true, type: () => true }));

  const callerOf = (res: Response): Caller => res.locals.caller as Caller;
  const scopeOf = (res: Response, userId: string, externalId: string | undefined): UserScope => ({
    workspace: callerOf(res).workspace,
    userId,
    ...(externalId !== undefined ? { externalId } : {}),
  });
  const param = (req: Request, name: string): string => {
    const value = req.params[name];
    return typeof value === 'string' ? value : '';
  };
  /** The scope of `/v1/users/:userId`, 404 when this workspace has no such user. */
  const existingUser = async (
    req: Request,
    res: Response,
    externalId: string | undefined,
  ): Promise<UserScope> => {
    const scope = scopeOf(res, param(req, 'userId'), externalId);
    if (scope.userId.length > 256 || !(await identity.userExists(scope))) {
      throw new ApiError(404, 'user_not_found', 'No such user in this workspace.');
    }
    return scope;
  };
  /** Records a change in the caller's workspace's audit log, once it is done; `scope`: the user it was done to. */
  const audited: Audited = async (res, action, target, scope) => {
    const caller = callerOf(res);
    await deps.audit?.record(caller.workspace, { action, key: caller.fingerprint, at: now(), target }, scope);
  };
  const knownComponent = (res: Response, component: string): void => {
    if (!componentsOf(deps.directory().config, callerOf(res).workspace).has(component)) {
      throw new ApiError(
        404,
        'component_not_found',
        `No bot of this workspace has an auth component "${component}".`,
      );
    }
  };

  router.post('/v1/users', async (req, res) => {
    const body = parse(RegisterUserBodySchema, req.body, 'body');
    const workspace = callerOf(res).workspace;
    const components = componentsOf(deps.directory().config, workspace);
    for (const component of Object.keys(body.tokens ?? {})) {
      if (!components.has(component)) {
        throw new ApiError(
          422,
          'validation_failed',
          `body tokens.${component}: no bot of this workspace has this auth component`,
          [{ path: `tokens.${component}`, message: 'unknown auth component' }],
        );
      }
    }
    const scope = scopeOf(res, body.userId, body.externalId);
    try {
      await identity.registerUser({
        ...scope,
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.email !== undefined ? { email: body.email } : {}),
        ...(body.customData !== undefined ? { customData: body.customData } : {}),
        identities: body.identities.map((i) => identityOf(i.channel, i.address)),
      });
    } catch (error) {
      if (error instanceof IdentityInUseError) throw new ApiError(409, 'identity_in_use', error.message);
      throw error;
    }
    for (const [component, token] of Object.entries(body.tokens ?? {})) {
      await tokens.put(scope, component, { token: token.token, ttlSeconds: token.ttl });
    }
    await audited(res, 'user.register', {}, scope);
    res.status(201).json({
      userId: body.userId,
      ...(body.externalId !== undefined ? { externalId: body.externalId } : {}),
      tier: 'verified',
    });
  });

  router.get('/v1/users/:userId', async (req, res) => {
    const query = parse(UserQuerySchema, req.query, 'query');
    const scope = await existingUser(req, res, query.externalId);
    const view = await identity.getUser(scope);
    if (!view) throw new ApiError(404, 'user_not_found', 'No such user in this workspace.');
    res.json(userJson(view));
  });

  router.get('/v1/users/:userId/history', async (req, res) => {
    const query = parse(HistoryQuerySchema, req.query, 'query');
    const scope = await existingUser(req, res, query.externalId);
    const cursor = query.cursor ? decodeCursor(query.cursor, isHistoryCursor) : undefined;
    // The history is a capped list (the most recent entries): it is read whole and paged here.
    const newestFirst = (await identity.readHistory(scope, Number.MAX_SAFE_INTEGER))
      .filter(
        (e) =>
          (query.after === undefined || e.at >= query.after) &&
          (query.before === undefined || e.at < query.before),
      )
      .reverse();
    let start = 0;
    if (cursor) {
      // After the page that ended at time `b`, having given `n` entries of that very millisecond.
      let seen = 0;
      while (start < newestFirst.length) {
        const at = newestFirst[start]!.at;
        if (at > cursor.b || (at === cursor.b && seen < cursor.n)) {
          if (at === cursor.b) seen++;
          start++;
        } else break;
      }
    }
    const limit = query.limit ?? 50;
    const page = newestFirst.slice(start, start + limit);
    const oldest = page.at(-1);
    let nextCursor: string | null = null;
    if (oldest && start + limit < newestFirst.length) {
      const sameMs = page.filter((e) => e.at === oldest.at).length;
      nextCursor = encodeCursor({ b: oldest.at, n: sameMs + (cursor?.b === oldest.at ? cursor.n : 0) });
    }
    const entries = page.reverse();
    res.json({
      userId: scope.userId,
      entries: entries.map((e) => ({
        at: iso(e.at),
        direction: e.direction,
        channel: e.channel,
        address: e.identity.slice(e.identity.indexOf(':') + 1),
        text: e.text,
        secret: e.secret === true,
      })),
      nextCursor,
    });
  });

  router.put('/v1/users/:userId/tokens/:component', async (req, res) => {
    const query = parse(UserQuerySchema, req.query, 'query');
    const scope = await existingUser(req, res, query.externalId);
    if (scope.userId.startsWith(ANONYMOUS_PREFIX)) {
      throw new ApiError(404, 'user_not_found', 'Only verified users have tokens.');
    }
    const component = param(req, 'component');
    knownComponent(res, component);
    const body = parse(RenewTokenBodySchema, req.body, 'body');
    await tokens.put(scope, component, { token: body.token, ttlSeconds: body.ttl });
    await audited(res, 'token.renew', { component }, scope);
    res.status(204).end();
  });

  router.delete('/v1/users/:userId/tokens', async (req, res) => {
    const query = parse(UserQuerySchema, req.query, 'query');
    const scope = await existingUser(req, res, query.externalId);
    const taken = await tokens.take(scope);
    await deps.revokeAtProvider?.(scope.workspace, taken);
    await audited(res, 'token.revoke', {}, scope);
    res.status(204).end();
  });

  router.delete('/v1/users/:userId/tokens/:component', async (req, res) => {
    const query = parse(UserQuerySchema, req.query, 'query');
    const scope = await existingUser(req, res, query.externalId);
    const component = param(req, 'component');
    knownComponent(res, component);
    const taken = await tokens.take(scope, component);
    await deps.revokeAtProvider?.(scope.workspace, taken);
    await audited(res, 'token.revoke', { component }, scope);
    res.status(204).end();
  });

  router.delete('/v1/users/:userId', async (req, res) => {
    const query = parse(UserQuerySchema, req.query, 'query');
    const scope = await existingUser(req, res, query.externalId);
    if (!(await identity.eraseUser(scope)))
      throw new ApiError(404, 'user_not_found', 'No such user in this workspace.');
    logger.info('user erased through the operator API', { workspace: scope.workspace });
    // The erasure is recorded under the user's opaque reference; then who they were is forgotten.
    await audited(res, 'user.erase', {}, scope);
    await deps.audit?.forgetUser(scope);
    res.status(204).end();
  });

  router.post('/v1/link-codes', async (req, res) => {
    const body = parse(CreateLinkCodeBodySchema, req.body, 'body');
    const created = await linkCodes.create({
      workspace: callerOf(res).workspace,
      userId: body.userId,
      ...(body.externalId !== undefined ? { externalId: body.externalId } : {}),
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.customData !== undefined ? { customData: body.customData } : {}),
      ...(body.ttl !== undefined ? { ttlSeconds: body.ttl } : {}),
      ...(body.keypad !== undefined ? { keypad: body.keypad } : {}),
    });
    // The code is a secret: the log says one was issued, and for whom.
    await audited(
      res,
      'link-code.create',
      {},
      {
        workspace: callerOf(res).workspace,
        userId: body.userId,
        ...(body.externalId !== undefined ? { externalId: body.externalId } : {}),
      },
    );
    res.status(201).json({ code: created.code, expiresAt: iso(created.expiresAt) });
  });

  router.get('/v1/audit', async (req, res) => {
    const query = parse(PageQuerySchema, req.query, 'query');
    const before = query.cursor ? decodeCursor(query.cursor, isAuditCursor).id : undefined;
    const page = await (deps.audit?.list(callerOf(res).workspace, {
      limit: query.limit ?? DEFAULT_PAGE_LIMIT,
      ...(before !== undefined ? { before } : {}),
    }) ?? { entries: [], more: false });
    const last = page.entries.at(-1);
    res.json({
      entries: page.entries.map((e) => ({
        id: e.id,
        at: iso(e.at),
        action: e.action,
        key: e.key,
        target: e.target,
      })),
      nextCursor: page.more && last ? encodeCursor({ id: last.id }) : null,
    });
  });

  const config = () => deps.directory().config;
  const kit = { parse, existingUser, callerOf, audited, now, param, identity, config, logger };
  if (deps.proactive) mountProactive(router, deps.proactive, kit);
  if (deps.live) mountLiveState(router, deps.live, kit);
  if (deps.live) mountHandoff(router, deps.live, kit, deps.proactive?.channels);

  if (deps.calls) mountCalls(router, deps.calls, kit);

  router.use('/v1', () => {
    throw new ApiError(404, 'not_found', 'No such endpoint.');
  });

  router.use('/v1', (error: BodyParserError, req: Request, res: Response, _next: NextFunction) => {
    let problem: ApiError;
    if (error instanceof ApiError) problem = error;
    else if (error.type === 'entity.too.large') {
      problem = new ApiError(413, 'payload_too_large', 'The body is over the 1 MiB limit.');
    } else if (error.type === 'entity.parse.failed') {
      problem = new ApiError(400, 'invalid_json', 'The body is not valid JSON (or not a JSON object).');
    } else if (redisUnavailable(error)) {
      res.set('Retry-After', '1');
      problem = new ApiError(503, 'unavailable', 'Storage is unavailable; retry shortly.');
    } else if ((error.status ?? error.statusCode ?? 500) < 500) {
      problem = new ApiError(400, 'bad_request', 'The request could not be read.');
    } else {
      logger.error('operator API request failed', {
        method: req.method,
        path: req.route?.path ?? '/v1',
        reason: error.message,
      });
      problem = new ApiError(500, 'internal', 'Something went wrong on our side.');
    }
    res.status(problem.status).json({
      error: {
        code: problem.code,
        message: problem.message,
        ...(problem.details ? { details: problem.details } : {}),
      },
    });
  });

  return router;
}
