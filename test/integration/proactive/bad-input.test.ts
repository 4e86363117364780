// Bad input to POST /v1/messages, GET /v1/messages/{id} and POST /v1/conversations: each gets its documented
// 4xx, with a message that says what is wrong, never a 5xx, and nothing is sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonRequest } from '../../support/json-api.js';
import { queuesIdle } from '../identity-e2e/helpers.js';
import { ACME_KEY, get, GLOBEX_KEY, post, startWorld, type World } from './helpers.js';

let w: World;
let messageOfAcme: string;

beforeAll(async () => {
  w = await startWorld('proactive-bad');
  const globexUser = await post(
    w.h,
    '/v1/users',
    { userId: 'g-1', identities: [{ channel: 'sms', address: '+12025550999' }] },
    { key: GLOBEX_KEY },
  );
  expect(globexUser.status, globexUser.text).toBe(201);
  const acmeUser = await post(w.h, '/v1/users', {
    userId: 'a-1',
    identities: [{ channel: 'sms', address: '+12025550998' }],
  });
  expect(acmeUser.status, acmeUser.text).toBe(201);
  const sent = await post(w.h, '/v1/messages', {
    bot: 'pharmacy',
    to: { userId: 'a-1', channel: 'sms' },
    text: 'Hi.',
  });
  expect(sent.status, sent.text).toBe(202);
  messageOfAcme = (sent.json as { id: string }).id;
  await w.h.twilio.waitForMessages('+12025550998', 1);
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const TO = 'whatsapp:+12025550100';
const SMS = 'sms:+12025550101';

interface Case {
  name: string;
  path: '/v1/messages' | '/v1/conversations';
  body: unknown;
  status: number;
  code: string;
  /** A part of the message that tells the caller what to fix. */
  says: string;
  key?: string;
  idempotencyKey?: null;
}

const cases: Case[] = [
  {
    name: 'no Idempotency-Key',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: SMS, text: 'x' },
    idempotencyKey: null,
    status: 400,
    code: 'idempotency_key_required',
    says: 'Send an Idempotency-Key header',
  },
  {
    name: 'malformed JSON',
    path: '/v1/messages',
    body: '{"bot": "pharmacy",',
    status: 400,
    code: 'invalid_json',
    says: 'not valid JSON',
  },
  {
    name: 'a huge body',
    path: '/v1/messages',
    body: JSON.stringify({ bot: 'pharmacy', to: SMS, text: 'x'.repeat(2 * 1024 * 1024) }),
    status: 413,
    code: 'payload_too_large',
    says: '1 MiB',
  },
  {
    name: 'text too long',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: SMS, text: 'x'.repeat(1601) },
    status: 422,
    code: 'validation_failed',
    says: 'body text',
  },
  {
    name: 'unknown bot',
    path: '/v1/messages',
    body: { bot: 'nobody', to: SMS, text: 'x' },
    status: 404,
    code: 'bot_not_found',
    says: 'no bot "nobody"',
  },
  {
    name: 'another workspace’s bot',
    path: '/v1/messages',
    body: { bot: 'globex-desk', to: SMS, text: 'x' },
    status: 404,
    code: 'bot_not_found',
    says: 'no bot "globex-desk"',
  },
  {
    name: 'another workspace’s user',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: { userId: 'g-1', channel: 'sms' }, text: 'x' },
    status: 404,
    code: 'user_not_found',
    says: 'No such user',
  },
  {
    name: 'a user without that channel',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: { userId: 'a-1', channel: 'whatsapp' }, text: 'x' },
    status: 422,
    code: 'no_identity_on_channel',
    says: 'no whatsapp identity',
  },
  {
    name: 'a bad address',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: '+12025550100', text: 'x' },
    status: 422,
    code: 'validation_failed',
    says: 'whatsapp:+447700900123',
  },
  {
    name: 'voice',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: 'voice:+12025550100', text: 'x' },
    status: 422,
    code: 'voice_not_supported',
    says: 'POST /v1/calls',
  },
  {
    name: 'text and template',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: TO, text: 'x', template: { name: 'ready' } },
    status: 422,
    code: 'validation_failed',
    says: 'exactly one of "text" and "template"',
  },
  {
    name: 'neither',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: TO },
    status: 422,
    code: 'validation_failed',
    says: 'exactly one of "text" and "template"',
  },
  {
    name: 'an unknown field',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: TO, text: 'x', media: 'y' },
    status: 422,
    code: 'validation_failed',
    says: 'unknown field "media"',
  },
  {
    name: 'unknown template',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: TO, template: { name: 'readdy' } },
    status: 422,
    code: 'unknown_template',
    says: 'its templates: ready, card_check',
  },
  {
    name: 'missing variables',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: TO, template: { name: 'ready', variables: { '1': 'Ada' } } },
    status: 422,
    code: 'wrong_template_variables',
    says: 'template "ready" takes 1, 2; missing "2"',
  },
  {
    name: 'unknown variables',
    path: '/v1/messages',
    body: {
      bot: 'pharmacy',
      to: TO,
      template: { name: 'card_check', variables: { name: 'Ada', nick: 'A' } },
    },
    status: 422,
    code: 'wrong_template_variables',
    says: 'unknown "nick"',
  },
  {
    name: 'a template on SMS',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: SMS, template: { name: 'ready' } },
    status: 422,
    code: 'template_not_supported',
    says: 'sms has no templates (they are WhatsApp\'s); send "text" instead',
  },
  {
    name: 'a channel the bot has no number on',
    path: '/v1/messages',
    body: { bot: 'globex-desk', to: TO, text: 'x' },
    key: GLOBEX_KEY,
    status: 422,
    code: 'no_number_on_channel',
    says: 'add one under numbers.whatsapp',
  },
  {
    name: 'another workspace’s bot, from it',
    path: '/v1/messages',
    body: { bot: 'pharmacy', to: SMS, text: 'x' },
    key: GLOBEX_KEY,
    status: 404,
    code: 'bot_not_found',
    says: 'no bot "pharmacy"',
  },
  {
    name: 'unknown flow',
    path: '/v1/conversations',
    body: { bot: 'pharmacy', to: SMS, flow: 'card' },
    status: 404,
    code: 'flow_not_found',
    says: 'its flows: main, card_check, confirm, block',
  },
  {
    name: 'a reserved variable',
    path: '/v1/conversations',
    body: { bot: 'pharmacy', to: SMS, flow: 'main', variables: { user: 'x' } },
    status: 422,
    code: 'validation_failed',
    says: 'reserved variable name',
  },
  {
    name: 'voice for a flow',
    path: '/v1/conversations',
    body: { bot: 'pharmacy', to: 'voice:+12025550100', flow: 'main' },
    status: 422,
    code: 'voice_not_supported',
    says: 'POST /v1/calls',
  },
  {
    name: 'a flow of another workspace’s bot',
    path: '/v1/conversations',
    body: { bot: 'globex-desk', to: SMS, flow: 'main' },
    status: 404,
    code: 'bot_not_found',
    says: 'no bot "globex-desk"',
  },
  {
    name: 'another workspace’s user for a flow',
    path: '/v1/conversations',
    body: { bot: 'pharmacy', to: { userId: 'g-1', channel: 'sms' }, flow: 'main' },
    status: 404,
    code: 'user_not_found',
    says: 'No such user',
  },
  {
    name: 'a template variable missing for a flow',
    path: '/v1/conversations',
    body: { bot: 'pharmacy', to: TO, flow: 'main', template: { name: 'card_check' } },
    status: 422,
    code: 'wrong_template_variables',
    says: 'missing "name"',
  },
  {
    name: 'malformed JSON for a flow',
    path: '/v1/conversations',
    body: '[1,',
    status: 400,
    code: 'invalid_json',
    says: 'not valid JSON',
  },
];

