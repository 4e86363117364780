// The auth service down, answering 500 or slower than its timeout: a clear message, nothing cached, success later.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startFakeAuthService,
  type AuthAnswer,
  type AuthServiceMode,
  type FakeAuthService,
} from '../../fakes/auth-service.js';
import type { DialogHarness } from '../dialog/helpers.js';
import { account, bankBot, startBankHarness, TEXT, tokenKey, tokenKeys } from './helpers.js';

const BALANCE = TEXT.balance('1,234.56', 'USD');

let bank: FakeAuthService;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startFakeAuthService([account('un-down'), account('un-error'), account('un-slow')]);
  // The auth call may take half a second.
  h = await startBankHarness({ bots: bankBot({ bank: bank.url, timeout: 0.5 }), label: 'auth-unavailable' });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

const cases: {
  name: string;
  mode: AuthServiceMode;
  delayMs?: number;
  username: string;
  status: AuthAnswer;
}[] = [
  { name: 'down (the connection drops)', mode: 'down', username: 'un-down', status: 'dropped' },
  { name: 'answering 500', mode: 'error', username: 'un-error', status: 500 },
  { name: 'slower than its timeout', mode: 'slow', delayMs: 1500, username: 'un-slow', status: 'held' },
];

describe('auth service unavailable', () => {
  for (const k of cases) {
    it(`${k.name}: the exact message, no token cached, no secret kept; the next message retries and succeeds`, async () => {
      const c = h.whatsapp();
      const password = `pw-${k.username}`;
      const key = tokenKey(h, { workspace: 'test', userId: `u-${k.username}` }, 'bank-login');
      expect(await c.send('balance?')).toEqual([TEXT.username]);
      expect(await c.send(k.username)).toEqual([TEXT.password]);
      bank.setMode(k.mode, k.delayMs);
      try {
        const started = Date.now();
        expect(await c.send(password)).toEqual([TEXT.unavailable]);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        bank.setMode('up');
      }
      expect(bank.logins.filter((l) => l.username === k.username).map((l) => l.status)).toEqual([k.status]);
      expect(await h.redis.exists(key)).toBe(0);
      expect((await tokenKeys(h)).filter((t) => t === key)).toEqual([]);
      // The secret left the dialog state with the call; what stays is "try the step again".
      const state = await h.store.state(h.cid('bank', c.identity));
      expect(state?.pending).toEqual({ kind: 'resume' });
      expect(JSON.stringify(state)).not.toContain(password);

      expect(await c.send('balance?')).toEqual([TEXT.username]);
      expect(await c.send(k.username)).toEqual([TEXT.password]);
      expect(await c.send(password)).toEqual([BALANCE]);
      expect(await h.redis.exists(key)).toBe(1);
    });
  }
});
