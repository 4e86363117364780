// The ports a dialog turn uses, faked for the engine's unit tests (no Redis, no HTTP). It keeps the same
// behaviours as the Redis-backed turn services: both pass test/support/conformance/dialog-ports.ts.
import { accountPolicy } from '../../../../src/auth/accounts.js';
import { authenticate, typedAccountId } from '../../../../src/auth/index.js';
import type { AuthComponent } from '../../../../src/config/index.js';
import type {
  HistoryItem,
  CachedToken,
  DialogServices,
  OperatorEventType,
  RefreshResult,
  RemoteApiRequest,
  RemoteApiResponse,
  RequestOutcome,
  UserView,
} from '../../../../src/core/ports.js';
import { Templates } from '../../../../src/core/templates.js';

export type Answer = RemoteApiResponse | Error;

export function json(status: number, value: unknown): RemoteApiResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    text: JSON.stringify(value),
    json: value,
  };
}

export interface FakeServicesOptions {
  /** The clock (ms) tokens, lockouts and link codes read; the real time unless given. */
  now?: () => number;
  /** The bot's auth component names: a user id typed to one is shown without it (`bank-login:1001` → `1001`). */
  namespaces?: string[];
}

/** As the real services: five wrong link codes per identity in fifteen minutes. */
const LINK_MAX_FAILURES = 5;
const LINK_WINDOW_MS = 900_000;
/** The shapes a link code can have (letters and digits, or digits); anything else is invalid without a look-up. */
const LINK_SHAPE = /^(?:[0-9A-Z]{10}|\d{10}|\d{6})$/;

/** Scripted HTTP answers, recorded calls, events and profile saves; users, tokens, lockouts and codes in memory. */
export class FakeServices {
  readonly calls: RemoteApiRequest[] = [];
  readonly events: { type: OperatorEventType; data?: Record<string, unknown> }[] = [];
  readonly profiles: { name?: string; email?: string }[] = [];
  readonly reports: string[] = [];
  /** Every run of a request step, as the services were told of it. */
  readonly requestOutcomes: RequestOutcome[] = [];
  readonly answers: Answer[] = [];
  /** Link codes the operator issued: code → user id and expiry. */
  readonly linkCodes = new Map<string, { userId: string; expiresAt: number }>();
  /** What the next `refreshToken` calls answer, in order; `none` once they run out. */
  readonly refreshResults: RefreshResult[] = [];
  readonly refreshCalls: { component: string; force: boolean }[] = [];
  /** What `recentHistory` answers (the last lines are given). */
  readonly history: HistoryItem[] = [];

  private verified: string | undefined;
  private claims: { name?: string; email?: string } = {};
  private readonly tokens = new Map<string, CachedToken>();
  private readonly failures = new Map<string, { count: number; windowEnd: number }>();
  private readonly locks = new Map<string, number>();
  private linkFailures: { count: number; windowEnd: number } = { count: 0, windowEnd: 0 };
  /** Wrong answers per typed account (component and account id), whoever typed them. */
  private readonly accounts = new Map<string, { count: number; windowEnd: number; lockedUntil: number }>();
  private readonly templates = new Templates();
  /** Sign-in links: the components that sign in by link, and the sessions started. */
  readonly signIn = {
    components: new Map<
      string,
      { binding: boolean; holdSeconds: number; fallbackFlow?: string; noTextChannel?: boolean }
    >(),
    sessions: new Map<
      string,
      {
        component: string;
        status: 'pending' | 'completed' | 'failed' | 'taken';
        misses: number;
        expiresAt: number;
        code?: string;
        userId?: string;
        token?: string;
      }
    >(),
    /** The browser side of a session finished: the provider's user and token, and the code the page showed. */
    complete: (session: string, userId: string, token: string, code = '123456') => {
      const found = this.signIn.sessions.get(session)!;
      Object.assign(found, { status: 'completed', userId, token, code });
    },
  };
  private readonly now: () => number;

