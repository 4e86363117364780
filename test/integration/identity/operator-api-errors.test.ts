// Malformed operator API requests get the documented 4xx (never a 5xx); rate limits answer 429 with Retry-After.
import { matchesPattern } from '../../support/key-patterns.js';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_FAILURES_PER_MINUTE } from '../../../src/http/operator-api.js';
import {
  call,
  identityWorld,
  KEY_A,
  KEY_A2,
  KEY_B,
  startApi,
  testConfig,
  type ApiServer,
  type IdentityWorld,
} from './setup.js';

const opened: { w: IdentityWorld; api: ApiServer }[] = [];
async function open(options: Parameters<typeof identityWorld>[0] = {}) {
  const w = await identityWorld(options);
  const api = await startApi(w);
  opened.push({ w, api });
  return { w, api };
}
afterEach(async () => {
  for (const { w, api } of opened.splice(0)) {
    await api.close();
    await w.close();
  }
});

const valid = { userId: 'u-1', identities: [{ channel: 'sms', address: '+15551234567' }] };

/** A GET with a wrong key sent from another loopback address (127.0.0.2), as another client would. */
function wrongKeyFromAnotherAddress(api: ApiServer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${api.url}/v1/users/u-1`,
      { localAddress: '127.0.0.2', headers: { authorization: 'Bearer wrong-key' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('authentication', () => {
  it('answers 401 without a key, with an unknown key, and with a malformed header', async () => {
    const { api } = await open();
    const missing = await call(api, 'GET', '/v1/users/u-1', { key: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(missing.json).toEqual({
      error: { code: 'unauthorized', message: 'Send "Authorization: Bearer <workspace API key>".' },
    });
    const unknown = await call(api, 'GET', '/v1/users/u-1', { key: `${KEY_A}x` });
    expect(unknown.status).toBe(401);
    expect(unknown.json).toEqual({ error: { code: 'unauthorized', message: 'The API key is not valid.' } });
    const basic = await call(api, 'GET', '/v1/users/u-1', {
      key: null,
      headers: { authorization: `Basic ${KEY_A}` },
    });
    expect(basic.status).toBe(401);
    const prefixOnly = await call(api, 'POST', '/v1/users', { key: KEY_A.slice(0, 10), body: valid });
    expect(prefixOnly.status).toBe(401);
  });

  it('answers 401 to an unknown key before reading a 2 MiB body', async () => {
    const { api } = await open();
    const big = JSON.stringify({ ...valid, name: 'x'.repeat(2 * 1024 * 1024) });
    const answer = await call(api, 'POST', '/v1/users', { key: 'wrong-key', body: big });
    expect(answer.status).toBe(401);
    expect((answer.json as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('serves the OpenAPI document without a key', async () => {
    const { api } = await open();
    const answer = await call(api, 'GET', '/v1/openapi.json', { key: null });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect((answer.json as { openapi: string; paths: Record<string, unknown> }).openapi).toBe('3.1.0');
    expect(Object.keys((answer.json as { paths: Record<string, unknown> }).paths)).toContain(
      '/v1/users/{userId}/history',
    );
  });

  it('answers 404 with the JSON error shape for an unknown path', async () => {
    const { api } = await open();
    const answer = await call(api, 'GET', '/v1/nothing-here');
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({ error: { code: 'not_found', message: 'No such endpoint.' } });
  });
});

describe('malformed bodies', () => {
  const cases: { name: string; body: unknown; status: number; code: string; message: string }[] = [
    {
      name: 'invalid JSON',
      body: '{"userId": "u-1",',
      status: 400,
      code: 'invalid_json',
      message: 'The body is not valid JSON (or not a JSON object).',
    },
    {
      name: 'a JSON string instead of an object',
      body: '"u-1"',
      status: 400,
      code: 'invalid_json',
      message: 'The body is not valid JSON (or not a JSON object).',
    },
    {
      name: 'an unknown field',
      body: { ...valid, admin: true },
      status: 422,
      code: 'validation_failed',
      message: 'body: unknown field "admin"',
    },
    {
      name: 'an unknown nested field',
      body: { userId: 'u-1', identities: [{ channel: 'sms', address: '+15551234567', primary: true }] },
      status: 422,
      code: 'validation_failed',
      message: 'body identities.0: unknown field "primary"',
    },
    {
      name: 'a missing field',
      body: { userId: 'u-1' },
      status: 422,
      code: 'validation_failed',
      message: 'body identities: missing; expected an array',
    },
    {
      name: 'a wrong type',
      body: { userId: 42, identities: [] },
      status: 422,
      code: 'validation_failed',
      message: 'body userId: expected a string, got a number',
    },
    {
      name: 'an unknown channel',
      body: { userId: 'u-1', identities: [{ channel: 'fax', address: '+15551234567' }] },
      status: 422,
      code: 'validation_failed',
      message: 'body identities.0.channel: Invalid option: expected one of "sms"|"whatsapp"|"voice"',
    },
    {
      name: 'an address that is not E.164',
      body: { userId: 'u-1', identities: [{ channel: 'sms', address: 'whatsapp:+15551234567' }] },
      status: 422,
      code: 'validation_failed',
      message:
        'body identities.0.address: must be an E.164 phone number such as "+15551234567" (no channel prefix)',
    },
    {
      // The operator API once allowed 2 to 15 digits; no webhook brings fewer than 6, so neither may it.
      name: 'an address too short for any webhook to bring',
      body: { userId: 'u-1', identities: [{ channel: 'sms', address: '+12345' }] },
      status: 422,
      code: 'validation_failed',
      message:
        'body identities.0.address: must be an E.164 phone number such as "+15551234567" (no channel prefix)',
    },
    {
      name: 'a reserved user id',
      body: { userId: 'anon:abc', identities: [] },
      status: 422,
      code: 'validation_failed',
      message: 'body userId: "anon:" is reserved for anonymous users',
    },
    {
      name: 'a token for an unknown component',
      body: { ...valid, tokens: { 'globex-login': { token: 't', ttl: 60 } } },
      status: 422,
      code: 'validation_failed',
      message: 'body tokens.globex-login: no bot of this workspace has this auth component',
    },
    {
      name: 'a negative token ttl',
      body: { ...valid, tokens: { 'bank-login': { token: 't', ttl: -5 } } },
      status: 422,
      code: 'validation_failed',
      message: 'body tokens.bank-login.ttl: Too small: expected number to be >0',
    },
    {
      name: 'no body at all',
      body: undefined,
      status: 422,
      code: 'validation_failed',
      message:
        'body userId: missing; expected a string; body identities: missing; expected an array',
    },
  ];

  for (const c of cases) {
    it(`POST /v1/users with ${c.name} → ${c.status}`, async () => {
      const { api, w } = await open();
      const answer = await call(api, 'POST', '/v1/users', { body: c.body });
      expect(answer.status).toBe(c.status);
      expect((answer.json as { error: { code: string; message: string } }).error).toMatchObject({
        code: c.code,
        message: c.message,
      });
      // Nothing was stored.
      expect((await w.scan()).filter((k) => !matchesPattern(w.keys.everyApiRateLimit())(k))).toEqual([]);
    });
  }

  it('answers 422 naming the field on the other endpoints and queries', async () => {
    const { api } = await open();
    await call(api, 'POST', '/v1/users', { body: valid });
    const renew = await call(api, 'PUT', '/v1/users/u-1/tokens/bank-login', {
      body: { token: 't', ttl: '60' },
    });
    expect(renew.status).toBe(422);
    expect((renew.json as { error: { message: string } }).error.message).toBe(
      'body ttl: expected a number, got a string',
    );
    const link = await call(api, 'POST', '/v1/link-codes', { body: { userId: 'u-1', ttl: 999_999 } });
    expect(link.status).toBe(422);
    expect((link.json as { error: { message: string } }).error.message).toBe(
      'body ttl: Too big: expected number to be <=86400',
    );
    const limit = await call(api, 'GET', '/v1/users/u-1/history?limit=abc');
    expect(limit.status).toBe(422);
    expect((limit.json as { error: { message: string } }).error.message).toBe(
      'query limit: must be a whole number',
    );
    const tooMany = await call(api, 'GET', '/v1/users/u-1/history?limit=201');
    expect(tooMany.status).toBe(422);
    const unknownParam = await call(api, 'GET', '/v1/users/u-1?expand=all');
    expect(unknownParam.status).toBe(422);
    expect((unknownParam.json as { error: { message: string } }).error.message).toBe(
      'query: unknown field "expand"',
    );
    const twice = await call(api, 'GET', '/v1/users/u-1?externalId=a&externalId=b');
    expect(twice.status).toBe(422);
  });

  it('answers 413 with the JSON error shape for a 2 MiB body', async () => {
    const { api, w } = await open();
    const big = JSON.stringify({ ...valid, name: 'x'.repeat(2 * 1024 * 1024) });
    const answer = await call(api, 'POST', '/v1/users', { body: big });
    expect(answer.status).toBe(413);
    expect(answer.json).toEqual({
      error: { code: 'payload_too_large', message: 'The body is over the 1 MiB limit.' },
    });
    expect((await w.scan()).filter((k) => !matchesPattern(w.keys.everyApiRateLimit())(k))).toEqual([]);
    // The connection and the server are fine afterwards.
    expect((await call(api, 'POST', '/v1/users', { body: valid })).status).toBe(201);
  });

  it('reads a body sent with another content type as JSON', async () => {
    const { api } = await open();
    const answer = await call(api, 'POST', '/v1/users', {
      body: valid,
      headers: { 'content-type': 'text/plain' },
    });
    expect(answer.status).toBe(201);
  });
});

describe('failed authentication', () => {
  it(`answers 429 with Retry-After after ${AUTH_FAILURES_PER_MINUTE} failures from one address in a minute, and still serves a valid key from it`, async () => {
    const { api, w } = await open({ useClock: true });
    const statuses = new Set<number>();
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) {
      statuses.add((await call(api, 'GET', '/v1/users/u-1', { key: `wrong-key-${i}` })).status);
    }
    expect([...statuses]).toEqual([401]);
    const window = Math.floor(w.clock.now / 60_000);
    const retryAfter = Math.max(1, Math.ceil(((window + 1) * 60_000 - w.clock.now) / 1000));
    for (const key of ['wrong-key-x', null]) {
      const limited = await call(api, 'GET', '/v1/users/u-1', { key });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe(String(retryAfter));
      expect(limited.json).toEqual({
        error: {
          code: 'too_many_failed_authentications',
          message: `Too many requests without a valid API key from this address: at most ${AUTH_FAILURES_PER_MINUTE} per minute. Retry in ${retryAfter} s.`,
        },
      });
    }
    // One small counter per address and minute, expiring with it; a valid key added nothing to it.
    const counter = w.keys.apiAuthFailures('127.0.0.1', window);
    expect(await w.redis.get(counter)).toBe(String(AUTH_FAILURES_PER_MINUTE + 2));
    expect(await w.redis.pttl(counter)).toBeGreaterThan(59_000);
    expect((await call(api, 'GET', '/v1/users/nobody', { key: KEY_A })).status).toBe(404);
    expect(await w.redis.get(counter)).toBe(String(AUTH_FAILURES_PER_MINUTE + 2));
    // Another address is counted on its own; the next minute starts afresh.
    expect(await wrongKeyFromAnotherAddress(api)).toBe(401);
    w.clock.now += 60_000;
    expect((await call(api, 'GET', '/v1/users/u-1', { key: 'wrong-key-y' })).status).toBe(401);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After once a key used up its minute', async () => {
    // A fixed clock: the four requests cannot straddle a minute boundary.
    const { api, w } = await open({ config: testConfig({ acmeRequestsPerMinute: 3 }), useClock: true });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(api, 'GET', '/v1/users/nobody')).status);
    expect(statuses).toEqual([404, 404, 404]);
    const limited = await call(api, 'GET', '/v1/users/nobody');
    expect(limited.status).toBe(429);
    const retryAfter = Math.ceil((Math.floor(w.clock.now / 60_000 + 1) * 60_000 - w.clock.now) / 1000);
    expect(limited.headers.get('retry-after')).toBe(String(Math.max(1, retryAfter)));
    expect(limited.json).toEqual({
      error: {
        code: 'rate_limited',
        message: `Too many requests: at most 3 per minute. Retry in ${Math.max(1, retryAfter)} s.`,
      },
    });
    // The limit is per key: the workspace's other key and the other workspace's key still work.
    expect((await call(api, 'GET', '/v1/users/nobody', { key: KEY_A2 })).status).toBe(404);
    expect((await call(api, 'GET', '/v1/users/nobody', { key: KEY_B })).status).toBe(404);
    // The next window starts afresh.
    w.clock.now += 60_000;
    expect((await call(api, 'GET', '/v1/users/nobody')).status).toBe(404);
  });
});
