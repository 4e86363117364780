// Two auth components whose users type the same id do not share a user, nor each other's tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { botOn, NUMBERS, type DialogHarness } from '../dialog/helpers.js';
import { account, startBankHarness, TEXT, tokenKey, tokenKeys } from './helpers.js';

const SHOP_USERNAME = 'Shop username?';
const SHOP_PASSWORD = 'Shop password?';
const SHOP_WELCOME = 'Welcome to the shop.';
const MEMBER_LOGIN = 'Member number for online banking?';
const STATEMENT = 'Your statement is on its way.';

let bank: FakeAuthService;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startFakeAuthService([
    // The victim: member 1001 of the bank, with a PIN.
    account('ns-victim', { memberId: '1001', pin: '4321' }),
    // The attacker's own account at the shop (the same fake service), whose username is "1001".
    account('1001', { password: 'attackers-own-password', userId: 'shop-7' }),
    // Member 2002 has a PIN and an online-banking password under the same member number.
    account('2002', { password: 'pw-2002', memberId: '2002', pin: '1357' }),
  ]);
  // member-pin names users by the typed auth_id; shop-login by the typed username (no userIdPath).
  const bot = botOn(
    'ns-bank',
    `    auth:
      member-pin:
        type: verify
        url: ${bank.url}/auth/verify
        fields:
          - { name: auth_id, prompt: "${TEXT.memberNumber}", keypad: true }
          - { name: auth_code, prompt: "${TEXT.pin}", keypad: true, digits: 4, secret: true }
      shop-login:
        type: login
        url: ${bank.url}/auth/token
        fields:
          - { name: username, prompt: "${SHOP_USERNAME}" }
          - { name: password, prompt: "${SHOP_PASSWORD}", secret: true }
        token: { path: access_token }
      member-login:
        type: login
        url: ${bank.url}/auth/token
        fields:
          - { name: username, prompt: "${MEMBER_LOGIN}" }
          - { name: password, prompt: "${SHOP_PASSWORD}", secret: true }
        token: { path: access_token }
        userNamespace: member-pin
    flows:
      main:
        - switch: { value: "{{input}}", cases: { "payment?": payments, "shop": shop, "statement": statement } }
        - end: "Say payment? or shop."
      shop:
        - auth: shop-login
        - end: "${SHOP_WELCOME}"
      statement:
        - auth: member-login
        - end: "${STATEMENT}"
      payments:
        - auth: member-pin
        - request:
            method: POST
            url: ${bank.url}/api/payments/last
            body: { member: "{{auth_id}}", token: "{{authtoken}}" }
            auth: member-pin
            save: { amount: "amount", payee: "payee" }
        - end: "Your last payment was {{amount}} to {{payee}}."`,
    NUMBERS,
  );
  h = await startBankHarness({ bots: bot, label: 'auth-namespaces' });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

describe('user ids per auth component', () => {
  it('logging in to the shop as "1001" does not inherit member 1001’s verify token and auth_code', async () => {
    const victim = h.sms();
    expect(await victim.send('payment?')).toEqual([TEXT.memberNumber]);
    expect(await victim.send('1001')).toEqual([TEXT.pin]);
    expect(await victim.send('4321')).toEqual([TEXT.payment('42.00 USD', 'City Power')]);

    const attacker = h.sms();
    expect(await attacker.send('shop')).toEqual([SHOP_USERNAME]);
    expect(await attacker.send('1001')).toEqual([SHOP_PASSWORD]);
    expect(await attacker.send('attackers-own-password')).toEqual([SHOP_WELCOME]);
    const payments = bank.apiCalls.length;
    // The bank's PIN is asked for: no token of member 1001 is used.
    expect(await attacker.send('payment?')).toEqual([TEXT.memberNumber]);
    expect(bank.apiCalls.slice(payments)).toEqual([]);

    // Two users, each with the token of its own component only.
    expect(await tokenKeys(h)).toEqual(
      [
        tokenKey(h, { workspace: 'test', userId: 'member-pin:1001' }, 'member-pin'),
        tokenKey(h, { workspace: 'test', userId: 'shop-login:1001' }, 'shop-login'),
      ].sort(),
    );
    // Who-am-I says the id as each of them typed it.
    expect(await victim.send('who am I')).toEqual(['You are verified as 1001.']);
  });

  it('components that share a namespace share the user: the PIN after the password keeps one user with both tokens', async () => {
    const c = h.sms();
    expect(await c.send('statement')).toEqual([MEMBER_LOGIN]);
    expect(await c.send('2002')).toEqual([SHOP_PASSWORD]);
    expect(await c.send('pw-2002')).toEqual([STATEMENT]);
    expect(await c.send('payment?')).toEqual([TEXT.memberNumber]);
    expect(await c.send('2002')).toEqual([TEXT.pin]);
    expect(await c.send('1357')).toEqual([TEXT.payment('42.00 USD', 'City Power')]);
    // Still the same user: the password's token was not left behind with another one.
    expect(await c.send('statement')).toEqual([STATEMENT]);
    const scope = { workspace: 'test', userId: 'member-pin:2002' };
    expect(await h.redis.exists(tokenKey(h, scope, 'member-pin'), tokenKey(h, scope, 'member-login'))).toBe(
      2,
    );
  });
});
