// Refresh tokens of a login component against a fake auth service on loopback: a refresh after expiry,
// once across three worker processes, rotation, a refused refresh, a 401 with a fresh token, Redis at rest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataCipher } from '../../../src/store/cipher.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { RedisTokenStore } from '../../../src/store/token-store.js';
import { startRefreshAuthService, type RefreshAuthService } from '../../fakes/refresh-auth-service.js';
import { manualClock } from '../../support/clock.js';
import { botYaml, configVariables, NUMBERS } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { jsonRequest } from '../../support/json-api.js';
import type { SwitchboardProcess } from '../../support/processes.js';
import type { DialogHarness } from '../dialog/helpers.js';
import { startBankHarness, tokenKey } from './helpers.js';

const API_KEY = configVariables().TEST_API_KEY!;
const USERNAME = 'What is your username?';
const PASSWORD = 'What is your password?';
const UNAVAILABLE = "Sorry, we can't check your details right now. Please try again later.";
const balance = (serial: number) => `Your balance is 1,234.56 (token ${serial}).`;
const LOGIN = 'bank-login';
/** A day: the fake's refresh_expires_in, and so the record's lifetime. */
const REFRESH_SECONDS = 86_400;

/** A bank bot whose every message asks for the balance; each turn first calls /api/hello (no token). */
function refreshingBank(bank: string): string {
  return botYaml(
    'bank',
    `    auth:
      ${LOGIN}:
        type: login
        url: ${bank}/auth/token
        fields:
          - { name: username, prompt: "${USERNAME}" }
          - { name: password, prompt: "${PASSWORD}", secret: true }
        token: { path: access_token }
        expiresInPath: expires_in
        refreshTokenPath: refresh_token
        refreshExpiresInPath: refresh_expires_in
        refresh:
          url: ${bank}/auth/refresh
          body: { grant_type: refresh_token, refresh_token: "{{refresh_token}}" }
        userIdPath: user.id
        timeout: 5
    flows:
      main:
        - request: { method: GET, url: "${bank}/api/hello" }
        - request:
            method: GET
            url: ${bank}/api/balance
            headers: { Authorization: "Bearer {{authtoken}}" }
            auth: ${LOGIN}
            save: { balance: balance, serial: serial }
        - ask: { prompt: "Your balance is {{balance}} (token {{serial}}).", save: next }
        - goto: main`,
    NUMBERS,
  );
}

/** Every value under the prefix, whatever its type, as text: what a scan for secrets in clear reads. */
async function everyValue(redis: Harness['redis'], prefix: string): Promise<string[]> {
  const values: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') values.push((await redis.get(key)) ?? '');
      else if (type === 'hash') values.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') values.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') values.push(...(await redis.smembers(key)));
      else if (type === 'zset') values.push(...(await redis.zrange(key, '0', '-1')));
      else if (type === 'stream') values.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      values.push(key);
    }
  } while (cursor !== '0');
  return values;
}

