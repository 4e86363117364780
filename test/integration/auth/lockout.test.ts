// Wrong credentials: asked again, locked out after maxAttempts with no auth call while locked, then a login after the lockout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { DEADLINE_GRACE_MS } from '../../../src/store/try-counter.js';
import { manualClock } from '../../support/clock.js';
import type { DialogHarness } from '../dialog/helpers.js';
import { account, bankBot, startBankHarness, TEXT, tokenKey } from './helpers.js';

const BALANCE = TEXT.balance('1,234.56', 'USD');

let bank: FakeAuthService;
let h: DialogHarness;
const clock = manualClock();

beforeAll(async () => {
  bank = await startFakeAuthService([account('lock-gus')]);
  // A lockout of 2 seconds (it is also the window in which failures count), on a clock the test moves.
  h = await startBankHarness({
    bots: bankBot({ bank: bank.url, maxAttempts: 3, lockout: 2 }),
    label: 'auth-lockout',
    clock,
  });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

describe('lockout', () => {
  it('three wrong passwords lock the identity; a fourth try makes no auth call; after the lockout the user logs in', async () => {
    const c = h.sms();
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect(await c.send('lock-gus')).toEqual([TEXT.password]);
      expect(await c.send(`wrong-${attempt}`)).toEqual(
        attempt === 2
          ? [TEXT.wrong, '1 attempt left before your account is locked.', TEXT.username]
          : [TEXT.wrong, TEXT.username],
      );
    }
    expect(await c.send('lock-gus')).toEqual([TEXT.password]);
    expect(await c.send('wrong-3')).toEqual([TEXT.locked(1)]);
    expect(bank.logins.map((l) => l.status)).toEqual([401, 401, 401]);

    // Locked: the credential dialog does not even start, and the auth service hears nothing.
    expect(await c.send('balance?')).toEqual([TEXT.locked(1)]);
    expect(await c.send('lock-gus')).toEqual([TEXT.locked(1)]);
    expect(bank.logins).toHaveLength(3);

    const ik = new IdentityKeys(h.keys);
    const lock = ik.lockout(ik.identityHash('test', c.identity));
    // The record holds the lockout's end; its TTL only collects it, a while after the end.
    expect(await h.redis.pttl(lock)).toBeGreaterThan(2000);
    expect(await h.redis.pttl(lock)).toBeLessThanOrEqual(2000 + DEADLINE_GRACE_MS);

    clock.advance(1999);
    expect(await c.send('balance?')).toEqual([TEXT.locked(1)]);
    expect(bank.logins).toHaveLength(3);
    // The clock decides: the lockout is over although Redis still holds the record.
    clock.advance(1);
    expect(await h.redis.exists(lock)).toBe(1);

    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(await c.send('lock-gus')).toEqual([TEXT.password]);
    expect(await c.send('pw-lock-gus')).toEqual([BALANCE]);
    expect(bank.logins.map((l) => l.status)).toEqual([401, 401, 401, 200]);
    expect(await h.redis.exists(tokenKey(h, { workspace: 'test', userId: 'u-lock-gus' }, 'bank-login'))).toBe(
      1,
    );
  });
});
