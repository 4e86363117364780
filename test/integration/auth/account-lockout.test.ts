// Failed PINs count per typed account id too: many phones on every channel share one account's limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { gather, say, twiml, type DialogHarness, type TextChat } from '../dialog/helpers.js';
import { account, bankBot, startBankHarness, TEXT } from './helpers.js';

let bank: FakeAuthService;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startFakeAuthService([
    account('acct-victim', { memberId: '1001', pin: '4321' }),
    account('acct-other', {
      memberId: '2002',
      pin: '8765',
      lastPayment: { amount: '5.00 USD', payee: 'Kiosk' },
    }),
  ]);
  // maxAttempts 3 per identity; the account limit defaults to three times that: 9.
  h = await startBankHarness({ bots: bankBot({ bank: bank.url }), label: 'auth-account-lock' });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

/** Three wrong PINs for `member` typed on one text chat: the third locks that identity. */
async function threeWrongPins(c: TextChat, member: string, pins: string[]): Promise<string[]> {
  expect(await c.send('payment?')).toEqual([TEXT.memberNumber]);
  const last: string[] = [];
  for (const [i, pin] of pins.entries()) {
    expect(await c.send(member)).toEqual([TEXT.pin]);
    const reply = await c.send(pin);
    if (i < pins.length - 1)
      expect(reply).toEqual(
        i === pins.length - 2
          ? [TEXT.wrong, TEXT.lastTry, TEXT.memberNumber]
          : [TEXT.wrong, TEXT.memberNumber],
      );
    else last.push(...reply);
  }
  return last;
}

describe('account lockout', () => {
  it('9 wrong PINs for member 1001 from 3 numbers on SMS, WhatsApp and voice lock the account: the right PIN from a 4th makes no auth call', async () => {
    expect(await threeWrongPins(h.sms(), '1001', ['0001', '0002', '0003'])).toEqual([TEXT.locked(15)]);
    expect(await threeWrongPins(h.whatsapp(), '1001', ['0004', '0005', '0006'])).toEqual([TEXT.locked(15)]);
    const call = h.call();
    expect(await call.start()).toBe(twiml(gather(1, TEXT.memberNumber, { keypad: true })));
    let turn = 1;
    for (const pin of ['0007', '0008']) {
      expect(await call.press('1001')).toBe(twiml(gather(++turn, TEXT.pin, { keypad: true, digits: 4 })));
      const lastTry = pin === '0008' ? [say(TEXT.lastTry)] : [];
      expect(await call.press(pin)).toBe(
        twiml(say(TEXT.wrong), ...lastTry, gather(++turn, TEXT.memberNumber, { keypad: true })),
      );
    }
    expect(await call.press('1001')).toBe(twiml(gather(++turn, TEXT.pin, { keypad: true, digits: 4 })));
    // The ninth failure locks the caller (3 of theirs) and the account (9 in all).
    expect(await call.press('0009')).toContain(TEXT.locked(15));
    expect(bank.verifies.filter((v) => v.authId === '1001').map((v) => v.ok)).toEqual(Array(9).fill(false));

    // A fourth number with the right PIN: refused with the lockout text, and the bank hears nothing.
    const fourth = h.sms();
    expect(await fourth.send('payment?')).toEqual([TEXT.memberNumber]);
    expect(await fourth.send('1001')).toEqual([TEXT.pin]);
    expect(await fourth.send('4321')).toEqual([TEXT.locked(15)]);
    expect(bank.verifies.filter((v) => v.authId === '1001')).toHaveLength(9);
    // The lock is kept under a hash of the typed account id, for the lockout's 15 minutes.
    const lockKey = new IdentityKeys(h.keys).accountLockout('test', 'member-pin', '1001');
    expect(lockKey).not.toContain('1001');
    expect(await h.redis.pttl(lockKey)).toBeGreaterThan(890_000);
    expect(
      await h.metric('switchboard_auth_results_total', {
        component: 'member-pin',
        component_type: 'verify',
        result: 'locked',
      }),
    ).toBe(1);

    // Another account is not affected: the same fourth number passes with member 2002.
    expect(await fourth.send('payment?')).toEqual([TEXT.memberNumber]);
    expect(await fourth.send('2002')).toEqual([TEXT.pin]);
    expect(await fourth.send('8765')).toEqual([TEXT.payment('5.00 USD', 'Kiosk')]);
  });
});