describe('refresh tokens in the conversation (one gateway, the harness clock)', () => {
  let bank: RefreshAuthService;
  let h: DialogHarness;
  const clock = manualClock();
  const users = ['ref-ann', 'ref-bob', 'ref-cat', 'ref-dan', 'ref-fay'];

  beforeAll(async () => {
    bank = await startRefreshAuthService(
      users.map((u) => ({ username: u, password: `pw-${u}`, userId: `u-${u}` })),
    );
    bank.refreshExpiresIn = REFRESH_SECONDS;
    h = await startBankHarness({ bots: refreshingBank(bank.url), label: 'auth-refresh', clock });
  });

  afterAll(async () => {
    await h?.close();
    await bank?.close();
  });

  const pairsOf = (userId: string) => bank.issued.filter((p) => p.userId === userId);

  it('a turn after the access token expired refreshes once, and the protected API sees the new token', async () => {
    const c = h.sms();
    expect(await c.send('balance?')).toEqual([USERNAME]);
    expect(await c.send('ref-ann')).toEqual([PASSWORD]);
    expect(await c.send('pw-ref-ann')).toEqual([balance(1)]);
    const [first] = pairsOf('u-ref-ann');

    // The record lives for the refresh token's lifetime, not the access token's hour.
    const key = tokenKey(h, { workspace: 'test', userId: 'u-ref-ann' }, LOGIN);
    const ttl = await h.redis.pttl(key);
    expect(ttl).toBeGreaterThan((REFRESH_SECONDS - 60) * 1000);
    expect(ttl).toBeLessThanOrEqual(REFRESH_SECONDS * 1000);

    clock.advance(3600_000); // the access token is past its expiry
    const before = bank.apiCalls.length;
    expect(await c.send('again')).toEqual([balance(2)]);
    const [, second] = pairsOf('u-ref-ann');
    expect(bank.refreshes).toEqual([{ refreshToken: first!.refreshToken, status: 200 }]);
    // The expired token was never sent: the one call carried the refreshed token.
    expect(bank.apiCalls.slice(before)).toEqual([{ token: second!.accessToken, status: 200 }]);
    expect(bank.logins.filter((l) => l.username === 'ref-ann')).toHaveLength(1);
    expect(
      await h.metric('switchboard_token_refreshes_total', { component_type: 'login', result: 'success' }),
    ).toBe(1);
  });

  it('a rotated refresh token is the one sent next time; a provider that does not rotate keeps the old one', async () => {
    const c = h.sms();
    expect(await c.send('balance?')).toEqual([USERNAME]);
    expect(await c.send('ref-bob')).toEqual([PASSWORD]);
    const start = bank.refreshes.length;
    await c.send('pw-ref-bob');
    const login = pairsOf('u-ref-bob')[0]!;

    // Within the 30-second margin before expiry counts as expired: refreshed before the request.
    clock.advance(3600_000 - 10_000);
    await c.send('again');
    const rotated = pairsOf('u-ref-bob')[1]!;
    clock.advance(3600_000);
    await c.send('again');
    expect(bank.refreshes.slice(start)).toEqual([
      { refreshToken: login.refreshToken, status: 200 },
      { refreshToken: rotated.refreshToken, status: 200 },
    ]);

    bank.rotate = false;
    try {
      const kept = pairsOf('u-ref-bob')[2]!.refreshToken;
      clock.advance(3600_000);
      const fourth = await c.send('again');
      clock.advance(3600_000);
      const fifth = await c.send('again');
      expect([fourth, fifth]).toEqual([[balance(bank.issued.length - 1)], [balance(bank.issued.length)]]);
      // No refresh token in the answer: the one kept is sent again.
      expect(bank.refreshes.slice(start + 2)).toEqual([
        { refreshToken: kept, status: 200 },
        { refreshToken: kept, status: 200 },
      ]);
    } finally {
      bank.rotate = true;
    }
  });

  it('a refused refresh (400 invalid_grant) deletes the record and asks for credentials again', async () => {
    const c = h.sms();
    expect(await c.send('balance?')).toEqual([USERNAME]);
    expect(await c.send('ref-cat')).toEqual([PASSWORD]);
    await c.send('pw-ref-cat');
    const login = pairsOf('u-ref-cat')[0]!;
    const key = tokenKey(h, { workspace: 'test', userId: 'u-ref-cat' }, LOGIN);
    expect(await h.redis.exists(key)).toBe(1);

    bank.voidRefreshToken(login.refreshToken);
    clock.advance(3600_000);
    const start = bank.refreshes.length;
    const calls = bank.apiCalls.length;
    expect(await c.send('again')).toEqual([USERNAME]);
    expect(bank.refreshes.slice(start)).toEqual([{ refreshToken: login.refreshToken, status: 400 }]);
    expect(bank.apiCalls.length).toBe(calls);
    expect(await h.redis.exists(key)).toBe(0);
    expect(
      await h.metric('switchboard_token_refreshes_total', { component_type: 'login', result: 'refused' }),
    ).toBe(1);

    expect(await c.send('ref-cat')).toEqual([PASSWORD]);
    expect(await c.send('pw-ref-cat')).toEqual([balance(pairsOf('u-ref-cat')[1]!.serial)]);
  });

  it('a refresh service in trouble: the expired token waits with the unavailable text, and the next message refreshes', async () => {
    const c = h.sms();
    expect(await c.send('balance?')).toEqual([USERNAME]);
    expect(await c.send('ref-fay')).toEqual([PASSWORD]);
    await c.send('pw-ref-fay');
    const login = pairsOf('u-ref-fay')[0]!;
    const key = tokenKey(h, { workspace: 'test', userId: 'u-ref-fay' }, LOGIN);

    clock.advance(3600_000);
    bank.refreshFails = true;
    const start = bank.refreshes.length;
    try {
      expect(await c.send('again')).toEqual([UNAVAILABLE]);
    } finally {
      bank.refreshFails = false;
    }
    expect(await h.redis.exists(key)).toBe(1); // the refresh token is kept for the next try
    expect(await c.send('again')).toEqual([balance(pairsOf('u-ref-fay')[1]!.serial)]);
    expect(bank.refreshes.slice(start)).toEqual([
      { refreshToken: login.refreshToken, status: 500 },
      { refreshToken: login.refreshToken, status: 200 },
    ]);
    expect(
      await h.metric('switchboard_token_refreshes_total', { component_type: 'login', result: 'unavailable' }),
    ).toBe(1);
  });

  it('a 401 for a fresh-looking token: one refresh and the same request again; a second 401 asks for credentials', async () => {
    const c = h.sms();
    expect(await c.send('balance?')).toEqual([USERNAME]);
    expect(await c.send('ref-dan')).toEqual([PASSWORD]);
    await c.send('pw-ref-dan');
    const login = pairsOf('u-ref-dan')[0]!;

    bank.refuseNext(1);
    let start = bank.refreshes.length;
    let calls = bank.apiCalls.length;
    const answer = await c.send('again');
    const renewed = pairsOf('u-ref-dan')[1]!;
    expect(answer).toEqual([balance(renewed.serial)]);
    expect(bank.refreshes.slice(start)).toEqual([{ refreshToken: login.refreshToken, status: 200 }]);
    expect(bank.apiCalls.slice(calls)).toEqual([
      { token: login.accessToken, status: 401 },
      { token: renewed.accessToken, status: 200 },
    ]);

    // Refused again after the refresh: no loop, the user is asked, and the record is gone.
    bank.refuseNext(2);
    start = bank.refreshes.length;
    calls = bank.apiCalls.length;
    expect(await c.send('again')).toEqual([USERNAME]);
    const third = pairsOf('u-ref-dan')[2]!;
    expect(bank.refreshes.slice(start)).toEqual([{ refreshToken: renewed.refreshToken, status: 200 }]);
    expect(bank.apiCalls.slice(calls)).toEqual([
      { token: renewed.accessToken, status: 401 },
      { token: third.accessToken, status: 401 },
    ]);
    expect(await h.redis.exists(tokenKey(h, { workspace: 'test', userId: 'u-ref-dan' }, LOGIN))).toBe(0);
  });

  it('two turns of one user refused with the same token at once: one refresh, both replayed with its token', async () => {
    const [one, two] = [h.sms(), h.sms()];
    const registered = await jsonRequest(h.url, 'POST', '/v1/users', {
      key: API_KEY,
      body: {
        userId: 'u-ref-eve',
        identities: [one, two].map((c) => ({ channel: 'sms', address: c.from })),
      },
    });
    expect(registered.status, registered.text).toBeLessThan(300);
    const seeded = bank.issue('u-ref-eve');
    const store = new RedisTokenStore(h.redis, new IdentityKeys(h.keys), h.cipher, {
      now: () => clock.now(),
    });
    await store.put({ workspace: 'test', userId: 'u-ref-eve' }, LOGIN, {
      token: seeded.accessToken,
      ttlSeconds: 3600,
      refreshToken: seeded.refreshToken,
      refreshTtlSeconds: REFRESH_SECONDS,
    });

    // Both calls with the seeded token arrive before either is answered, and both are refused.
    bank.holdApiUntilCalls = 2;
    bank.refuseNext(2);
    const start = bank.refreshes.length;
    const calls = bank.apiCalls.length;
    const answers = await Promise.all([one.send('balance?'), two.send('balance?')]);
    bank.holdApiUntilCalls = 0;
    const renewed = pairsOf('u-ref-eve')[1]!;
    expect(answers).toEqual([[balance(renewed.serial)], [balance(renewed.serial)]]);
    expect(bank.refreshes.slice(start)).toEqual([{ refreshToken: seeded.refreshToken, status: 200 }]);
    expect(pairsOf('u-ref-eve')).toHaveLength(2);
    expect(bank.apiCalls.slice(calls)).toEqual([
      { token: seeded.accessToken, status: 401 },
      { token: seeded.accessToken, status: 401 },
      { token: renewed.accessToken, status: 200 },
      { token: renewed.accessToken, status: 200 },
    ]);
  });

  it('the operator API shows both expiries, never the values; Redis holds no token in clear', async () => {
    const res = await jsonRequest(h.url, 'GET', '/v1/users/u-ref-ann', { key: API_KEY });
    expect(res.status).toBe(200);
    const tokens = (res.json as { tokens: unknown[] }).tokens;
    const now = clock.now();
    const pair = pairsOf('u-ref-ann').at(-1)!;
    expect(tokens).toEqual([
      {
        component: LOGIN,
        expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
        refreshExpiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      },
    ]);
    const [only] = tokens as { expiresAt: string; refreshExpiresAt: string }[];
    expect(Date.parse(only!.refreshExpiresAt) - Date.parse(only!.expiresAt)).toBe(
      (REFRESH_SECONDS - 3600) * 1000,
    );
    expect(Date.parse(only!.expiresAt)).toBeLessThanOrEqual(now + 3600_000);
    expect(res.text).not.toContain(pair.accessToken);
    expect(res.text).not.toContain(pair.refreshToken);

    const values = (await everyValue(h.redis, h.prefix)).join('\n');
    expect(bank.issued.length).toBeGreaterThan(8);
    for (const p of bank.issued) {
      expect(values).not.toContain(p.accessToken);
      expect(values).not.toContain(p.refreshToken);
    }

    // DELETE …/tokens forgets the record, refresh token included.
    const deleted = await jsonRequest(h.url, 'DELETE', '/v1/users/u-ref-ann/tokens', { key: API_KEY });
    expect(deleted.status).toBe(204);
    expect(await h.redis.exists(tokenKey(h, { workspace: 'test', userId: 'u-ref-ann' }, LOGIN))).toBe(0);
  });
});

