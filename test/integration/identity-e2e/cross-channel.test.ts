// One verified user across channels: a login on WhatsApp serves their SMS identity; a call is trusted only with voice.trustCallerId.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog.js';
import { gather, NUMBERS, say, twiml } from '../dialog/helpers.js';
import {
  ASK_PASSWORD,
  ASK_USERNAME,
  BALANCE_TEXT,
  CANARY,
  MAIN_PROMPT,
  randomNumber,
  startWorld,
  TRUSTING_VOICE,
  type World,
} from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld({ label: 'e2e-cross' });
});
afterAll(async () => {
  await w?.close();
});

const MAIN_GATHER = (turn: number) => gather(turn, MAIN_PROMPT, { keypad: true, digits: 1 });

/** A call from `from` to `to` that asks for the balance; returns the TwiML answering the "1". */
async function callForBalance(from: string, to: string): Promise<string> {
  const call = w.h.call(from, to);
  expect(await call.start()).toBe(twiml(MAIN_GATHER(1)));
  return call.press('1');
}

describe('a verified user on several channels', () => {
  it('logs in on WhatsApp, links SMS with a code, is not asked again on SMS; calls depend on trustCallerId', async () => {
    const phone = randomNumber();
    w.bank.addAccount('li', { password: CANARY, userId: 'member-7' });

    const whatsapp = w.h.whatsapp(phone);
    expect(await whatsapp.send('hi')).toEqual([MAIN_PROMPT]);
    expect(await whatsapp.send('1')).toEqual([ASK_USERNAME]);
    expect(await whatsapp.send('li')).toEqual([ASK_PASSWORD]);
    expect(await whatsapp.send(CANARY)).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    expect(w.bank.logins).toEqual(['li']);
    const token = w.bank.balanceTokens.at(-1)!;

    const created = await w.api('POST', '/v1/link-codes', { body: { userId: 'member-7', name: 'Li Si' } });
    const { code } = created.json as { code: string };
    const sms = w.h.sms(phone);
    expect(await sms.send(`LINK ${code}`)).toEqual([TEXT.linked('You are Li Si (verified).')]);
    expect(await sms.send('hi')).toEqual([MAIN_PROMPT]);
    expect(await sms.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    expect(w.bank.logins).toEqual(['li']); // no second login
    expect(w.bank.balanceTokens.at(-1)).toBe(token); // the token from the WhatsApp login

    // Caller ID is not proof: the bank bot asks the caller to log in.
    expect(await callForBalance(phone, NUMBERS.voice)).toBe(
      twiml(gather(2, ASK_USERNAME, { keypad: false })),
    );
    // The bot that sets voice.trustCallerId: true treats the call as the same user.
    expect(await callForBalance(phone, TRUSTING_VOICE)).toBe(twiml(say(BALANCE_TEXT), MAIN_GATHER(2)));
    expect(w.bank.logins).toEqual(['li']);
    expect(w.bank.balanceTokens.at(-1)).toBe(token);

    const user = (await w.api('GET', '/v1/users/member-7')).json as {
      identities: { channel: string; address: string; via: string }[];
    };
    // The call did not add a voice identity to the user.
    expect(user.identities.map((i) => [i.channel, i.address, i.via])).toEqual([
      ['sms', phone, 'link'],
      ['whatsapp', phone, 'auth'],
    ]);
  });

  it('an SMS identity the operator registered shares the WhatsApp login; a call still asks', async () => {
    const phone = randomNumber();
    w.bank.addAccount('wu', { password: CANARY, userId: 'member-17' });
    const registered = await w.api('POST', '/v1/users', {
      body: {
        userId: 'member-17',
        name: 'Wang Wu',
        identities: [
          { channel: 'whatsapp', address: phone },
          { channel: 'sms', address: phone },
        ],
      },
    });
    expect(registered.status).toBe(201);

    const whatsapp = w.h.whatsapp(phone);
    await whatsapp.send('hi');
    expect(await whatsapp.send('1')).toEqual([ASK_USERNAME]);
    await whatsapp.send('wu');
    expect(await whatsapp.send(CANARY)).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    const token = w.bank.balanceTokens.at(-1)!;

    const sms = w.h.sms(phone);
    expect(await sms.send('who am I')).toEqual(['You are Wang Wu (verified).']);
    await sms.send('hi');
    expect(await sms.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    expect(w.bank.balanceTokens.at(-1)).toBe(token);
    expect(w.bank.logins.filter((u) => u === 'wu')).toEqual(['wu']);

    expect(await callForBalance(phone, NUMBERS.voice)).toBe(
      twiml(gather(2, ASK_USERNAME, { keypad: false })),
    );
    expect(await callForBalance(phone, TRUSTING_VOICE)).toBe(twiml(say(BALANCE_TEXT), MAIN_GATHER(2)));
  });
});
