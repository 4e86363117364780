// Login in the conversation: one auth call then cached tokens, expiry, a token revoked mid-conversation, LOGOUT, message redaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { manualClock } from '../../support/clock.js';
import { newSid } from '../../support/webhooks.js';
import type { DialogHarness } from '../dialog/helpers.js';
import { account, bankBot, startBankHarness, TEXT, tokenKey, tokenKeys } from './helpers.js';

const BALANCE = TEXT.balance('1,234.56', 'USD');

let bank: FakeAuthService;
let h: DialogHarness;
// Cached tokens expire by the gateway's clock, which the tests move.
const clock = manualClock();

beforeAll(async () => {
  bank = await startFakeAuthService([
    account('wa-alice'),
    account('sms-carol'),
    account('rev-dave'),
    account('lo-erin', { userId: '5150', memberId: '5150', pin: '2468' }),
    account('red-fay'),
  ]);
  // The bank says its member numbers are its user ids: both components name one user.
  h = await startBankHarness({
    bots: bankBot({ bank: bank.url, pinUserNamespace: false }),
    label: 'auth-login',
    clock,
  });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

const loginsOf = (username: string) => bank.logins.filter((l) => l.username === username);

describe('login', () => {
  it('WhatsApp: balance? -> username -> password -> balance with one auth call; five more within the TTL make none', async () => {
    const c = h.whatsapp();
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(await c.send('wa-alice')).toEqual([TEXT.password]);
    expect(await c.send('pw-wa-alice')).toEqual([BALANCE]);
    expect(loginsOf('wa-alice')).toEqual([{ username: 'wa-alice', ok: true, status: 200 }]);
    const token = bank.latestToken('u-wa-alice')!;

    for (let i = 0; i < 5; i++) expect(await c.send('balance?')).toEqual([BALANCE]);
    expect(loginsOf('wa-alice')).toHaveLength(1);
    const calls = bank.apiCalls.filter((a) => a.token === token.token);
    expect(calls.map((a) => `${a.method} ${a.path} ${a.status}`)).toEqual(
      Array<string>(6).fill('GET /api/balance 200'),
    );
    // The token is cached once, for the verified user, with the service's expires_in as its lifetime.
    const key = tokenKey(h, { workspace: 'test', userId: 'u-wa-alice' }, 'bank-login');
    expect(await tokenKeys(h)).toContain(key);
    const ttl = await h.redis.pttl(key);
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
  });

  it('SMS: a token past its expiry is never sent; the next request asks for credentials again', async () => {
    bank.expiresIn = 1;
    try {
      const c = h.sms();
      expect(await c.send('balance?')).toEqual([TEXT.username]);
      expect(await c.send('sms-carol')).toEqual([TEXT.password]);
      expect(await c.send('pw-sms-carol')).toEqual([BALANCE]);
      const first = bank.latestToken('u-sms-carol')!;
      const key = tokenKey(h, { workspace: 'test', userId: 'u-sms-carol' }, 'bank-login');
      expect(await h.redis.pttl(key)).toBeLessThanOrEqual(1000);

      // expires_in: 1 is the cache's lifetime: a second later the token is past, whether or not Redis has
      // evicted it yet.
      clock.advance(1000);
      const callsBefore = bank.apiCalls.length;
      expect(await c.send('balance?')).toEqual([TEXT.username]);
      expect(bank.apiCalls.length).toBe(callsBefore); // the expired token was not tried
      expect(await c.send('sms-carol')).toEqual([TEXT.password]);
      expect(await c.send('pw-sms-carol')).toEqual([BALANCE]);
      const second = bank.latestToken('u-sms-carol')!;
      expect(second.serial).not.toBe(first.serial);
      expect(loginsOf('sms-carol').map((l) => l.status)).toEqual([200, 200]);
      expect(bank.apiCalls.slice(callsBefore)).toEqual([
        {
          method: 'GET',
          path: '/api/balance',
          token: second.token,
          body: undefined,
          status: 200,
          serial: second.serial,
        },
      ]);
    } finally {
      bank.expiresIn = 3600;
    }
  });

  it('the protected API revokes the token mid-conversation: 401, credentials asked, then the same request answered', async () => {
    const c = h.sms();
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(await c.send('rev-dave')).toEqual([TEXT.password]);
    expect(await c.send('pw-rev-dave')).toEqual([BALANCE]);
    const first = bank.latestToken('u-rev-dave')!;
    const key = tokenKey(h, { workspace: 'test', userId: 'u-rev-dave' }, 'bank-login');
    expect(await h.redis.exists(key)).toBe(1);

    bank.revoke(first.token);
    const mark = bank.apiCalls.length;
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(bank.apiCalls.slice(mark).map((a) => [a.token, a.status])).toEqual([[first.token, 401]]);
    expect(await h.redis.exists(key)).toBe(0); // the refused token was dropped from the cache

    expect(await c.send('rev-dave')).toEqual([TEXT.password]);
    expect(await c.send('pw-rev-dave')).toEqual([BALANCE]);
    const second = bank.latestToken('u-rev-dave')!;
    expect(bank.apiCalls.slice(mark).map((a) => [a.path, a.token, a.status])).toEqual([
      ['/api/balance', first.token, 401],
      ['/api/balance', second.token, 200],
    ]);
    expect(loginsOf('rev-dave')).toHaveLength(2);
  });

  it('LOGOUT revokes all of the user’s tokens at once; the next protected request asks for credentials', async () => {
    const c = h.sms();
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(await c.send('lo-erin')).toEqual([TEXT.password]);
    expect(await c.send('pw-lo-erin')).toEqual([BALANCE]);
    // The same user (id 5150) also proves the member PIN: a second component's token.
    expect(await c.send('payment?')).toEqual([TEXT.memberNumber]);
    expect(await c.send('5150')).toEqual([TEXT.pin]);
    expect(await c.send('2468')).toEqual([TEXT.payment('42.00 USD', 'City Power')]);
    const scope = { workspace: 'test', userId: '5150' };
    const both = [tokenKey(h, scope, 'bank-login'), tokenKey(h, scope, 'member-pin')];
    expect(await h.redis.exists(...both)).toBe(2);

    expect(await c.send('LOGOUT')).toEqual([TEXT.signedOut]);
    expect(await h.redis.exists(...both)).toBe(0);
    const user = (await (
      await fetch(`${h.url}/v1/users/5150`, {
        headers: { authorization: 'Bearer test-api-key-0123456789abcdef0123456789' },
      })
    ).json()) as { tokens: unknown[] };
    expect(user.tokens).toEqual([]);

    const logins = loginsOf('lo-erin').length;
    const calls = bank.apiCalls.length;
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(bank.apiCalls.length).toBe(calls);
    expect(await c.send('lo-erin')).toEqual([TEXT.password]);
    expect(await c.send('pw-lo-erin')).toEqual([BALANCE]);
    expect(loginsOf('lo-erin')).toHaveLength(logins + 1);
  });
});

describe('twilio.redactSecretMessages: true', () => {
  let r: DialogHarness;
  beforeAll(async () => {
    r = await startBankHarness({
      bots: bankBot({ bank: bank.url }),
      label: 'auth-redact',
      adjust: (config) => {
        config.twilio!.redactSecretMessages = true;
      },
    });
  });
  afterAll(async () => {
    await r?.close();
  });

  it('the inbound message that carried the password is deleted from Twilio’s log, and only that one', async () => {
    const c = r.sms();
    const sids = { ask: newSid(), user: newSid(), password: newSid(), again: newSid() };
    expect(await c.send('balance?', { MessageSid: sids.ask })).toEqual([TEXT.username]);
    expect(await c.send('red-fay', { MessageSid: sids.user })).toEqual([TEXT.password]);
    expect(await c.send('pw-red-fay', { MessageSid: sids.password })).toEqual([BALANCE]);
    expect(await c.send('balance?', { MessageSid: sids.again })).toEqual([BALANCE]);
    expect(r.twilio.deleted).toEqual([sids.password]);
    expect(
      r.twilio.requests.filter((q) => q.method === 'DELETE').map((q) => [q.path, q.authAccount, q.status]),
    ).toEqual([
      [
        `/2010-04-01/Accounts/${r.twilio.messages[0]!.accountSid}/Messages/${sids.password}.json`,
        r.twilio.messages[0]!.accountSid,
        204,
      ],
    ]);
  });
});
