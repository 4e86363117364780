// The request step against a fake operator API: saved paths, timeout, GET retries on 503, no POST retry, onError.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJson, startFakeOperatorApi, type FakeOperatorApi } from '../../fakes/operator-api.js';
import { botYaml } from '../../support/config.js';
import { startDialogHarness, type DialogHarness } from './helpers.js';

const UNAVAILABLE = 'Sorry, that service is not available right now. Please try again later.';

function apiBot(api: string): string {
  return botYaml(
    'api',
    `    flows:
      main:
        - ask: { prompt: "Which call?", save: pick }
        - switch: { value: "{{pick}}", cases: { nested: nested, slow: slow, flaky: flaky, broken: broken, post: posting, rescued: rescued } }
        - end: "No such call."
      nested:
        - request:
            method: GET
            url: ${api}/v1/profile
            save: { city: "data.address.city", first: "data.items[0].name", second: "data.items.1.name", tag: "data.items[1].tags[0]", count: "data.count", missing: "data.nothing.here" }
        - end: "City {{city}}; first {{first}}; second {{second}}; tag {{tag}}; count {{count}}; missing [{{missing}}]."
      slow:
        - request: { method: GET, url: "${api}/v1/slow", timeout: 0.3 }
        - end: "Unreachable."
      flaky:
        - request: { method: GET, url: "${api}/v1/flaky", retry: 2, save: { status: "status" } }
        - end: "Status {{status}}."
      broken:
        - request: { method: GET, url: "${api}/v1/broken", retry: 2 }
        - end: "Unreachable."
      posting:
        - request: { method: POST, url: "${api}/v1/orders", body: { item: "{{pick}}" } }
        - end: "Unreachable."
      rescued:
        - request: { method: GET, url: "${api}/v1/slow", timeout: 0.3, onError: fallback }
        - end: "Unreachable."
      fallback:
        - say: "The service is slow; here is the fallback."
        - end: "Bye."`,
  );
}

let api: FakeOperatorApi;
let h: DialogHarness;

beforeAll(async () => {
  api = await startFakeOperatorApi();
  h = await startDialogHarness({ bots: apiBot(api.url), allowHosts: ['127.0.0.1'], label: 'requests' });
});

afterAll(async () => {
  await h?.close();
  await api?.close();
});

let mark = 0;
beforeEach(() => {
  mark = api.requests.length;
});

/** The requests the fake operator API received since the test began, as "METHOD /path". */
const received = () => api.requests.slice(mark).map((r) => `${r.method} ${r.url}`);

describe('request', () => {
  it('save reads nested objects and array items ([0] and .1); a missing path is empty', async () => {
    api.route('GET', '/v1/profile', (_req, res) =>
      sendJson(res, 200, {
        data: {
          address: { city: 'Leeds' },
          items: [{ name: 'current' }, { name: 'savings', tags: ['joint', 'old'] }],
          count: 2,
        },
      }),
    );
    const c = h.sms();
    expect(await c.send('hi')).toEqual(['Which call?']);
    expect(await c.send('nested')).toEqual([
      'City Leeds; first current; second savings; tag joint; count 2; missing [].',
    ]);
    expect(received()).toEqual(['GET /v1/profile']);
  });

  it('a call that does not answer within its timeout fails with the clean error', async () => {
    api.route('GET', '/v1/slow', () => undefined); // holds the request open
    const c = h.sms();
    await c.send('hi');
    const started = Date.now();
    expect(await c.send('slow')).toEqual([UNAVAILABLE]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(received()).toEqual(['GET /v1/slow']);
    expect(await h.redis.exists(h.keys.state(h.cid('api', c.identity)))).toBe(0);
  });

  it('a GET answered 503 is retried (retry: 2) and the third answer is used', async () => {
    let calls = 0;
    api.route('GET', '/v1/flaky', (_req, res) => {
      calls += 1;
      if (calls < 3) sendJson(res, 503, { error: 'busy' });
      else sendJson(res, 200, { status: 'ok' });
    });
    const c = h.sms();
    await c.send('hi');
    expect(await c.send('flaky')).toEqual(['Status ok.']);
    expect(received()).toEqual(['GET /v1/flaky', 'GET /v1/flaky', 'GET /v1/flaky']);
  });

  it('a GET that keeps answering 503 is tried 1 + retry times, then the clean error', async () => {
    api.route('GET', '/v1/broken', (_req, res) => sendJson(res, 503, { error: 'down' }));
    const c = h.sms();
    await c.send('hi');
    expect(await c.send('broken')).toEqual([UNAVAILABLE]);
    expect(received()).toEqual(['GET /v1/broken', 'GET /v1/broken', 'GET /v1/broken']);
  });

  it('a POST answered 503 is never repeated', async () => {
    api.route('POST', '/v1/orders', (_req, res) => sendJson(res, 503, { error: 'busy' }));
    const c = h.sms();
    await c.send('hi');
    expect(await c.send('post')).toEqual([UNAVAILABLE]);
    expect(received()).toEqual(['POST /v1/orders']);
    expect(JSON.parse(api.requests[mark]!.body)).toEqual({ item: 'post' });
  });

  it('onError: a call that fails for good continues in the named flow', async () => {
    api.route('GET', '/v1/slow', () => undefined);
    const c = h.sms();
    await c.send('hi');
    expect(await c.send('rescued')).toEqual(['The service is slow; here is the fallback.', 'Bye.']);
    expect(received()).toEqual(['GET /v1/slow']);
  });
});
