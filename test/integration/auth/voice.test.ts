// Voice: member number and PIN on the keypad against a verify component, through TwiML; a slow auth call holds and redirects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { twimlAttribute, twimlText } from '../../support/twiml.js';
import { gather, HANGUP, PUBLIC_URL, say, twiml, type DialogHarness } from '../dialog/helpers.js';
import { account, bankBot, startBankHarness, TEXT, tokenKey } from './helpers.js';

let bank: FakeAuthService;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startFakeAuthService([
    account('v-alice', { userId: 'u-v-alice', memberId: '1001', pin: '4321' }),
    account('v-bob', {
      userId: 'u-v-bob',
      memberId: '2002',
      pin: '8765',
      lastPayment: { amount: '12.50 EUR', payee: 'Corner Bakery' },
    }),
  ]);
  // A short reply wait, so that an auth call of a second is "slow" without slowing the suite.
  h = await startBankHarness({ bots: bankBot({ bank: bank.url, replyWaitMs: 300 }), label: 'auth-voice' });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

describe('voice', () => {
  it('member number and a 4-digit PIN keyed on the keypad, verified, then a request that receives auth_id', async () => {
    const c = h.call();
    const first = await c.start();
    expect(first).toBe(twiml(gather(1, TEXT.memberNumber, { keypad: true })));
    expect(twimlAttribute(first, 'Gather', 'input')).toBe('dtmf');
    expect(twimlAttribute(first, 'Gather', 'numDigits')).toBeUndefined();

    const pin = await c.press('1001');
    expect(pin).toBe(twiml(gather(2, TEXT.pin, { keypad: true, digits: 4 })));
    expect(twimlAttribute(pin, 'Gather', 'input')).toBe('dtmf');
    expect(twimlAttribute(pin, 'Gather', 'numDigits')).toBe('4');
    expect(twimlAttribute(pin, 'Gather', 'finishOnKey')).toBe('#');
    expect(twimlAttribute(pin, 'Gather', 'action')).toBe(`${PUBLIC_URL}/webhooks/voice/gather?turn=2`);

    const calls = bank.apiCalls.length;
    expect(await c.press('4321')).toBe(twiml(say(TEXT.payment('42.00 USD', 'City Power')), HANGUP));
    expect(bank.verifies.filter((v) => v.authId === '1001')).toEqual([
      { authId: '1001', ok: true, status: 200 },
    ]);
    expect(bank.apiCalls.slice(calls)).toEqual([
      {
        method: 'POST',
        path: '/api/payments/last',
        token: undefined,
        body: { member: '1001', token: '4321' },
        status: 200,
      },
    ]);
    // The verify pair is the cached token of user member-pin:1001 (the member number in the component's namespace).
    expect(
      await h.redis.exists(tokenKey(h, { workspace: 'test', userId: 'member-pin:1001' }, 'member-pin')),
    ).toBe(1);
  });

  it('a wrong PIN is asked again on the keypad', async () => {
    const c = h.call();
    await c.start();
    await c.press('2002');
    expect(await c.press('1111')).toBe(
      twiml(say(TEXT.wrong), gather(3, TEXT.memberNumber, { keypad: true })),
    );
    expect(await c.press('2002')).toBe(twiml(gather(4, TEXT.pin, { keypad: true, digits: 4 })));
    expect(await c.press('8765')).toBe(twiml(say(TEXT.payment('12.50 EUR', 'Corner Bakery')), HANGUP));
    expect(bank.verifies.filter((v) => v.authId === '2002').map((v) => v.ok)).toEqual([false, true]);
  });

  it('a slow auth call answers with a hold and a <Redirect>; following it gives the real answer', async () => {
    const c = h.call();
    await c.start();
    await c.press('1001');
    bank.setMode('slow', 1200);
    try {
      const held = await h.webhooks.gather(
        `${PUBLIC_URL}/webhooks/voice/gather?turn=2`,
        c.callSid,
        c.from,
        '4321',
      );
      expect(held.status).toBe(200);
      expect(held.body).toBe(
        twiml(
          say('One moment please.'),
          '<Pause length="1"/>',
          `<Redirect method="POST">${PUBLIC_URL}/webhooks/voice/result?turn=2&amp;hold=1</Redirect>`,
        ),
      );
      let answer = held;
      for (let hops = 0; hops < 20; hops++) {
        const redirect = twimlText(answer.body, 'Redirect');
        if (redirect === undefined) break;
        answer = await h.webhooks.redirect(redirect, c.callSid, c.from);
        expect(answer.status).toBe(200);
      }
      expect(answer.body).toBe(twiml(say(TEXT.payment('42.00 USD', 'City Power')), HANGUP));
    } finally {
      bank.setMode('up');
    }
  });
});