describe('20 concurrent turns of one user across 3 worker processes', () => {
  let bank: RefreshAuthService;
  let h: Harness;
  const workers: SwitchboardProcess[] = [];
  const phones = Array.from({ length: 20 }, (_, i) => `+1202556${String(1000 + i)}`);

  beforeAll(async () => {
    bank = await startRefreshAuthService([]);
    h = await startHarness({
      bots: refreshingBank(bank.url),
      allowHosts: ['127.0.0.1'],
      label: 'auth-refresh-workers',
      gateway: { web: true, workers: false },
    });
    for (let i = 0; i < 3; i++) workers.push(await h.spawn('worker', `worker-${i}`));
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await bank?.close();
  }, 60_000);

  it('cause exactly one refresh call, and every turn uses its result', async () => {
    // One verified user with 20 SMS identities, as the operator registers them.
    const registered = await jsonRequest(h.main!.url!, 'POST', '/v1/users', {
      key: API_KEY,
      body: { userId: 'u-many', identities: phones.map((address) => ({ channel: 'sms', address })) },
    });
    expect(registered.status, registered.text).toBeLessThan(300);
    // The cache holds a token pair whose access token expired an hour ago (the workers keep the system
    // clock, so the record is written as of two hours back); its refresh token has a month to live.
    const seeded = bank.issue('u-many');
    const past = new RedisTokenStore(
      h.redis,
      new IdentityKeys(h.keys),
      createDataCipher(h.processEnv.SWITCHBOARD_DATA_KEY!),
      { now: () => Date.now() - 7_200_000 },
    );
    await past.put({ workspace: 'test', userId: 'u-many' }, LOGIN, {
      token: seeded.accessToken,
      ttlSeconds: 3600,
      refreshToken: seeded.refreshToken,
      refreshTtlSeconds: 30 * 86_400,
    });

    // The one refresh is answered only once all 20 turns are under way (each calls /api/hello first).
    bank.holdRefreshUntilHellos = phones.length;
    const answers = await Promise.all(phones.map((phone) => h.webhooks.sms(phone, 'balance?')));
    expect(answers.map((a) => a.status)).toEqual(phones.map(() => 200));
    const replies = await Promise.all(phones.map((phone) => h.twilio.waitForMessages(phone, 1, 20_000)));

    const refreshed = bank.issued.find((p) => p.serial === 2)!;
    expect(replies.map((r) => r.map((m) => m.body))).toEqual(phones.map(() => [balance(2)]));
    expect(bank.hellos).toBe(20);
    expect(bank.refreshes).toEqual([{ refreshToken: seeded.refreshToken, status: 200 }]);
    expect(bank.issued).toHaveLength(2);
    expect(bank.apiCalls).toEqual(phones.map(() => ({ token: refreshed.accessToken, status: 200 })));
    // One worker made the call; the lock is given back.
    const refreshLogs = workers.flatMap((w) => w.logs.lines.filter((l) => l.message === 'token refresh'));
    expect(refreshLogs.map((l) => l.result)).toEqual(['success']);
    expect(await h.redis.keys(`${h.prefix}:u:*:refreshing:*`)).toEqual([]);
  }, 60_000);
});
