// Binds users, link codes, the token cache and lockouts to one turn of one conversation.
import { accountPolicy, displayedUserId, userNamespace } from '../auth/accounts.js';
import { typedAccountId } from '../auth/index.js';
import { botTexts } from '../core/dialog.js';
import type { UserView } from '../core/ports.js';
import { Templates } from '../core/templates.js';
import type { LinkCodes, ResolvedUser } from '../identity/index.js';
import { whoAmIText } from '../identity/index.js';
import { IdentityMoveForbiddenError, type IdentityStore } from '../store/identity-store.js';
import type { Lockout } from '../store/lockout.js';
import type { RefreshLock } from '../store/refresh-lock.js';
import type { TokenStore } from '../store/token-store.js';
import type { AccountTry, IdentityServices, TurnScope } from './turn-services.js';

/** For an id with no account field answered (cannot happen after the dialog's checks): nothing is counted. */
const UNCOUNTED: AccountTry = {
  lockedSeconds: 0,
  newly: false,
  failed: () => Promise.resolve({ lockedSeconds: 0, newly: false }),
  release: () => Promise.resolve(),
  clear: () => Promise.resolve(),
};

export interface IdentityDeps {
  identity: IdentityStore;
  tokens: TokenStore;
  /** The lock one worker holds while it refreshes a token. */
  refreshLock: RefreshLock;
  linkCodes: LinkCodes;
  lockout: Lockout;
  /** The time lockouts and link-code pauses are counted down by (ms). */
  now: () => number;
}

function view(user: ResolvedUser): UserView {
  return {
    id: user.userId,
    tier: user.tier,
    ...(user.externalId !== undefined ? { externalId: user.externalId } : {}),
    ...(user.name !== undefined ? { name: user.name } : {}),
    ...(user.email !== undefined ? { email: user.email } : {}),
  };
}

/** Renders the bot's who-am-I texts (a handful of templates, parsed once). */
const WHO_AM_I = new Templates({ cacheSize: 64 });

/** Where a turn's user is looked up: its workspace, its bot (is a caller's number trusted?) and its event. */
type LookupScope = Pick<TurnScope, 'workspaceId' | 'bot' | 'event'>;

/** The bare CallSid of a voice event (`CA…:3` → `CA…`): a caller verified in a call stays so for that call. */
function callIdOf(scope: LookupScope): string | undefined {
  return scope.event.channel === 'voice' ? scope.event.id.split(':')[0] : undefined;
}

