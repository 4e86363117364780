// A user's live state through the real gateway: lockouts read and cleared (the user may try again),
// opt-outs read and cleared (the bot answers again), history paged by cursor and time, and the audit log
// of every change, by key fingerprint, with no secret in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { manualClock } from '../../support/clock.js';
import { scanRedis } from '../../support/secret-scan.js';
import type { DialogHarness } from '../dialog/helpers.js';
import { account, bankBot, startBankHarness, TEXT } from '../auth/helpers.js';
import { KEY_FINGERPRINT, allPages, api } from './helpers.js';

const clock = manualClock();
let bank: FakeAuthService;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startFakeAuthService([account('lock-gus'), account('hist-hal')]);
  h = await startBankHarness({
    bots: bankBot({ bank: bank.url, maxAttempts: 2, lockout: 600 }),
    label: 'live-user',
    clock,
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await bank?.close();
});

const iso = (ms: number) => new Date(ms).toISOString();
const TOKEN = 'CANARY-LIVE-TOKEN-77aa';

async function register(userId: string, address: string) {
  const created = await api(h, 'POST', '/v1/users', {
    userId,
    identities: [{ channel: 'sms', address }],
    tokens: { 'member-pin': { token: TOKEN, ttl: 3600 } },
  });
  expect(created.status).toBe(201);
}

describe('lockouts', () => {
  it('shows the identity and account lockouts; clearing them lets the user try again at once', async () => {
    await register('member-1', '+12025550301');
    const c = h.sms('+12025550301');
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(await c.send('lock-gus')).toEqual([TEXT.password]);
    expect(await c.send('wrong-1')).toEqual([TEXT.wrong, TEXT.lastTry, TEXT.username]);
    expect(await c.send('lock-gus')).toEqual([TEXT.password]);
    expect(await c.send('wrong-2')).toEqual([TEXT.locked(10)]);
    const lockedAt = clock.now();
    expect(await c.send('balance?')).toEqual([TEXT.locked(10)]);

    const identityLockout = {
      kind: 'identity',
      identity: { channel: 'sms', address: '+12025550301' },
      component: 'bank-login',
      failures: 0,
      lockedUntil: iso(lockedAt + 600_000),
    };
    const read = await api(h, 'GET', '/v1/users/member-1/lockouts');
    expect(read.status).toBe(200);
    expect(read.json).toEqual({ userId: 'member-1', lockouts: [identityLockout] });
    const withAccount = await api(h, 'GET', '/v1/users/member-1/lockouts?account=%20Lock-Gus');
    expect(withAccount.json).toEqual({
      userId: 'member-1',
      lockouts: [
        identityLockout,
        // The account's own limit is higher: two failures counted, not locked.
        { kind: 'account', identity: null, component: 'bank-login', failures: 2, lockedUntil: null },
      ],
    });

    const cleared = await api(h, 'DELETE', '/v1/users/member-1/lockouts?account=lock-gus');
    expect(cleared.status).toBe(204);
    // The operator's log says the lockout ended, for whom, and that an account was cleared (not which).
    const ended = h.logs.lines.filter((l) => l.message === 'lockout ended: cleared through the operator API');
    expect(ended.map((l) => [l.level, l.userId, l.identities, l.account])).toEqual([
      ['info', 'member-1', 1, true],
    ]);
    expect((await api(h, 'GET', '/v1/users/member-1/lockouts?account=lock-gus')).json).toEqual({
      userId: 'member-1',
      lockouts: [],
    });
    // Ten minutes early, the user may try again, and logs in.
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(await c.send('lock-gus')).toEqual([TEXT.password]);
    expect(await c.send('pw-lock-gus')).toEqual([TEXT.balance('1,234.56', 'USD')]);

    expect((await api(h, 'GET', '/v1/users/nobody/lockouts')).json).toEqual({
      error: { code: 'user_not_found', message: 'No such user in this workspace.' },
    });
  });
});

describe('opt-outs', () => {
  it('shows the bots an identity opted out of; clearing it lets the bot answer again', async () => {
    await register('member-2', '+12025550302');
    const c = h.sms('+12025550302');
    await c.send('STOP');
    expect(await c.send('balance?')).toEqual([]);
    const read = await api(h, 'GET', '/v1/users/member-2/opt-outs');
    expect(read.status).toBe(200);
    expect(read.json).toEqual({
      userId: 'member-2',
      optOuts: [{ bot: 'bank', identity: { channel: 'sms', address: '+12025550302' } }],
    });
    expect((await api(h, 'GET', '/v1/users/member-2/opt-outs?bot=elsewhere')).json).toEqual({
      error: { code: 'bot_not_found', message: 'This workspace has no bot "elsewhere".' },
    });

    expect((await api(h, 'DELETE', '/v1/users/member-2/opt-outs?bot=bank')).status).toBe(204);
    expect((await api(h, 'GET', '/v1/users/member-2/opt-outs')).json).toEqual({
      userId: 'member-2',
      optOuts: [],
    });
    expect(await c.send('balance?')).toEqual([TEXT.username]);
  });
});

interface HistoryEntry {
  at: string;
  direction: string;
  text: string;
}

