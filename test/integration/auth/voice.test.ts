// Voice: member number and PIN on the keypad against a verify component, through TwiML; a slow auth call holds and redirects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { jsonRequest } from '../../support/json-api.js';
import { twimlAttribute, twimlText } from '../../support/twiml.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { MAX_CALL_MS } from '../../../src/store/keys.js';
import {
  gather,
  HANGUP,
  PUBLIC_URL,
  randomNumber,
  say,
  twiml,
  type CallChat,
  type DialogHarness,
} from '../dialog/helpers.js';
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

/** The history of a caller's identity before any verification, as the operator API shows it. */
async function anonymousHistory(
  identity: string,
): Promise<{ direction: string; text: string; secret: boolean }[]> {
  const answer = await jsonRequest(
    h.url,
    'GET',
    `/v1/users/anon:${new IdentityKeys(h.keys).identityHash('test', identity)}/history?limit=100`,
    {
      key: h.processEnv.TEST_API_KEY!,
    },
  );
  expect(answer.status).toBe(200);
  return (answer.json as { entries: { direction: string; text: string; secret: boolean }[] }).entries;
}

/** Twilio's status callback for a call that is over. */
function completed(c: CallChat) {
  return h.webhooks.post('/webhooks/voice/status', {
    ...h.webhooks.callParams(c.callSid, c.from, 'completed'),
    CallDuration: '31',
    CallbackSource: 'call-progress-events',
  });
}

/** Forgets every dedupe mark, as if their window (a day) had passed. */
async function dedupeWindowPassed(): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await h.redis.scan(cursor, 'MATCH', h.keys.everySeen(), 'COUNT', 1000);
    if (found.length) await h.redis.del(...found);
    cursor = next;
  } while (cursor !== '0');
}

describe('voice calls are kept apart by CallSid', () => {
  it('a second call from the same number hears only its own prompts and cannot disturb the first', async () => {
    const from = randomNumber();
    const first = h.call(from);
    expect(await first.start()).toBe(twiml(gather(1, TEXT.memberNumber, { keypad: true })));
    expect(await first.press('1001')).toBe(twiml(gather(2, TEXT.pin, { keypad: true, digits: 4 })));

    // A second call with the same caller ID, while the first waits for its PIN.
    const second = h.call(from);
    expect(await second.start()).toBe(twiml(gather(1, TEXT.memberNumber, { keypad: true })));

    // The first caller's PIN still answers the PIN question.
    expect(await first.press('4321')).toBe(twiml(say(TEXT.payment('42.00 USD', 'City Power')), HANGUP));

    // The second call's turns 1 and 2 are its own, not the first call's stored answers.
    expect(await second.press('2002')).toBe(twiml(gather(2, TEXT.pin, { keypad: true, digits: 4 })));
    expect(await second.press('1111')).toBe(
      twiml(say(TEXT.wrong), gather(3, TEXT.memberNumber, { keypad: true })),
    );
    expect(bank.verifies.filter((v) => v.authId === '2002').at(-1)).toEqual({
      authId: '2002',
      ok: false,
      status: 200,
    });

    // The member number typed in the open is history; the PIN is nowhere in it.
    const lines = await anonymousHistory(first.identity);
    expect(lines.filter((l) => l.direction === 'in' && l.text === '1001')).toHaveLength(1);
    expect(lines.filter((l) => l.text.includes('4321'))).toEqual([]);
  });

  it('a replayed webhook of an ended, verified call gets no account data, even after its dedupe window', async () => {
    const c = h.call();
    await c.start();
    await c.press('1001');
    expect(await c.press('4321')).toBe(twiml(say(TEXT.payment('42.00 USD', 'City Power')), HANGUP));
    expect(await completed(c)).toMatchObject({ status: 204 });
    await h.handled(`${c.callSid}:end`);

    const apiCalls = bank.apiCalls.length;
    const hangUp = twiml(HANGUP);
    // Within the dedupe window: the PIN turn replayed byte for byte.
    const replayed = await h.webhooks.gather(
      `${PUBLIC_URL}/webhooks/voice/gather?turn=2`,
      c.callSid,
      c.from,
      '4321',
    );
    expect(replayed).toMatchObject({ status: 200, body: hangUp });
    const redirect = await h.webhooks.redirect(
      `${PUBLIC_URL}/webhooks/voice/result?turn=2&hold=1`,
      c.callSid,
      c.from,
    );
    expect(redirect).toMatchObject({ status: 200, body: hangUp });
    // After it: the call itself replayed, whose CallSid verified member 1001.
    await dedupeWindowPassed();
    expect(await h.webhooks.call(c.callSid, c.from)).toMatchObject({ status: 200, body: hangUp });
    expect(
      await h.webhooks.gather(`${PUBLIC_URL}/webhooks/voice/gather?turn=1`, c.callSid, c.from, '1001'),
    ).toMatchObject({ status: 200, body: hangUp });
    expect(bank.apiCalls.length).toBe(apiCalls);
  });

  it('a call’s dedupe marks outlast the longest call by an hour, so no replay falls between them and the age limit', async () => {
    // A call's events are refused by age once it is older than MAX_CALL_MS, counted from its first event
    // by the gateway that took it; a replay of its first webhook is refused until then only by its dedupe
    // mark. A mark that lived exactly as long would leave a gap as wide as two gateways' clocks disagree.
    const c = h.call();
    await c.start();
    await c.press('1001');
    const cid = h.callCid('bank', c);
    const now = Date.now();
    const ttls = [
      (Number(await h.redis.zscore(h.keys.seen(cid), `${c.callSid}:0`)) - now) / 1000,
      (Number(await h.redis.zscore(h.keys.seen(cid), `${c.callSid}:1`)) - now) / 1000,
      await h.redis.ttl(h.keys.seen(cid)),
    ];
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(MAX_CALL_MS / 1000 + 3600 - 60);
      expect(ttl).toBeLessThanOrEqual(MAX_CALL_MS / 1000 + 3600);
    }
  });

  it('a replayed completed status of an earlier call does not end the live call of the same number', async () => {
    const from = randomNumber();
    const earlier = h.call(from);
    await earlier.start();
    expect(await completed(earlier)).toMatchObject({ status: 204 });
    await h.handled(`${earlier.callSid}:end`);

    const live = h.call(from);
    await live.start();
    expect(await live.press('1001')).toBe(twiml(gather(2, TEXT.pin, { keypad: true, digits: 4 })));
    await dedupeWindowPassed();
    expect(await completed(earlier)).toMatchObject({ status: 204, body: '' });
    expect(await live.press('4321')).toBe(twiml(say(TEXT.payment('42.00 USD', 'City Power')), HANGUP));
  });
});