export function identityServices(deps: IdentityDeps): IdentityServices {
  /** Seconds from now until `until` (ms), at least 1. */
  const secondsUntil = (until: number | undefined) =>
    Math.max(1, Math.ceil(((until ?? deps.now()) - deps.now()) / 1000));
  const lookUp = (scope: LookupScope) => {
    const callId = callIdOf(scope);
    return deps.identity.resolveUser({
      workspace: scope.workspaceId,
      identity: scope.event.identity,
      channel: scope.event.channel,
      trustCallerId: scope.bot.voice.trustCallerId,
      ...(callId ? { callId } : {}),
    });
  };
  return {
    lookUp(scope) {
      const lookup = lookUp(scope);
      // Not awaited until the turn asks; its failure is the turn's then.
      lookup.catch(() => undefined);
      return lookup;
    },
    forTurn(scope) {
      const workspace = scope.workspaceId;
      const identity = scope.event.identity;
      const callId = callIdOf(scope);
      // The lookup, not only its answer, is remembered: a user asked for early (the worker does, as soon
      // as it knows the event) and asked for again by the turn is read once.
      let resolved: Promise<ResolvedUser> | undefined;
      let begun = scope.lookup;
      const known = (user: ResolvedUser) => (resolved = Promise.resolve(user));
      const resolve = () => {
        if (resolved) return resolved;
        const lookup = begun ?? lookUp(scope);
        begun = undefined;
        resolved = lookup;
        // A failed lookup is not remembered: the next ask reads again.
        lookup.catch(() => {
          if (resolved === lookup) resolved = undefined;
        });
        return lookup;
      };
      const userScope = async () => {
        const user = await resolve();
        return {
          workspace,
          userId: user.userId,
          ...(user.externalId !== undefined ? { externalId: user.externalId } : {}),
        };
      };
      const target = (component: string) => ({ workspace, identity, component });
      return {
        user: async () => view(await resolve()),
        markVerified: async (userId, component) => {
          let verified: ResolvedUser;
          try {
            verified = await deps.identity.markVerified({
              workspace,
              identity,
              userId,
              via: 'auth',
              component,
              eventKey: `${scope.event.id}:user.verified`,
              moves: scope.workspace.identityMoves,
              ...(callId ? { callId } : {}),
            });
          } catch (error) {
            if (error instanceof IdentityMoveForbiddenError) return { moved: 'forbidden' };
            throw error;
          }
          known(verified);
          return view(verified);
        },
        saveProfile: async (profile) => {
          await deps.identity.saveProfile({ workspace, identity, ...profile });
          resolved = undefined;
        },
        redeemLinkCode: async (code) => {
          const outcome = await deps.linkCodes.redeem({
            workspace,
            identity,
            code,
            ...(callId ? { callId } : {}),
            limit: scope.workspace.linkCodes,
          });
          if (!outcome.ok) {
            if (outcome.reason === 'rate_limited')
              return {
                ok: false,
                reason: 'rate_limited',
                ...(outcome.until !== undefined ? { retryInSeconds: secondsUntil(outcome.until) } : {}),
                ...(outcome.workspace?.tripped
                  ? { workspaceTripped: { until: outcome.until ?? deps.now() } }
                  : {}),
              };
            return {
              ok: false,
              reason: outcome.reason,
              ...(outcome.workspace?.tripped
                ? { workspaceTripped: { until: outcome.until ?? deps.now() } }
                : {}),
            };
          }
          known(outcome.user);
          return { ok: true, user: view(outcome.user) };
        },
        logout: async () => {
          const user = await resolve();
          if (user.tier !== 'verified') return [];
          return deps.tokens.take(await userScope());
        },
        whoAmI: async () => {
          // "You are verified as 1001", as they typed it, not as the namespaced id Switchboard keeps.
          const user = await resolve();
          const namespaces = Object.entries(scope.bot.auth).flatMap(([name, component]) => {
            const namespace = userNamespace(name, component);
            return namespace === undefined ? [] : [namespace];
          });
          const texts = botTexts(scope.bot);
          const spoken = scope.event.channel === 'voice' ? texts.voice : texts.text;
          return whoAmIText({ ...user, userId: displayedUserId(user.userId, namespaces) }, (text, params) =>
            WHO_AM_I.text(spoken[text], params),
          );
        },
        accountTry: async (name, component, values) => {
          const account = typedAccountId(component, values);
          if (account === undefined) return UNCOUNTED;
          const target = { workspace, component: name, account };
          const policy = accountPolicy(component);
          const tried = await deps.lockout.tryAccount(target, policy);
          return {
            lockedSeconds: tried.locked ? secondsUntil(tried.until) : 0,
            newly: tried.newly ?? false,
            failed: async () => {
              const after = await deps.lockout.accountFailed(target, policy);
              return {
                lockedSeconds: after.locked ? secondsUntil(after.until) : 0,
                newly: after.newly ?? false,
              };
            },
            release: () => deps.lockout.releaseAccount(target, policy),
            clear: () => deps.lockout.clearAccount(target),
          };
        },
        token: async (component) => {
          const user = await resolve();
          if (user.tier !== 'verified') return undefined;
          return deps.tokens.get(await userScope(), component);
        },
        storeToken: async (component, _userId, token) => {
          // markVerified ran first: the scope is the verified user's, externalId included.
          await deps.tokens.put(await userScope(), component, token);
        },
        revokeToken: async (component) => {
          const user = await resolve();
          if (user.tier !== 'verified') return [];
          return deps.tokens.take(await userScope(), component);
        },
        tokenRecord: async (component) => {
          const user = await resolve();
          if (user.tier !== 'verified') return undefined;
          const owner = await userScope();
          return {
            refreshable: () => deps.tokens.refreshable(owner, component),
            live: () => deps.tokens.get(owner, component),
            rotate: (version, token) => deps.tokens.rotate(owner, component, version, token),
            drop: (version) => deps.tokens.dropVersion(owner, component, version),
            acquire: (leaseMs) => deps.refreshLock.acquire(owner, component, leaseMs),
            held: () => deps.refreshLock.held(owner, component),
          };
        },
        lockedFor: async (component) => {
          const locked = await deps.lockout.isLocked(target(component));
          return locked ? secondsUntil(locked.until) : 0;
        },
        recordFailure: async (component, name) => {
          const outcome = await deps.lockout.recordFailure(target(name), {
            maxAttempts: component.maxAttempts,
            lockoutSeconds: component.lockout,
          });
          if (outcome.locked) return { lockedFor: outcome.until ? secondsUntil(outcome.until) : 0 };
          return { lockedFor: 0, attemptsLeft: Math.max(0, component.maxAttempts - outcome.failures) };
        },
        clearFailures: (component) => deps.lockout.clear(target(component)),
        recordHistory: async (entries) => {
          if (entries.length === 0) return;
          const user = await resolve();
          // A turn's lines are dated by the event that made it, not by when they were written (after the
          // commit, possibly after its replies went out, or retried through a failover).
          const at = scope.event.receivedAt;
          await deps.identity.appendHistory(
            user,
            entries.map((e) => ({ ...e, channel: scope.event.channel, at })),
          );
        },
        recentHistory: async (limit) => {
          // The history a GET /v1/users/{id}/history gives, secrets already stored as [redacted].
          const entries = await deps.identity.readHistory(await userScope(), limit);
          return entries.map((e) => ({
            direction: e.direction,
            text: e.text,
            at: e.at,
            ...(e.secret ? { secret: true } : {}),
          }));
        },
      };
    },
  };
}
