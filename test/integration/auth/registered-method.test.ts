// An auth method from outside src/ (test/integration/auth/fixed-code-method.ts) runs a whole credential dialog through the gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authMethod } from '../../../src/auth/index.js';
import { fixedCode } from './fixed-code-method.js';
import type { DialogHarness } from '../dialog/helpers.js';
import { botOn } from '../dialog/helpers.js';
import { startBankHarness, TEXT, tokenKey, tokenKeys } from './helpers.js';

const MEMBER = 'What is your member name?';
const CODE = 'What is the door code?';
const WELCOME = 'Welcome in.';

let h: DialogHarness;

beforeAll(async () => {
  h = await startBankHarness({
    bots: botOn(
      'club',
      `    auth:
      door:
        type: fixed-code
        code: "246813579"
        fields:
          - { name: member, prompt: "${MEMBER}" }
          - { name: code, prompt: "${CODE}", secret: true }
        maxAttempts: 3
    flows:
      main:
        - auth: door
        - end: "${WELCOME}"`,
    ),
    label: 'auth-registered',
  });
});

afterAll(async () => {
  await h?.close();
});

describe('a registered auth method', () => {
  it('is in the registry under its type, and the configuration parsed its component with its schema', () => {
    expect(authMethod('fixed-code')).toBe(fixedCode);
    expect(h.config.bots.club!.auth.door).toEqual({
      type: 'fixed-code',
      code: '246813579',
      fields: [
        { name: 'member', prompt: MEMBER, secret: false, keypad: false },
        { name: 'code', prompt: CODE, secret: true, keypad: false },
      ],
      ttl: 3600,
      maxAttempts: 3,
      lockout: 900,
      timeout: 10,
    });
  });

  it('SMS: member name -> wrong code -> asked again -> right code -> verified, its token cached, the code in no log', async () => {
    const c = h.sms();
    expect(await c.send('hello')).toEqual([MEMBER]);
    expect(await c.send('alice')).toEqual([CODE]);
    expect(await c.send('1111')).toEqual([TEXT.wrong, MEMBER]);
    expect(await c.send('alice')).toEqual([CODE]);
    expect(await c.send('246813579')).toEqual([WELCOME]);

    // Typed ids are namespaced by the component's name, as for Switchboard's own methods.
    expect(await tokenKeys(h)).toEqual([tokenKey(h, { workspace: 'test', userId: 'door:alice' }, 'door')]);
    expect(await c.send('who am I')).toEqual(['You are verified as alice.']);
    expect(
      await h.metric('switchboard_auth_results_total', {
        component: 'door',
        component_type: 'fixed-code',
        result: 'success',
      }),
    ).toBe(1);
    expect(
      await h.metric('switchboard_auth_results_total', {
        component: 'door',
        component_type: 'fixed-code',
        result: 'wrong_credentials',
      }),
    ).toBe(1);
    expect(h.logs.lines.filter((l) => JSON.stringify(l).includes('246813579'))).toEqual([]);
  });

  it("counts wrong codes against the typed member name, whatever phone they come from (the registry's default account field)", async () => {
    // maxAttempts 3 per identity; the account's limit is three times that, so 9 failures from 3 phones lock "bob".
    for (let phone = 0; phone < 3; phone++) {
      const c = h.sms();
      for (let i = 0; i < 3; i++) {
        if (i === 0) expect(await c.send('hi')).toEqual([MEMBER]);
        expect(await c.send(' Bob')).toEqual([CODE]);
        // The third failure locks this phone; the ninth also locks the account.
        expect(await c.send('0000')).toEqual(
          i === 2 ? [TEXT.locked(15)] : i === 1 ? [TEXT.wrong, TEXT.lastTry, MEMBER] : [TEXT.wrong, MEMBER],
        );
      }
    }
    // A fourth phone with the right code: the account is locked, so no try is made.
    const c = h.sms();
    expect(await c.send('hi')).toEqual([MEMBER]);
    expect(await c.send('bob')).toEqual([CODE]);
    expect(await c.send('246813579')).toEqual([TEXT.locked(15)]);
  });
});
