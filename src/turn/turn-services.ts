// Binds the dialog engine's ports to HTTP, Redis and the operator's services for one turn of one conversation.
import type { AuthComponent, BotConfig, WorkspaceConfig } from '../config/index.js';
import { authenticate, refreshTokens } from '../auth/index.js';
import type { Channel, InboundEvent } from '../core/events.js';
import { botTexts } from '../core/dialog.js';
import { DialogError } from '../core/errors.js';
import type { AuthOutcome, DialogServices, LinkOutcome, OperatorEventType, UserView } from '../core/ports.js';
import type { Clock } from '../core/ports/clock.js';
import type { Templates } from '../core/templates.js';
import type { Logger } from '../log.js';
import { statusClass, type Metrics } from '../metrics.js';
import type { OutboundClient } from '../net/outbound.js';
import type { ResolvedUser } from '../identity/index.js';
import { signInServices, type SignInDeps } from './sign-in-services.js';
import type { TakenTokens } from '../store/token-store.js';
import { revokeAtProviders } from './provider-revocation.js';
import { refreshUserToken, type TokenRecord } from './token-refresh.js';
import { turnSpans } from './turn-spans.js';

/** A lookup of a turn's user begun before its turn (`IdentityServices.lookUp`); opaque to the worker. */
export type UserLookup = Promise<ResolvedUser>;

/** The identity and token services (users, link codes, token cache, lockouts) as the turn sees them. */
export interface IdentityServices {
  /**
   * Begins the lookup of the user of a turn about to run: a worker that knows the event before it has read
   * the conversation's head sends the two together. A failure is the turn's, when it asks (`TurnScope.lookup`).
   */
  lookUp(scope: Pick<TurnScope, 'workspaceId' | 'bot' | 'event'>): UserLookup;
  forTurn(scope: TurnScope): Pick<
    DialogServices,
    | 'user'
    | 'markVerified'
    | 'saveProfile'
    | 'whoAmI'
    | 'token'
    | 'storeToken'
    | 'lockedFor'
    | 'recordFailure'
    | 'clearFailures'
  > & {
    recordHistory(entries: HistoryLine[]): Promise<void>;
    recentHistory: DialogServices['recentHistory'];
    /** `workspaceTripped`: this try paused the workspace's redemptions (report it once). */
    redeemLinkCode(code: string): Promise<LinkOutcome & { workspaceTripped?: { until: number } }>;
    /** Counts an auth try against the typed account (before the call), or says the account is locked. */
    accountTry(name: string, component: AuthComponent, values: Record<string, string>): Promise<AccountTry>;
    /** Forgets the verified user's token of the component; returns what it held (to revoke at the provider). */
    revokeToken(component: string): Promise<TakenTokens[]>;
    /** Forgets every token of the verified user; returns what they held. */
    logout(): Promise<TakenTokens[]>;
    /** The verified user's record of the component and its refresh lock (undefined for anyone else). */
    tokenRecord(component: string): Promise<TokenRecord | undefined>;
  };
}

/** An auth try as the typed account's limit saw it; the methods settle it once the service answered. */
export interface AccountTry {
  /** Seconds the account is locked (no call may be made), or 0. */
  lockedSeconds: number;
  /** This try started the lockout. */
  newly: boolean;
  /** A wrong answer: seconds locked when it used up the account's limit (and whether it just did), else 0. */
  failed(): Promise<{ lockedSeconds: number; newly: boolean }>;
  /** The service could not answer: the try does not count. */
  release(): Promise<void>;
  /** Success: the account's failures are forgotten. */
  clear(): Promise<void>;
}

/** One line of a conversation's history; a secret line is kept as `[redacted]`. */
export interface HistoryLine {
  direction: 'in' | 'out';
  text: string;
  secret?: boolean;
}

/** The engine's ports plus what the worker itself records after a turn. */
export type TurnServices = DialogServices & { recordHistory(entries: HistoryLine[]): Promise<void> };

