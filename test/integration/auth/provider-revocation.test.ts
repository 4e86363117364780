// Forgotten tokens are revoked at the provider too: LOGOUT, the operator API's DELETE …/tokens, and a
// provider that does not answer (the reply does not wait for it longer than the component's timeout).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRefreshAuthService, type RefreshAuthService } from '../../fakes/refresh-auth-service.js';
import { configVariables } from '../../support/config.js';
import { jsonRequest } from '../../support/json-api.js';
import { botOn, type DialogHarness } from '../dialog/helpers.js';
import { startBankHarness, tokenKey } from './helpers.js';
import './revoking-method.js';

const API_KEY = configVariables().TEST_API_KEY!;
const USERNAME = 'Username?';
const PASSWORD = 'Password?';
const SIGNED_IN = 'Signed in.';
const SIGNED_OUT = 'You are signed out.';
const users = ['rv-amy', 'rv-ben', 'rv-cid'];

let bank: RefreshAuthService;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startRefreshAuthService(
    users.map((u) => ({ username: u, password: `pw-${u}`, userId: `u-${u}` })),
  );
  h = await startBankHarness({
    bots: botOn(
      'vault',
      `    auth:
      vault:
        type: revoking-login
        url: ${bank.url}/auth/token
        revokeUrl: ${bank.url}/auth/revoke
        fields:
          - { name: username, prompt: "${USERNAME}" }
          - { name: password, prompt: "${PASSWORD}", secret: true }
        timeout: 0.5
    flows:
      main:
        - auth: vault
        - ask: { prompt: "${SIGNED_IN}", save: next }
        - goto: main`,
    ),
    label: 'auth-revocation',
  });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

async function signIn(user: string) {
  const c = h.sms();
  expect(await c.send('hi')).toEqual([USERNAME]);
  expect(await c.send(user)).toEqual([PASSWORD]);
  expect(await c.send(`pw-${user}`)).toEqual([SIGNED_IN]);
  return { c, pair: bank.issued.filter((p) => p.userId === `u-${user}`).at(-1)! };
}

describe('revocation at the provider', () => {
  it('LOGOUT forgets the token and revokes the access and refresh tokens at the provider', async () => {
    const { c, pair } = await signIn('rv-amy');
    expect(await c.send('LOGOUT')).toEqual([SIGNED_OUT]);
    expect(bank.revocations).toEqual([{ accessToken: pair.accessToken, refreshToken: pair.refreshToken }]);
    expect(await h.redis.exists(tokenKey(h, { workspace: 'test', userId: 'u-rv-amy' }, 'vault'))).toBe(0);
    expect(h.logs.lines.filter((l) => l.message.startsWith('token revocation'))).toEqual([]);
  });

  it("the operator API's DELETE …/tokens revokes at the provider after deleting the record", async () => {
    const { pair } = await signIn('rv-ben');
    const before = bank.revocations.length;
    const res = await jsonRequest(h.url, 'DELETE', '/v1/users/u-rv-ben/tokens', { key: API_KEY });
    expect(res.status).toBe(204);
    expect(bank.revocations.slice(before)).toEqual([
      { accessToken: pair.accessToken, refreshToken: pair.refreshToken },
    ]);
    expect(await h.redis.exists(tokenKey(h, { workspace: 'test', userId: 'u-rv-ben' }, 'vault'))).toBe(0);
  });

  it('a provider that does not answer: the user is signed out anyway, and a warning is logged', async () => {
    const { c, pair } = await signIn('rv-cid');
    bank.revokeHangs = true;
    try {
      const before = bank.revocations.length;
      expect(await c.send('LOGOUT')).toEqual([SIGNED_OUT]);
      expect(bank.revocations.slice(before)).toEqual([
        { accessToken: pair.accessToken, refreshToken: pair.refreshToken },
      ]);
      expect(await h.redis.exists(tokenKey(h, { workspace: 'test', userId: 'u-rv-cid' }, 'vault'))).toBe(0);
      const warned = h.logs.lines.filter((l) => l.message.startsWith('token revocation'));
      expect(warned.map((l) => [l.level, l.message, l.component])).toEqual([
        ['warn', 'token revocation at the provider did not answer in time', 'vault'],
      ]);
    } finally {
      bank.revokeHangs = false;
    }
  });
});
