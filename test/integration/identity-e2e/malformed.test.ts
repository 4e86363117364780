// Malformed operator API requests against the real gateway get the documented 4xx with a JSON error, never a 5xx.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, GLOBEX_KEY, startWorld, type ApiCallOptions, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld({ label: 'e2e-malformed' });
  const made = await w.api('POST', '/v1/users', {
    body: { userId: 'member-1', identities: [{ channel: 'sms', address: '+15551230001' }] },
  });
  expect(made.status).toBe(201);
});
afterAll(async () => {
  await w?.close();
});

const TWO_MIB = 2 * 1024 * 1024;
const bigJson = JSON.stringify({ userId: 'big', identities: [], name: 'x'.repeat(TWO_MIB) });

interface Case {
  name: string;
  method: string;
  path: string;
  options?: ApiCallOptions;
  status: number;
  code: string;
  /** The exact message, when the test pins it. */
  message?: string;
}

const CASES: Case[] = [
  {
    name: 'no Authorization header',
    method: 'GET',
    path: '/v1/users/member-1',
    options: { key: null },
    status: 401,
    code: 'unauthorized',
    message: 'Send "Authorization: Bearer <workspace API key>".',
  },
  {
    name: 'an unknown key',
    method: 'GET',
    path: '/v1/users/member-1',
    options: { key: 'not-a-key' },
    status: 401,
    code: 'unauthorized',
    message: 'The API key is not valid.',
  },
  {
    name: 'Basic instead of Bearer',
    method: 'GET',
    path: '/v1/users/member-1',
    options: { key: null, headers: { authorization: 'Basic YWNtZTprZXk=' } },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'an unknown key with a 2 MiB body (refused before the body is read)',
    method: 'POST',
    path: '/v1/users',
    options: { key: 'not-a-key', body: bigJson },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'a 2 MiB body',
    method: 'POST',
    path: '/v1/users',
    options: { body: bigJson },
    status: 413,
    code: 'payload_too_large',
    message: 'The body is over the 1 MiB limit.',
  },
  {
    name: 'a 2 MiB body sent as a form',
    method: 'POST',
    path: '/v1/link-codes',
    options: {
      body: `userId=${'x'.repeat(TWO_MIB)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'invalid JSON',
    method: 'POST',
    path: '/v1/users',
    options: { body: '{"userId": "a",' },
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'a JSON string instead of an object',
    method: 'POST',
    path: '/v1/users',
    options: { body: '"member-1"' },
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'userId of the wrong type',
    method: 'POST',
    path: '/v1/users',
    options: { body: { userId: 42, identities: [] } },
    status: 422,
    code: 'validation_failed',
    message: 'body userId: expected a string, got a number',
  },
  {
    name: 'a missing field (identities)',
    method: 'POST',
    path: '/v1/users',
    options: { body: { userId: 'member-2' } },
    status: 422,
    code: 'validation_failed',
    message: 'body identities: missing; expected an array',
  },
  {
    name: 'an unknown field (a typo of externalId)',
    method: 'POST',
    path: '/v1/users',
    options: { body: { userId: 'member-2', extenalId: 'org-7', identities: [] } },
    status: 422,
    code: 'validation_failed',
    message: 'body: unknown field "extenalId"',
  },
  {
    name: 'an identity on an unknown channel',
    method: 'POST',
    path: '/v1/users',
    options: { body: { userId: 'member-2', identities: [{ channel: 'fax', address: '+15551230002' }] } },
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'an address that is not E.164',
    method: 'POST',
    path: '/v1/users',
    options: { body: { userId: 'member-2', identities: [{ channel: 'sms', address: '555-1234' }] } },
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a reserved anon: user id',
    method: 'POST',
    path: '/v1/users',
    options: { body: { userId: 'anon:abc', identities: [] } },
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a token for a component no bot has',
    method: 'POST',
    path: '/v1/users',
    options: { body: { userId: 'member-2', identities: [], tokens: { nope: { token: 't', ttl: 60 } } } },
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a token ttl as a string',
    method: 'PUT',
    path: '/v1/users/member-1/tokens/bank-login',
    options: { body: { token: 't', ttl: '3600' } },
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a negative token ttl',
    method: 'PUT',
    path: '/v1/users/member-1/tokens/bank-login',
    options: { body: { token: 't', ttl: -1 } },
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a token renewal without a body',
    method: 'PUT',
    path: '/v1/users/member-1/tokens/bank-login',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'an unknown component',
    method: 'PUT',
    path: '/v1/users/member-1/tokens/no-such-component',
    options: { body: { token: 't', ttl: 60 } },
    status: 404,
    code: 'component_not_found',
  },
  {
    name: 'a link code ttl over a day',
    method: 'POST',
    path: '/v1/link-codes',
    options: { body: { userId: 'member-1', ttl: 86_401 } },
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a fractional link code ttl',
    method: 'POST',
    path: '/v1/link-codes',
    options: { body: { userId: 'member-1', ttl: 1.5 } },
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a history limit that is not a number',
    method: 'GET',
    path: '/v1/users/member-1/history?limit=abc',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a history limit over 200',
    method: 'GET',
    path: '/v1/users/member-1/history?limit=201',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'an unknown query parameter',
    method: 'GET',
    path: '/v1/users/member-1?externalld=x',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a repeated query parameter',
    method: 'GET',
    path: '/v1/users/member-1?externalId=a&externalId=b',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a user id over 256 characters',
    method: 'GET',
    path: `/v1/users/${'u'.repeat(300)}`,
    status: 404,
    code: 'user_not_found',
  },
  {
    name: 'a broken percent-encoding in the path',
    method: 'GET',
    path: '/v1/users/%E0%A4%A',
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'an unsupported charset',
    method: 'POST',
    path: '/v1/users',
    options: {
      body: '{"userId":"x","identities":[]}',
      headers: { 'content-type': 'application/json; charset=klingon' },
    },
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'an unknown endpoint',
    method: 'GET',
    path: '/v1/nothing-here',
    status: 404,
    code: 'not_found',
    message: 'No such endpoint.',
  },
  {
    name: 'another workspace’s user',
    method: 'GET',
    path: '/v1/users/member-1',
    options: { key: GLOBEX_KEY },
    status: 404,
    code: 'user_not_found',
  },
];

describe('malformed operator API requests on the gateway’s own port', () => {
  it.each(CASES)('$name → $status $code', async (c) => {
    const answer = await apiCall(w.h.url, c.method, c.path, c.options);
    expect(answer.status, answer.text).toBe(c.status);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const error = (answer.json as { error: { code: string; message: string } }).error;
    expect(error.code).toBe(c.code);
    expect(typeof error.message).toBe('string');
    if (c.message !== undefined) expect(error.message).toBe(c.message);
    if (c.status === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('nothing above was a server error, and the API still answers', async () => {
    expect(w.h.logs.find('operator API request failed')).toEqual([]);
    expect(w.h.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
    const user = await w.api('GET', '/v1/users/member-1');
    expect(user.status).toBe(200);
    expect((user.json as { userId: string }).userId).toBe('member-1');
    // None of the refused requests registered anyone.
    for (const id of ['member-2', 'big', 'x'])
      expect((await w.api('GET', `/v1/users/${id}`)).status).toBe(404);
  });
});