export interface EventEmitter {
  emit(event: {
    type: OperatorEventType;
    workspace: string;
    externalId?: string;
    userId?: string;
    channel?: Channel;
    /** The conversation's channel identity: files the event for erasure, never sent. */
    identity?: string;
    /** Flat values only; the sink drops anything that looks like a credential. */
    data: Record<string, string | number | boolean | null | undefined>;
    /** Same key, same event id (see `EventInput.key`). */
    key?: string;
  }): void;
}

export interface TurnScope {
  cid: string;
  botId: string;
  bot: BotConfig;
  workspaceId: string;
  workspace: WorkspaceConfig;
  event: InboundEvent;
  /** The dialog state the turn starts from, named in its log lines (the engine moves a copy). */
  state?: { flow: string; step: number } | null;
  /** The lookup of this turn's user, begun already (`IdentityServices.lookUp`, for this very event). */
  lookup?: UserLookup;
}

export interface TurnServiceDeps {
  outbound: OutboundClient;
  templates: Templates;
  logger: Logger;
  metrics: Metrics;
  identity?: IdentityServices;
  events?: EventEmitter;
  /** Sign-in links (absent: components that sign in by link cannot start one). */
  signIns?: SignInDeps;
  /** The time refreshes are judged and waited by; default the system's. */
  clock?: Clock;
}

const systemTime: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

function missingIdentity(): never {
  throw new DialogError('identity services are not configured in this process');
}

const anonymous = (event: InboundEvent): UserView => ({ id: `anon:${event.identity}`, tier: 'anonymous' });