describe('history', () => {
  it('pages back by cursor, and keeps to a time range', async () => {
    await register('member-3', '+12025550303');
    const c = h.sms('+12025550303');
    clock.advance(1000);
    const t1 = clock.now();
    await c.send('balance?');
    clock.advance(1000);
    const t2 = clock.now();
    await c.send('hist-hal');
    clock.advance(1000);
    const t3 = clock.now();
    await c.send('not-the-password');

    const whole = (await api(h, 'GET', '/v1/users/member-3/history')).json as {
      entries: HistoryEntry[];
      nextCursor: null;
    };
    expect(whole.nextCursor).toBeNull();
    expect(whole.entries.map((e) => [e.at, e.direction, e.text])).toEqual([
      [iso(t1), 'in', 'balance?'],
      [iso(t1), 'out', TEXT.username],
      [iso(t2), 'in', 'hist-hal'],
      [iso(t2), 'out', TEXT.password],
      [iso(t3), 'in', '[redacted]'],
      [iso(t3), 'out', TEXT.wrong],
      [iso(t3), 'out', TEXT.lastTry],
      [iso(t3), 'out', TEXT.username],
    ]);
    // Pages of 3, newest first; each page oldest first. Entries of one millisecond straddle pages.
    const pages: HistoryEntry[][] = [];
    let cursor: string | null = null;
    do {
      const page = (
        await api(h, 'GET', `/v1/users/member-3/history?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      ).json as { entries: HistoryEntry[]; nextCursor: string | null };
      pages.push(page.entries);
      cursor = page.nextCursor;
    } while (cursor);
    const e = whole.entries;
    expect(pages).toEqual([
      [e[5], e[6], e[7]],
      [e[2], e[3], e[4]],
      [e[0], e[1]],
    ]);

    const after = (await api(h, 'GET', `/v1/users/member-3/history?after=${iso(t2)}`)).json as {
      entries: HistoryEntry[];
    };
    expect(after.entries).toEqual(e.slice(2));
    const before = (await api(h, 'GET', `/v1/users/member-3/history?before=${iso(t3)}&limit=3`)).json as {
      entries: HistoryEntry[];
      nextCursor: string;
    };
    expect(before.entries).toEqual(e.slice(1, 4));
    const rest = await api(
      h,
      'GET',
      `/v1/users/member-3/history?before=${iso(t3)}&limit=3&cursor=${before.nextCursor}`,
    );
    expect(rest.json).toEqual({ userId: 'member-3', entries: [e[0]], nextCursor: null });
    const bad = await api(h, 'GET', '/v1/users/member-3/history?after=yesterday');
    expect(bad.status).toBe(422);
    expect((bad.json as { error: { message: string } }).error.message).toBe(
      'query after: must be an ISO 8601 time such as "2026-01-31T12:00:00Z"',
    );
  });
});

describe('the audit log', () => {
  it('records every change with the key’s fingerprint, whom it touched and no secret; erasure forgets the name', async () => {
    await register('member-4', '+12025550304');
    clock.advance(1000);
    const renewedAt = clock.now();
    expect(
      (await api(h, 'PUT', '/v1/users/member-4/tokens/bank-login', { token: 'CANARY-RENEWED-1', ttl: 60 }))
        .status,
    ).toBe(204);
    expect((await api(h, 'DELETE', '/v1/users/member-4/tokens/bank-login')).status).toBe(204);
    expect((await api(h, 'DELETE', '/v1/users/member-4/tokens')).status).toBe(204);
    const code = (
      (await api(h, 'POST', '/v1/link-codes', { userId: 'web-5', externalId: 'org-9' })).json as {
        code: string;
      }
    ).code;
    expect((await api(h, 'DELETE', '/v1/users/member-4/lockouts')).status).toBe(204);
    expect((await api(h, 'DELETE', '/v1/users/member-4/opt-outs')).status).toBe(204);
    const erasedAt = clock.now();
    expect((await api(h, 'DELETE', '/v1/users/member-4')).status).toBe(204);

    const { sizes, items } = await allPages<Record<string, unknown>>(h, '/v1/audit?limit=4', 'entries');
    expect(sizes).toEqual([4, 4, 4, 1]);
    for (const item of items) {
      expect(item.id).toMatch(/^\d+-\d+$/);
      expect(item.key).toBe(KEY_FINGERPRINT);
    }
    const ref = (items[0]!.target as { user: string }).user;
    expect(ref).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    const named = (userId: string) => ({ user: expect.any(String), userId });
    // Newest first; member-4 is erased, so its entries name it by reference only.
    expect(items.map(({ action, target, at }) => ({ action, target, at }))).toEqual([
      { action: 'user.erase', target: { user: ref }, at: iso(erasedAt) },
      { action: 'opt-out.clear', target: { user: ref }, at: iso(erasedAt) },
      { action: 'lockout.clear', target: { user: ref }, at: iso(erasedAt) },
      {
        action: 'link-code.create',
        target: { user: expect.any(String), userId: 'web-5', externalId: 'org-9' },
        at: iso(erasedAt),
      },
      { action: 'token.revoke', target: { user: ref }, at: iso(renewedAt) },
      { action: 'token.revoke', target: { user: ref, component: 'bank-login' }, at: iso(renewedAt) },
      { action: 'token.renew', target: { user: ref, component: 'bank-login' }, at: iso(renewedAt) },
      { action: 'user.register', target: { user: ref }, at: expect.any(String) },
      { action: 'user.register', target: named('member-3'), at: expect.any(String) },
      { action: 'opt-out.clear', target: { ...named('member-2'), bot: 'bank' }, at: expect.any(String) },
      { action: 'user.register', target: named('member-2'), at: expect.any(String) },
      { action: 'lockout.clear', target: named('member-1'), at: expect.any(String) },
      { action: 'user.register', target: named('member-1'), at: expect.any(String) },
    ]);

    // No secret anywhere in Redis: not the tokens, not the link code, not the typed account id.
    const scan = await scanRedis(h.redis, h.prefix, [
      TOKEN,
      'CANARY-RENEWED-1',
      code,
      'lock-gus',
      'member-4',
    ]);
    expect(scan.findings).toEqual([]);
    expect((await api(h, 'GET', '/v1/audit?cursor=x')).status).toBe(422);
  });
});
