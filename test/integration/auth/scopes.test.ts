// Workspaces and externalIds are walls: the same phone number and user id in 2 workspaces x 2 externalIds get four tokens, each used only in its own scope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { randomNumber, twilioYaml, type DialogHarness } from '../dialog/helpers.js';
import { account, bankBot, startBankHarness, TEXT, tokenKey } from './helpers.js';
import { places } from '../../../src/store/places.js';

const KEYS = { alpha: 'alpha-api-key-0123456789abcdef012345', beta: 'beta-api-key-0123456789abcdef0123456' };
const NUMBERS = {
  alpha: { sms: '+15005550006', whatsapp: '+14155238886' },
  beta: { sms: '+15005550016', whatsapp: '+14155238896' },
};

let banks: { alpha: FakeAuthService; beta: FakeAuthService };
let h: DialogHarness;

function bot(id: string, workspace: 'alpha' | 'beta', bank: string): string {
  const yaml = bankBot({ id, bank, numbers: NUMBERS[workspace], balanceSuffix: ' (login {{login}})' });
  if (!yaml.includes('    workspace: test\n'))
    throw new Error('the bot section no longer names its workspace');
  return yaml.replace('    workspace: test\n', `    workspace: ${workspace}\n`);
}

beforeAll(async () => {
  // Each workspace has its own bank; both know a customer "shared" whose user id is u-shared.
  banks = {
    alpha: await startFakeAuthService([account('shared', { userId: 'u-shared' })]),
    beta: await startFakeAuthService([account('shared', { userId: 'u-shared', balance: '99.00' })]),
  };
  h = await startBankHarness({
    label: 'auth-scopes',
    variables: { ALPHA_API_KEY: KEYS.alpha, BETA_API_KEY: KEYS.beta },
    files: (twilioUrl) => ({
      'switchboard.yaml': [
        'server:',
        '  publicUrl: ${PUBLIC_URL}',
        '  host: 127.0.0.1',
        '  port: 0',
        twilioYaml(twilioUrl),
        'workspaces:',
        '  alpha:',
        '    apiKeys: ["${ALPHA_API_KEY}"]',
        '    allowHosts: ["127.0.0.1"]',
        '  beta:',
        '    apiKeys: ["${BETA_API_KEY}"]',
        '    allowHosts: ["127.0.0.1"]',
        'bots:',
        bot('bank-a', 'alpha', banks.alpha.url),
        bot('bank-b', 'beta', banks.beta.url),
        '',
      ].join('\n'),
    }),
  });
});

afterAll(async () => {
  await h?.close();
  await banks?.alpha.close();
  await banks?.beta.close();
});

async function register(workspace: 'alpha' | 'beta', externalId: string, channel: string, address: string) {
  const res = await fetch(`${h.url}/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS[workspace]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'u-shared', externalId, identities: [{ channel, address }] }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

describe('token scopes', () => {
  it('two workspaces and two externalIds with the same phone number and user id get four separate tokens', async () => {
    const phone = randomNumber();
    // The operator puts the number's SMS identity in team-1 and its WhatsApp identity in team-2, in both workspaces.
    for (const workspace of ['alpha', 'beta'] as const) {
      await register(workspace, 'team-1', 'sms', phone);
      await register(workspace, 'team-2', 'whatsapp', phone);
    }
    const chats = [
      { workspace: 'alpha' as const, externalId: 'team-1', chat: h.sms(phone, NUMBERS.alpha.sms) },
      { workspace: 'alpha' as const, externalId: 'team-2', chat: h.whatsapp(phone, NUMBERS.alpha.whatsapp) },
      { workspace: 'beta' as const, externalId: 'team-1', chat: h.sms(phone, NUMBERS.beta.sms) },
      { workspace: 'beta' as const, externalId: 'team-2', chat: h.whatsapp(phone, NUMBERS.beta.whatsapp) },
    ];
    const balance = (workspace: 'alpha' | 'beta', login: number) =>
      `${TEXT.balance(workspace === 'alpha' ? '1,234.56' : '99.00', 'USD')} (login ${login})`;

    // Each logs in: the bank of its workspace issues a token; serials count per bank.
    for (const { workspace, chat } of chats) {
      expect(await chat.send('balance?')).toEqual([TEXT.username]);
      expect(await chat.send('shared')).toEqual([TEXT.password]);
      const serial = banks[workspace].issued.length + 1;
      expect(await chat.send('pw-shared')).toEqual([balance(workspace, serial)]);
    }
    expect(banks.alpha.logins).toHaveLength(2);
    expect(banks.beta.logins).toHaveLength(2);

    // Four keys, four different tokens, each opening to the token its own login got.
    const cipher = h.cipher;
    const opened = [];
    for (const { workspace, externalId } of chats) {
      const scope = { workspace, externalId, userId: 'u-shared' };
      const sealed = await h.redis.get(tokenKey(h, scope, 'bank-login'));
      expect(sealed).not.toBeNull();
      opened.push((JSON.parse(cipher.open(sealed!, places.token(scope, 'bank-login'))!) as { t: string }).t);
    }
    expect(opened).toEqual([
      banks.alpha.issued[0]!.token,
      banks.alpha.issued[1]!.token,
      banks.beta.issued[0]!.token,
      banks.beta.issued[1]!.token,
    ]);
    expect(new Set(opened).size).toBe(4);
    // No scope without an externalId was created on the way.
    expect(await h.redis.exists(tokenKey(h, { workspace: 'alpha', userId: 'u-shared' }, 'bank-login'))).toBe(
      0,
    );

    // Twice more each, interleaved: every call uses its own scope's token, none is ever another's.
    for (let round = 0; round < 2; round++) {
      for (const [i, { workspace, chat }] of chats.entries()) {
        expect(await chat.send('balance?')).toEqual([balance(workspace, (i % 2) + 1)]);
      }
    }
    expect(banks.alpha.logins).toHaveLength(2);
    expect(banks.beta.logins).toHaveLength(2);
    for (const workspace of ['alpha', 'beta'] as const) {
      const own = new Set(banks[workspace].issued.map((t) => t.token));
      expect(banks[workspace].apiCalls.every((c) => c.token !== undefined && own.has(c.token))).toBe(true);
      expect(banks[workspace].apiCalls.map((c) => [c.serial, c.status])).toEqual([
        [1, 200],
        [2, 200],
        [1, 200],
        [2, 200],
        [1, 200],
        [2, 200],
      ]);
    }
  });
});
