// Secrets at a secret prompt: a password typed after the session expired, a keyword, a grouped LINK code — all [redacted] and deleted from Twilio's log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT as ENGINE } from '../../../src/core/dialog.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { jsonRequest } from '../../support/json-api.js';
import { newSid } from '../../support/webhooks.js';
import type { DialogHarness, TextChat } from '../dialog/helpers.js';
import { scanKeys, valueText } from '../identity-e2e/helpers.js';
import { account, bankBot, startBankHarness, TEXT } from './helpers.js';

const API_KEY = 'test-api-key-0123456789abcdef0123456789';
const HELP = 'Reply MENU to start over, STOP to opt out.';

let bank: FakeAuthService;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startFakeAuthService([account('late-gus'), account('kw-hana')]);
  h = await startBankHarness({
    bots: bankBot({ bank: bank.url }),
    label: 'auth-late-secrets',
    adjust: (config) => {
      config.twilio!.redactSecretMessages = true;
    },
  });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

/** The identity's own history (it is anonymous until it logs in), as the operator API shows it. */
async function history(
  c: TextChat,
  userId = `anon:${new IdentityKeys(h.keys).identityHash('test', c.identity)}`,
) {
  const answer = await jsonRequest(
    h.url,
    'GET',
    `/v1/users/${encodeURIComponent(userId)}/history?limit=100`,
    {
      key: API_KEY,
    },
  );
  expect(answer.status).toBe(200);
  return (answer.json as { entries: { direction: string; text: string; secret?: boolean }[] }).entries;
}

const inbound = (entries: { direction: string; text: string }[]) =>
  entries.filter((e) => e.direction === 'in').map((e) => e.text);

/** Keys under the test's prefix whose value holds `text` in clear. */
async function keysHolding(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const key of await scanKeys(h.redis, h.prefix))
    if ((await valueText(h.redis, key)).includes(text)) found.push(key);
  return found;
}

describe('a password typed after the session expired', () => {
  it.each([
    ['just past the expiry', 1, 'sms'],
    ['two hours past the expiry', 2 * 3_600_000, 'whatsapp'],
  ] as const)(
    '%s: kept as [redacted], in no Redis value, deleted from Twilio’s log; the user starts over',
    async (_, late, channel) => {
      const c = channel === 'sms' ? h.sms() : h.whatsapp();
      const cid = h.cid('bank', c.identity);
      const password = `pw-late-gus`;
      expect(await c.send('balance?')).toEqual([TEXT.username]);
      expect(await c.send('late-gus')).toEqual([TEXT.password]);
      const ttl = await h.redis.ttl(h.keys.state(cid));

      await h.expireConversation(cid, late);
      const sid = newSid();
      // A fresh start, as after any expiry; the password is not the new conversation's {{input}} either.
      expect(await c.send(password, { MessageSid: sid })).toEqual([TEXT.username]);
      expect(await c.send('late-gus')).toEqual([TEXT.password]); // its turn ran after the previous one's clean-up

      expect(inbound(await history(c))).toEqual(['balance?', 'late-gus', '[redacted]', 'late-gus']);
      expect((await history(c)).find((e) => e.text === '[redacted]')?.secret).toBe(true);
      expect(await keysHolding(password)).toEqual([]);
      expect(h.twilio.deleted).toContain(sid);
      // The state waiting for the password outlived the 30-minute session by a day (sealed, as always).
      expect(ttl).toBeGreaterThan(1800 + 86_000);
      expect(h.logs.lines.filter((l) => JSON.stringify(l).includes(password))).toEqual([]);
    },
  );
});

describe('a keyword at a secret prompt', () => {
  it('HELP and STOP still work, but each is kept as [redacted] and deleted from Twilio’s log', async () => {
    const c = h.sms();
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(await c.send('kw-hana')).toEqual([TEXT.password]);
    const sids = { help: newSid(), stop: newSid() };
    expect(await c.send('Help', { MessageSid: sids.help })).toEqual([HELP, TEXT.password]);
    expect(await c.send('STOP', { MessageSid: sids.stop })).toEqual([ENGINE.optedOut]);
    expect(await c.send('START')).toEqual([ENGINE.optedIn]);

    expect(inbound(await history(c))).toEqual(['balance?', 'kw-hana', '[redacted]', '[redacted]', 'START']);
    expect(h.twilio.deleted).toEqual(expect.arrayContaining([sids.help, sids.stop]));
  });
});

describe('a LINK code typed in groups', () => {
  it('"LINK 482 910" is a link code: the identity is linked, the message kept as [redacted] and deleted', async () => {
    const created = await jsonRequest(h.url, 'POST', '/v1/link-codes', {
      key: API_KEY,
      body: { userId: 'grouped-ida', name: 'Ida Link' },
    });
    expect(created.status).toBe(201);
    const { code } = created.json as { code: string };
    const grouped = `LINK ${code.slice(0, 3)} ${code.slice(3)}`;

    const c = h.whatsapp();
    const sid = newSid();
    expect(await c.send(grouped, { MessageSid: sid })).toEqual([
      ENGINE.linked('You are Ida Link (verified).'),
    ]);
    expect(await c.send('who am I')).toEqual(['You are Ida Link (verified).']);

    const lines = [...inbound(await history(c)), ...inbound(await history(c, 'grouped-ida'))];
    expect(lines).toContain('[redacted]');
    expect(lines.filter((l) => l.includes(code.slice(3)))).toEqual([]);
    expect(h.twilio.deleted).toContain(sid);
  });

  it.each([
    ['dots', (code: string) => `LINK ${code.slice(0, 5)}.${code.slice(5)}`],
    [
      'underscores',
      (code: string) => `link ${code.slice(0, 5).toLowerCase()}_${code.slice(5).toLowerCase()}`,
    ],
  ])(
    'a typed code grouped with %s, as a link prompt takes it, is a link code too: linked, [redacted], deleted',
    async (_, typed) => {
      const userId = `grouped-${Math.random().toString(36).slice(2, 8)}`;
      const created = await jsonRequest(h.url, 'POST', '/v1/link-codes', {
        key: API_KEY,
        body: { userId, name: 'Jo Link' },
      });
      expect(created.status).toBe(201);
      const { code } = created.json as { code: string };
      const text = typed(code);

      const c = h.sms();
      const sid = newSid();
      expect(await c.send(text, { MessageSid: sid })).toEqual([ENGINE.linked('You are Jo Link (verified).')]);
      const lines = [...inbound(await history(c)), ...inbound(await history(c, userId))];
      expect(lines).toEqual(['[redacted]']);
      expect(h.twilio.deleted).toContain(sid);
    },
  );
});