describe('bad input to the proactive endpoints', () => {
  it.each(cases)('$name → $status $code', async (c) => {
    const answer = await post(w.h, c.path, c.body, {
      ...(c.key ? { key: c.key } : {}),
      ...(c.idempotencyKey === null ? { idempotencyKey: null } : {}),
    });
    expect(answer.status, answer.text).toBe(c.status);
    const error = (answer.json as { error: { code: string; message: string } }).error;
    expect(error.code).toBe(c.code);
    expect(error.message).toContain(c.says);
  });

  it('sent nothing for any of them', async () => {
    await queuesIdle(w.h);
    expect(w.h.twilio.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('GET /v1/messages/{id}: an unknown id, a huge one, another workspace’s message → 404', async () => {
    for (const [path, key] of [
      ['/v1/messages/msg_nope', ACME_KEY],
      [`/v1/messages/${'x'.repeat(5000)}`, ACME_KEY],
      [`/v1/messages/${messageOfAcme}`, GLOBEX_KEY],
    ] as const) {
      const answer = await get(w.h, path, key);
      expect(answer.status, path).toBe(404);
      expect(answer.json).toEqual({
        error: { code: 'message_not_found', message: 'No such message in this workspace.' },
      });
    }
    expect((await get(w.h, `/v1/messages/${messageOfAcme}`)).status).toBe(200);
    const noKey = await jsonRequest(w.h.url, 'GET', `/v1/messages/${messageOfAcme}`, { key: null });
    expect(noKey.status).toBe(401);
  });
});
