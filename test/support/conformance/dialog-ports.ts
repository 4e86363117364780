// One suite of what the dialog engine relies on from its ports (users, tokens, lockout, link codes, remote
// API, operator events), run against every implementation: the unit tests' fake and the Redis-backed turn services.
import { describe, expect, it } from 'vitest';
import type { AuthComponentConfig, DialogServices, OperatorEventType } from '../../../src/core/ports.js';

/** One conversation's ports, with the few handles a test needs to drive and observe them. */
export interface DialogPortsSubject {
  ports: DialogServices;
  /** A login component (the bot's `bank-login`) whose `maxAttempts` and `lockout` the lockout port applies. */
  login: AuthComponentConfig;
  /** Moves the clock the implementation reads forward. */
  advance(ms: number): void;
  now(): number;
  /** Issues a link code for `userId` (as the operator API does), valid `ttlSeconds`. */
  issueLinkCode(userId: string, ttlSeconds: number): Promise<string>;
  /** The next remote API request is answered with this status and JSON body; returns the URL to call. */
  serveNext(status: number, body: unknown): string;
  /** What the operator was sent, in order, without the bot every event names. */
  emitted(): { type: OperatorEventType; data: Record<string, unknown> }[];
  /** Resolves with the first `count` run-time problems the operator was told about (a log may lag). */
  reports(count: number): Promise<string[]>;
  /** Records a turn's history lines, as the worker does once a turn is committed (at the subject's now). */
  recordHistory(lines: { direction: 'in' | 'out'; text: string; secret?: boolean }[]): Promise<void>;
}

const LOGIN = 'bank-login';
const PIN = 'member-pin';
const ANON = /^anon:/;

/** The subject's login component, calling its service at `url`. */
function loginAt(s: DialogPortsSubject, url: string): AuthComponentConfig {
  return { ...s.login, url } as AuthComponentConfig;
}