export function createTurnServices(deps: TurnServiceDeps, scope: TurnScope): TurnServices {
  const identity = deps.identity?.forTurn(scope);
  const http: DialogServices['http'] = (request) =>
    deps.outbound.send({
      ...request,
      allowHosts: scope.workspace.allowHosts,
      allowPrivateAddresses: scope.workspace.allowPrivateAddresses ?? [],
    });
  let knownUser: UserView | undefined;
  const clock = deps.clock ?? systemTime;
  // The token this turn was last given per component: a forced refresh compares the stored one with it.
  const handedOut = new Map<string, string>();
  const componentNamed = (name: string): AuthComponent | undefined =>
    Object.hasOwn(scope.bot.auth, name) ? scope.bot.auth[name] : undefined;
  const revokeAtProvidersOf = (taken: TakenTokens[]) =>
    revokeAtProviders(taken, {
      component: componentNamed,
      deps: { http, templates: deps.templates },
      logger: deps.logger,
      context: { conversation: scope.cid, bot: scope.botId, channel: scope.event.channel },
    });
  const { requestSpan, authSpan } = turnSpans(scope, http);
  const emitted = new Map<string, number>();
  const where = (componentType: AuthComponent['type']) => ({
    conversation: scope.cid,
    bot: scope.botId,
    channel: scope.event.channel,
    componentType,
  });
  const turnAt = () => ({ flow: scope.state?.flow, step: scope.state?.step });
  /** A lockout this turn started: told once, with its end, whichever limit tripped. */
  const lockoutStarted = async (
    name: string,
    type: AuthComponent['type'],
    limit: string,
    seconds: number,
  ) => {
    deps.metrics.lockouts.inc({ bot: scope.botId, component: name, limit });
    deps.logger.warn('lockout started', {
      ...where(type),
      ...turnAt(),
      component: name,
      userId: (await services.user()).id,
      limit,
      seconds,
      until: new Date(clock.now() + seconds * 1000).toISOString(),
    });
  };
  const accountLocked = async (name: string, type: AuthComponent['type'], seconds: number) => {
    services.emit('user.locked', { component: name, seconds, limit: 'account' });
    deps.logger.warn('auth account locked after failures from any identity', {
      ...where(type),
      component: name,
      seconds,
    });
    await lockoutStarted(name, type, 'account', seconds);
  };
  const services: TurnServices = {
    http: requestSpan,
    requestOutcome: (outcome) => {
      deps.metrics.apiRequests.inc({ bot: scope.botId, status_class: statusClass(outcome) });
      const fields = {
        conversation: scope.cid,
        bot: scope.botId,
        channel: scope.event.channel,
        flow: outcome.flow,
        step: outcome.step,
        host: outcome.host,
        ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        reason: outcome.reason,
      };
      if (outcome.reason === 'ok') deps.logger.debug('protected API answered', fields);
      else deps.logger.warn('protected API failed', fields);
    },
    user: async () => (knownUser = identity ? await identity.user() : anonymous(scope.event)),
    markVerified: async (userId, component) => {
      if (!identity) return missingIdentity();
      const verified = await identity.markVerified(userId, component);
      if ('moved' in verified) {
        deps.logger.warn(
          'login refused: the identity belongs to another user and the workspace forbids moves',
          {
            conversation: scope.cid,
            bot: scope.botId,
            channel: scope.event.channel,
            component,
          },
        );
      }
      return verified;
    },
    saveProfile: (profile) => (identity ? identity.saveProfile(profile) : missingIdentity()),
    redeemLinkCode: async (code) => {
      if (!identity) return missingIdentity();
      const { workspaceTripped, ...outcome } = await identity.redeemLinkCode(code);
      if (workspaceTripped) {
        deps.metrics.linkCodeLimit.inc({ workspace: scope.workspaceId });
        const limit = scope.workspace.linkCodes;
        deps.logger.warn('link code redemptions paused in the workspace after too many wrong codes', {
          conversation: scope.cid,
          bot: scope.botId,
          maxFailures: limit.maxFailures,
          lockout: limit.lockout,
        });
        services.emit('link_codes.locked', {
          maxFailures: limit.maxFailures,
          window: limit.window,
          until: new Date(workspaceTripped.until).toISOString(),
        });
      }
      return outcome;
    },
    logout: async () => {
      if (!identity) return 0;
      const taken = await identity.logout();
      handedOut.clear();
      await revokeAtProvidersOf(taken);
      return taken.length;
    },
    whoAmI: () => (identity ? identity.whoAmI() : Promise.resolve(botTexts(scope.bot).text.whoAmIUnknown)),
    token: async (component) => {
      const token = identity ? await identity.token(component) : undefined;
      deps.metrics.tokenCache.inc({ result: token ? 'hit' : 'miss' });
      if (token) handedOut.set(component, token.token);
      return token;
    },
    storeToken: async (component, userId, token) => {
      if (!identity) return missingIdentity();
      await identity.storeToken(component, userId, token);
      handedOut.set(component, token.token);
    },
    ...signInServices(
      deps.signIns,
      scope,
      {
        markVerified: (userId, component) => services.markVerified(userId, component),
        storeToken: (component, userId, token) => services.storeToken(component, userId, token),
      },
      deps,
    ),
    refreshToken: async (name, opts = {}) => {
      const component = componentNamed(name);
      const record: TokenRecord | undefined =
        identity && component ? await identity.tokenRecord(name) : undefined;
      if (!record || !component) return { result: 'none' };
      const result = await refreshUserToken(
        {
          record,
          clock,
          timeoutMs: component.timeout * 1000,
          refresh: (refreshToken) =>
            refreshTokens(name, component, refreshToken, { http, templates: deps.templates }),
          observe: (outcome, reason) => {
            deps.metrics.tokenRefreshes.inc({ component_type: component.type, result: outcome });
            const fields = { ...where(component.type), component: name, result: outcome };
            if (outcome === 'success') deps.logger.info('token refresh', fields);
            else deps.logger.warn('token refresh', { ...fields, reason });
          },
        },
        { ...(opts.force ? { force: true } : {}), rejected: opts.force ? handedOut.get(name) : undefined },
      );
      if (result.result === 'refreshed') handedOut.set(name, result.token.token);
      else handedOut.delete(name);
      return result;
    },
    revokeToken: async (component) => {
      if (!identity) return;
      const taken = await identity.revokeToken(component);
      handedOut.delete(component);
      await revokeAtProvidersOf(taken);
    },
    lockedFor: (component) => (identity ? identity.lockedFor(component) : Promise.resolve(0)),
    recordFailure: async (component, name) => {
      const recorded = identity ? await identity.recordFailure(component, name) : { lockedFor: 0 };
      // recordFailure reports the lockout once, from the failure that started it.
      if (recorded.lockedFor > 0)
        await lockoutStarted(name, (component as AuthComponent).type, 'identity', recorded.lockedFor);
      return recorded;
    },
    clearFailures: (component) => (identity ? identity.clearFailures(component) : Promise.resolve()),
    recordHistory: (entries) => (identity ? identity.recordHistory(entries) : Promise.resolve()),
    recentHistory: (limit) => (identity ? identity.recentHistory(limit) : Promise.resolve([])),
    authenticate: async (component, values, name) => {
      const account = identity ? await identity.accountTry(name, component, values) : undefined;
      // Who tried: the conversation's user (for a success, the user the auth service named).
      const tried = async (result: string, userId?: string) => ({
        ...where(component.type),
        ...turnAt(),
        component: name,
        userId: userId ?? (await services.user()).id,
        result,
      });
      if (account && account.lockedSeconds > 0) {
        deps.metrics.auth.inc({ component: name, component_type: component.type, result: 'locked' });
        if (account.newly) await accountLocked(name, component.type, account.lockedSeconds);
        deps.logger.warn('auth refused: the typed account is locked', {
          ...(await tried('locked')),
          seconds: account.lockedSeconds,
        });
        return { result: 'locked', seconds: account.lockedSeconds };
      }
      const outcome: AuthOutcome = await authSpan(name, component, () =>
        authenticate(name, component, values, { http, templates: deps.templates }),
      );
      deps.metrics.auth.inc({ component: name, component_type: component.type, result: outcome.result });
      if (outcome.result === 'unavailable') {
        deps.logger.warn('auth service unavailable', {
          ...(await tried(outcome.result)),
          reason: outcome.reason,
        });
        await account?.release();
        return outcome;
      }
      if (outcome.result === 'success') {
        deps.logger.info('auth result', await tried(outcome.result, outcome.userId));
        await account?.clear();
        return outcome;
      }
      deps.logger.warn('auth result', { ...(await tried(outcome.result)), reason: 'wrong credentials' });
      const after = await account?.failed();
      if (!after || after.lockedSeconds === 0) return outcome;
      if (after.newly) await accountLocked(name, component.type, after.lockedSeconds);
      return { result: 'wrong_credentials', accountLockedSeconds: after.lockedSeconds };
    },
    report: (problem) =>
      deps.logger.warn('bot configuration problem at run time', {
        conversation: scope.cid,
        bot: scope.botId,
        channel: scope.event.channel,
        problem,
      }),
    emit: (type, data = {}, userId) => {
      // Keyed by the inbound event: the same turn run again after a crash gives the same event ids.
      const n = emitted.get(type) ?? 0;
      emitted.set(type, n + 1);
      deps.events?.emit({
        key: `${scope.botId}:${scope.event.id}:${type}:${n}`,
        type,
        workspace: scope.workspaceId,
        channel: scope.event.channel,
        identity: scope.event.identity,
        data: { bot: scope.botId, ...flat(data) },
        ...((userId ?? knownUser?.id) ? { userId: userId ?? knownUser?.id } : {}),
        ...(knownUser?.externalId ? { externalId: knownUser.externalId } : {}),
      });
    },
  };
  return services;
}

/** Event data is flat: nested values are dropped rather than serialized (they could carry anything). */
function flat(data: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(data)) {
    if (
      value === null ||
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean'
    ) {
      out[key] = value;
    }
  }
  return out;
}