  constructor(private readonly options: FakeServicesOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  private view(): UserView {
    if (this.verified !== undefined) return { id: this.verified, tier: 'verified' };
    const { name, email } = this.claims;
    if (name === undefined && email === undefined) return { id: 'anon:sms:+12025550100', tier: 'anonymous' };
    return {
      id: 'anon:sms:+12025550100',
      tier: 'unverified',
      ...(name !== undefined ? { name } : {}),
      ...(email !== undefined ? { email } : {}),
    };
  }

  private secondsUntil(until: number): number {
    return Math.max(1, Math.ceil((until - this.now()) / 1000));
  }

  readonly ports: DialogServices = {
    recentHistory: async (limit) => this.history.slice(-limit),
    http: async (request) => {
      this.calls.push(request);
      const answer = this.answers.shift() ?? json(200, {});
      if (answer instanceof Error) throw answer;
      return answer;
    },
    user: async () => this.view(),
    signsInByLink: (component) => this.signIn.components.has(component),
    startSignIn: async (component) => {
      const settings = this.signIn.components.get(component);
      if (!settings) return { ok: false, reason: 'unavailable' };
      const voice = { holdSeconds: settings.holdSeconds, fallbackFlow: settings.fallbackFlow };
      if (settings.noTextChannel) return { ok: false, reason: 'no_text_channel', voice };
      const session = `S${this.signIn.sessions.size + 1}`;
      const expiresAt = this.now() + 600_000;
      this.signIn.sessions.set(session, { component, status: 'pending', misses: 0, expiresAt });
      return {
        ok: true,
        session,
        link: `https://gw.example/s/code-${session}`,
        expiresAt,
        binding: settings.binding,
        linkText: 'Sign in here: {{link}}',
        voice,
      };
    },
    signInStatus: async (session) => {
      const found = this.signIn.sessions.get(session);
      if (!found || found.status === 'taken') return { status: 'expired' };
      if (found.status === 'failed') return { status: 'failed', reason: 'denied' };
      return { status: found.status };
    },
    finishSignIn: async (component, session, code) => {
      const found = this.signIn.sessions.get(session);
      if (!found || found.status === 'taken') return { ok: false, reason: 'expired' };
      if (found.status !== 'completed') return { ok: false, reason: 'not_completed' };
      if (this.signIn.components.get(component)?.binding && code !== found.code) {
        found.misses += 1;
        if (found.misses >= 3) {
          found.status = 'taken';
          return { ok: false, reason: 'too_many' };
        }
        return { ok: false, reason: 'wrong_code', attemptsLeft: 3 - found.misses };
      }
      found.status = 'taken';
      this.verified = found.userId;
      const token = { token: found.token!, expiresAt: this.now() + 3_600_000 };
      this.tokens.set(component, token);
      return { ok: true, token, user: this.view() };
    },
    // Scripted: each call takes the next result (a refreshed token is cached as the real services do).
    refreshToken: async (component, opts = {}) => {
      this.refreshCalls.push({ component, force: opts.force === true });
      const result = this.refreshResults.shift() ?? { result: 'none' };
      if (result.result === 'refreshed') this.tokens.set(component, result.token);
      if (result.result === 'refused') this.tokens.delete(component);
      return result;
    },
    markVerified: async (userId) => {
      this.verified = userId;
      return this.view();
    },
    saveProfile: async (profile) => {
      this.profiles.push(profile);
      this.claims = { ...this.claims, ...profile };
    },
    redeemLinkCode: async (typed) => {
      const now = this.now();
      if (this.linkFailures.windowEnd <= now)
        this.linkFailures = { count: 0, windowEnd: now + LINK_WINDOW_MS };
      // Every try is counted first, and given back only when the code was right.
      this.linkFailures.count += 1;
      if (this.linkFailures.count > LINK_MAX_FAILURES) {
        return {
          ok: false,
          reason: 'rate_limited',
          retryInSeconds: this.secondsUntil(this.linkFailures.windowEnd),
        };
      }
      const code = typed.replace(/[\s.-]/g, '').toUpperCase();
      if (!LINK_SHAPE.test(code)) return { ok: false, reason: 'invalid' };
      const issued = this.linkCodes.get(code);
      this.linkCodes.delete(code);
      if (!issued) return { ok: false, reason: 'invalid' };
      if (issued.expiresAt <= now) return { ok: false, reason: 'expired' };
      this.linkFailures.count -= 1;
      this.verified = issued.userId;
      return { ok: true, user: this.view() };
    },
    logout: async () => {
      if (this.verified === undefined) return 0;
      const n = this.tokens.size;
      this.tokens.clear();
      return n;
    },
    whoAmI: async () => {
      const user = this.view();
      const label = user.name ?? user.email;
      if (user.tier === 'verified') {
        if (label !== undefined) return `You are ${label} (verified).`;
        const namespace = (this.options.namespaces ?? []).find((n) => user.id.startsWith(`${n}:`));
        return `You are verified as ${namespace ? user.id.slice(namespace.length + 1) : user.id}.`;
      }
      if (user.tier === 'unverified' && label !== undefined) return `You are ${label} (unverified).`;
      return "I don't know you yet.";
    },
    token: async (component) => {
      if (this.verified === undefined) return undefined;
      const token = this.tokens.get(component);
      return token && token.expiresAt > this.now() ? token : undefined;
    },
    storeToken: async (
      component,
      _userId,
      { ttlSeconds, refreshToken: _r, refreshTtlSeconds: _t, ...token },
    ) => {
      // Kept for whoever the identity is; only a verified user is ever given it back.
      this.tokens.set(component, { ...token, expiresAt: this.now() + Math.ceil(ttlSeconds * 1000) });
    },
    revokeToken: async (component) => {
      if (this.verified !== undefined) this.tokens.delete(component);
    },
    lockedFor: async (component) => {
      const until = this.locks.get(component) ?? 0;
      return until > this.now() ? this.secondsUntil(until) : 0;
    },
    recordFailure: async (component, name) => {
      const now = this.now();
      const until = this.locks.get(name) ?? 0;
      if (until > now) return { lockedFor: this.secondsUntil(until) };
      const { maxAttempts, lockout } = component as unknown as { maxAttempts: number; lockout: number };
      let counted = this.failures.get(name);
      if (!counted || counted.windowEnd <= now) counted = { count: 0, windowEnd: now + lockout * 1000 };
      counted.count += 1;
      if (counted.count < maxAttempts) {
        this.failures.set(name, counted);
        return { lockedFor: 0, attemptsLeft: maxAttempts - counted.count };
      }
      this.failures.delete(name);
      this.locks.set(name, now + lockout * 1000);
      return { lockedFor: lockout };
    },
    clearFailures: async (component) => void this.failures.delete(component),
    // The real auth methods over the scripted HTTP answers, with the typed account's limit kept here.
    authenticate: async (component, values, name) => {
      const typed = typedAccountId(component as AuthComponent, values);
      const key = `${name}\n${typed}`;
      const policy = accountPolicy(component as AuthComponent);
      const now = this.now();
      let account = this.accounts.get(key);
      if (!account || (account.windowEnd <= now && account.lockedUntil <= now)) {
        account = { count: 0, windowEnd: now + policy.lockoutSeconds * 1000, lockedUntil: 0 };
      }
      if (typed !== undefined && account.lockedUntil > now) {
        return { result: 'locked', seconds: this.secondsUntil(account.lockedUntil) };
      }
      const outcome = await authenticate(name, component as AuthComponent, values, {
        http: this.ports.http,
        templates: this.templates,
      });
      if (typed === undefined || outcome.result === 'unavailable') return outcome;
      if (outcome.result === 'success') {
        this.accounts.delete(key);
        return outcome;
      }
      account.count += 1;
      this.accounts.set(key, account);
      if (account.count < policy.maxAttempts) return outcome;
      account.lockedUntil = now + policy.lockoutSeconds * 1000;
      const seconds = this.secondsUntil(account.lockedUntil);
      this.ports.emit('user.locked', { component: name, seconds, limit: 'account' });
      return { result: 'wrong_credentials', accountLockedSeconds: seconds };
    },
    emit: (type, data) => void this.events.push({ type, ...(data ? { data: flat(data) } : {}) }),
    report: (problem) => void this.reports.push(problem),
    requestOutcome: (outcome) => void this.requestOutcomes.push(outcome),
  };
}

/** As the real services: event data keeps flat values only (a nested one could carry anything). */
function flat(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(data).filter(
      ([, v]) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean',
    ),
  );
}