export function dialogPortsConformance(name: string, make: () => Promise<DialogPortsSubject>): void {
  describe(`dialog ports: ${name}`, () => {
    describe('users', () => {
      it('starts anonymous, with an anonymous id and nothing else', async () => {
        const s = await make();
        expect(await s.ports.user()).toEqual({ id: expect.stringMatching(ANON), tier: 'anonymous' });
        expect(await s.ports.whoAmI()).toBe("I don't know you yet.");
      });

      it('markVerified makes user() verified with that id', async () => {
        const s = await make();
        expect(await s.ports.markVerified('u-1001', LOGIN)).toEqual({ id: 'u-1001', tier: 'verified' });
        expect(await s.ports.user()).toEqual({ id: 'u-1001', tier: 'verified' });
        expect(await s.ports.whoAmI()).toBe('You are verified as u-1001.');
      });

      it("whoAmI shows a typed id without the component's namespace", async () => {
        const s = await make();
        await s.ports.markVerified(`${LOGIN}:1001`, LOGIN);
        expect(await s.ports.user()).toEqual({ id: `${LOGIN}:1001`, tier: 'verified' });
        expect(await s.ports.whoAmI()).toBe('You are verified as 1001.');
      });

      it('saveProfile then user() shows it unverified, keeping what an earlier save gave', async () => {
        const s = await make();
        await s.ports.saveProfile({ name: 'Ada' });
        const id = (await s.ports.user()).id;
        expect(id).toMatch(ANON);
        expect(await s.ports.user()).toEqual({ id, tier: 'unverified', name: 'Ada' });
        await s.ports.saveProfile({ email: 'ada@example.com' });
        expect(await s.ports.user()).toEqual({
          id,
          tier: 'unverified',
          name: 'Ada',
          email: 'ada@example.com',
        });
        expect(await s.ports.whoAmI()).toBe('You are Ada (unverified).');
      });

      it('a profile typed by a verified user does not change who they are', async () => {
        const s = await make();
        await s.ports.markVerified('u-1002', LOGIN);
        await s.ports.saveProfile({ name: 'Mallory' });
        expect(await s.ports.user()).toEqual({ id: 'u-1002', tier: 'verified' });
      });
    });

    describe('history', () => {
      it('recentHistory gives the last lines, oldest first, a secret as [redacted]', async () => {
        const s = await make();
        expect(await s.ports.recentHistory(5)).toEqual([]);
        const at = s.now();
        await s.recordHistory([
          { direction: 'in', text: 'hello' },
          { direction: 'out', text: 'Your PIN?' },
        ]);
        await s.recordHistory([{ direction: 'in', text: '4321', secret: true }]);
        expect(await s.ports.recentHistory(5)).toEqual([
          { direction: 'in', text: 'hello', at },
          { direction: 'out', text: 'Your PIN?', at },
          { direction: 'in', text: '[redacted]', at, secret: true },
        ]);
        expect((await s.ports.recentHistory(2)).map((l) => l.text)).toEqual(['Your PIN?', '[redacted]']);
      });
    });

    describe('link codes', () => {
      it("a code nobody issued is { ok: false, reason: 'invalid' }", async () => {
        const s = await make();
        expect(await s.ports.redeemLinkCode('K7M2QX9PAB')).toEqual({ ok: false, reason: 'invalid' });
        expect(await s.ports.redeemLinkCode('not a code')).toEqual({ ok: false, reason: 'invalid' });
        expect((await s.ports.user()).tier).toBe('anonymous');
      });

      it('an issued code verifies the identity as its user, once', async () => {
        const s = await make();
        const code = await s.issueLinkCode('u-2002', 600);
        expect(await s.ports.redeemLinkCode(code)).toEqual({
          ok: true,
          user: { id: 'u-2002', tier: 'verified' },
        });
        expect(await s.ports.user()).toEqual({ id: 'u-2002', tier: 'verified' });
        expect(await s.ports.redeemLinkCode(code)).toEqual({ ok: false, reason: 'invalid' });
      });

      it("a code past its expiry is { ok: false, reason: 'expired' }", async () => {
        const s = await make();
        const code = await s.issueLinkCode('u-2003', 60);
        s.advance(60_000);
        expect(await s.ports.redeemLinkCode(code)).toEqual({ ok: false, reason: 'expired' });
        expect((await s.ports.user()).tier).toBe('anonymous');
      });

      it('after five wrong codes the identity is rate limited for the failure window', async () => {
        const s = await make();
        for (let i = 0; i < 5; i++) {
          expect(await s.ports.redeemLinkCode(`K7M2QX9PA${i}`)).toEqual({ ok: false, reason: 'invalid' });
        }
        const code = await s.issueLinkCode('u-2004', 600);
        expect(await s.ports.redeemLinkCode(code)).toEqual({
          ok: false,
          reason: 'rate_limited',
          retryInSeconds: 900,
        });
      });
    });

    describe('tokens', () => {
      it('a stored token is returned until it expires and not after', async () => {
        const s = await make();
        await s.ports.markVerified('u-3001', LOGIN);
        const storedAt = s.now();
        await s.ports.storeToken(LOGIN, 'u-3001', { token: 't-1', ttlSeconds: 60, extra: { scope: 'read' } });
        const stored = { token: 't-1', expiresAt: storedAt + 60_000, extra: { scope: 'read' } };
        expect(await s.ports.token(LOGIN)).toEqual(stored);
        s.advance(59_999);
        expect(await s.ports.token(LOGIN)).toEqual(stored);
        s.advance(1);
        expect(await s.ports.token(LOGIN)).toBeUndefined();
      });

      it('a token stored again replaces the first', async () => {
        const s = await make();
        await s.ports.markVerified('u-3002', LOGIN);
        await s.ports.storeToken(LOGIN, 'u-3002', { token: 't-1', ttlSeconds: 60 });
        await s.ports.storeToken(LOGIN, 'u-3002', { token: 't-2', ttlSeconds: 120 });
        expect(await s.ports.token(LOGIN)).toEqual({ token: 't-2', expiresAt: s.now() + 120_000 });
      });

      it('revokeToken removes that component’s token only', async () => {
        const s = await make();
        await s.ports.markVerified('u-3003', LOGIN);
        await s.ports.storeToken(LOGIN, 'u-3003', { token: 't-1', ttlSeconds: 60 });
        await s.ports.storeToken(PIN, 'u-3003', { token: 't-2', ttlSeconds: 60 });
        await s.ports.revokeToken(LOGIN);
        expect(await s.ports.token(LOGIN)).toBeUndefined();
        expect(await s.ports.token(PIN)).toEqual({ token: 't-2', expiresAt: s.now() + 60_000 });
      });

      it('logout revokes every token of the user and says how many', async () => {
        const s = await make();
        await s.ports.markVerified('u-3004', LOGIN);
        await s.ports.storeToken(LOGIN, 'u-3004', { token: 't-1', ttlSeconds: 60 });
        await s.ports.storeToken(PIN, 'u-3004', { token: 't-2', ttlSeconds: 60 });
        expect(await s.ports.logout()).toBe(2);
        expect(await s.ports.token(LOGIN)).toBeUndefined();
        expect(await s.ports.token(PIN)).toBeUndefined();
        expect(await s.ports.logout()).toBe(0);
      });

      it('a user who is not verified has no token, whatever was stored', async () => {
        const s = await make();
        await s.ports.storeToken(LOGIN, 'u-3005', { token: 't-1', ttlSeconds: 60 });
        expect(await s.ports.token(LOGIN)).toBeUndefined();
        expect(await s.ports.logout()).toBe(0);
      });
    });

    describe('lockout', () => {
      it('locks the identity for the component’s lockout on its maxAttempts-th failure', async () => {
        const s = await make();
        const { maxAttempts, lockout } = s.login as unknown as { maxAttempts: number; lockout: number };
        expect(await s.ports.lockedFor(LOGIN)).toBe(0);
        for (let i = 1; i < maxAttempts; i++) {
          expect(await s.ports.recordFailure(s.login, LOGIN)).toEqual({
            lockedFor: 0,
            attemptsLeft: maxAttempts - i,
          });
        }
        expect(await s.ports.lockedFor(LOGIN)).toBe(0);
        expect(await s.ports.recordFailure(s.login, LOGIN)).toEqual({ lockedFor: lockout });
        expect(await s.ports.lockedFor(LOGIN)).toBe(lockout);
        expect(await s.ports.lockedFor(PIN)).toBe(0);
        s.advance(lockout * 1000);
        expect(await s.ports.lockedFor(LOGIN)).toBe(0);
      });

      it('clearFailures forgets the failures so far', async () => {
        const s = await make();
        const { maxAttempts } = s.login as unknown as { maxAttempts: number };
        for (let i = 1; i < maxAttempts; i++) await s.ports.recordFailure(s.login, LOGIN);
        await s.ports.clearFailures(LOGIN);
        for (let i = 1; i < maxAttempts; i++)
          expect((await s.ports.recordFailure(s.login, LOGIN)).lockedFor).toBe(0);
        expect(await s.ports.lockedFor(LOGIN)).toBe(0);
      });
    });

    describe('authentication', () => {
      // The account's failures count across identities: each test types an account of its own.
      let accounts = 0;
      const account = () => ({ username: `Ada.Lovelace-${process.pid}-${accounts++}`, password: 'pw-1' });

      it('a service that answers is a success: its answer is the token, the user is named as typed within the component', async () => {
        const s = await make();
        const typed = account();
        const url = s.serveNext(200, { token: 'tok-1' });
        // Without a token path the whole answer is the token.
        expect(await s.ports.authenticate(loginAt(s, url), typed, LOGIN)).toEqual({
          result: 'success',
          token: '{"token":"tok-1"}',
          ttlSeconds: 3600,
          userId: `${LOGIN}:${typed.username}`,
        });
      });

      it('a refusal is wrong_credentials, and a failing service is unavailable', async () => {
        const s = await make();
        const typed = account();
        const url = s.serveNext(401, { error: 'no' });
        expect(await s.ports.authenticate(loginAt(s, url), typed, LOGIN)).toEqual({
          result: 'wrong_credentials',
        });
        s.serveNext(503, {});
        expect(await s.ports.authenticate(loginAt(s, url), typed, LOGIN)).toEqual({
          result: 'unavailable',
          reason: expect.any(String),
        });
      });

      it("the typed account is locked after three times the component's maxAttempts wrong answers", async () => {
        const s = await make();
        const typed = account();
        const { maxAttempts, lockout } = s.login as unknown as { maxAttempts: number; lockout: number };
        let url = '';
        for (let i = 1; i < 3 * maxAttempts; i++) {
          url = s.serveNext(401, {});
          expect(await s.ports.authenticate(loginAt(s, url), typed, LOGIN)).toEqual({
            result: 'wrong_credentials',
          });
        }
        s.serveNext(401, {});
        expect(await s.ports.authenticate(loginAt(s, url), typed, LOGIN)).toEqual({
          result: 'wrong_credentials',
          accountLockedSeconds: lockout,
        });
        // Refused before any call: the right answer would not help now.
        expect(await s.ports.authenticate(loginAt(s, url), typed, LOGIN)).toEqual({
          result: 'locked',
          seconds: lockout,
        });
        expect(s.emitted()).toEqual([
          { type: 'user.locked', data: { component: LOGIN, seconds: lockout, limit: 'account' } },
        ]);
      });
    });

    describe('remote API', () => {
      it('answers with the status, the text and the parsed JSON', async () => {
        const s = await make();
        const url = s.serveNext(201, { ok: true, n: 1 });
        const answer = await s.ports.http({ method: 'POST', url, body: { a: 1 }, timeoutMs: 5000 });
        expect({ status: answer.status, text: answer.text, json: answer.json }).toEqual({
          status: 201,
          text: '{"ok":true,"n":1}',
          json: { ok: true, n: 1 },
        });
        expect(answer.headers['content-type']).toMatch(/^application\/json\b/);
      });
    });

    describe('operator events', () => {
      it('sends what was emitted, in order, keeping flat values only', async () => {
        const s = await make();
        s.ports.emit('auth.failed', { component: LOGIN, attempts: 2, nested: { a: 1 }, gone: undefined });
        s.ports.emit('conversation.ended');
        expect(s.emitted()).toEqual([
          { type: 'auth.failed', data: { component: LOGIN, attempts: 2 } },
          { type: 'conversation.ended', data: {} },
        ]);
      });

      it('tells the operator about a run-time problem', async () => {
        const s = await make();
        s.ports.report('template failed: unknown filter');
        expect(await s.reports(1)).toEqual(['template failed: unknown filter']);
      });
    });
  });
}
