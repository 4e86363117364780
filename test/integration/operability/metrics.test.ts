// /metrics after real traffic: the counters an operator alerts on, by their labels; clean under
// `promtool check metrics`; behind METRICS_TOKEN when it is set; and a dead letter's error line.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { sendJson, startFakeOperatorApi, type FakeOperatorApi } from '../../fakes/operator-api.js';
import { botYaml } from '../../support/config.js';
import { startHarness } from '../../support/harness.js';
import { newSid } from '../../support/webhooks.js';
import { DialogHarness } from '../dialog/helpers.js';
import { account } from '../auth/helpers.js';

const TOKEN = 'metrics-token-0123456789abcdef';

function opsBot(api: string, bank: string): string {
  return botYaml(
    'ops',
    `    auth:
      bank-login:
        type: login
        url: ${bank}/auth/token
        fields:
          - { name: username, prompt: "Username?" }
          - { name: password, prompt: "Password?", secret: true }
        token: { path: access_token }
        ttl: 600
        userIdPath: user.id
        maxAttempts: 2
        lockout: 900
    flows:
      main:
        - ask: { prompt: "Which?", save: pick }
        - switch: { value: "{{pick}}", cases: { broken: broken, fine: fine, login: login, spin: spin } }
        - end: "No such thing."
      broken:
        - request: { method: GET, url: "${api}/v1/broken" }
        - end: "Unreachable."
      fine:
        - request: { method: GET, url: "${api}/v1/fine" }
        - end: "Fine."
      login:
        - auth: bank-login
        - end: "Welcome."
      spin:
        - set: { turns: "more" }
        - goto: spin`,
  );
}

let api: FakeOperatorApi;
let bank: FakeAuthService;
let h: DialogHarness;
let text: string;

async function scrape(authorization?: string): Promise<Response> {
  return fetch(`${h.url}/metrics`, authorization ? { headers: { authorization } } : {});
}

/** The samples of one metric, as `{labels} value` lines. */
function samples(name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => l.slice(name.length))
    .sort();
}

beforeAll(async () => {
  api = await startFakeOperatorApi({
    'GET /v1/broken': (_req, res) => sendJson(res, 500, { error: 'down' }),
    'GET /v1/fine': (_req, res) => sendJson(res, 200, {}),
  });
  bank = await startFakeAuthService([account('olive')]);
  const base = await startHarness({
    bots: opsBot(api.url, bank.url),
    allowHosts: ['127.0.0.1'],
    label: 'ops-metrics',
    env: { METRICS_TOKEN: TOKEN },
    gateway: { web: true, workers: true },
  });
  h = new DialogHarness(base, base.main);

  // Traffic: a protected API failing and answering, a lockout, an opt-out, a dead letter, a refused send.
  const a = h.sms();
  await a.send('hi');
  await a.send('broken');
  await a.send('hi');
  await a.send('fine');
  const b = h.sms();
  await b.send('hi');
  await b.send('login');
  await b.send('olive');
  await b.send('wrong-1');
  await b.send('olive');
  await b.send('wrong-2');
  const c = h.sms();
  await c.send('hi');
  await c.send('STOP');
  h.twilio.failNext({ status: 400 });
  const d = h.sms();
  await d.post('hi');
  await h.logs.waitForMessage('reply not delivered', (l) => l.conversation === h.cid('ops', d.identity));
  text = await (await scrape(`Bearer ${TOKEN}`)).text();
});

afterAll(async () => {
  await h?.close();
  await api?.close();
  await bank?.close();
});

describe('/metrics after traffic', () => {
  it('counts request steps by bot and status class', () => {
    expect(samples('switchboard_api_requests_total')).toEqual([
      '{bot="ops",status_class="2xx"} 1',
      '{bot="ops",status_class="5xx"} 1',
    ]);
  });

  it('counts auth results by component, lockouts by component and limit, opt-outs by change', () => {
    expect(samples('switchboard_auth_results_total')).toEqual([
      '{component="bank-login",component_type="login",result="wrong_credentials"} 2',
    ]);
    expect(samples('switchboard_lockouts_total')).toEqual([
      '{bot="ops",component="bank-login",limit="identity"} 1',
    ]);
    expect(samples('switchboard_opt_outs_total')).toEqual(['{bot="ops",channel="sms",change="out"} 1']);
  });

  it("counts refused sends by the provider's error code", () => {
    expect(samples('switchboard_send_errors_total')).toEqual(['{channel="sms",error_code="21211"} 1']);
  });

  it('has the queue depth and the age of the oldest waiting turn, and none of the misnamed default gauges', () => {
    expect(samples('switchboard_queue_oldest_waiting_seconds')).toEqual([
      '{queue="conversations"} 0',
      '{queue="sends"} 0',
    ]);
    expect(text).not.toMatch(/^switchboard_nodejs_active_\w+_total/m);
    expect(text).toMatch(/^switchboard_nodejs_active_handles\{type="\w+"\} \d+$/m);
  });

  it('passes promtool check metrics: exit 0, nothing printed', () => {
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.error).toBeUndefined();
    expect({ status: lint.status, stdout: lint.stdout, stderr: lint.stderr }).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
  });
});

describe('a dead letter', () => {
  it('is an error line with bot, channel, conversation, flow, step and reason, and is counted', async () => {
    const c = h.sms();
    const cid = h.cid('ops', c.identity);
    await c.send('hi');
    const sid = newSid();
    await c.post('spin', { MessageSid: sid });
    expect(await h.base.waitForTurn(sid)).toMatchObject({ outcome: 'dead-lettered' });
    const [line] = h.logs.find('turn dead-lettered', (l) => l.conversation === cid);
    const { timestamp, reason, ...rest } = line!;
    expect(typeof timestamp).toBe('string');
    expect(rest).toEqual({
      level: 'error',
      message: 'turn dead-lettered',
      service: 'switchboard',
      conversation: cid,
      bot: 'ops',
      channel: 'sms',
      flow: 'main',
      step: 0,
      event: sid,
    });
    expect(reason).toMatch(/^DialogError: /);
    text = await (await scrape(`Bearer ${TOKEN}`)).text();
    expect(samples('switchboard_dead_letters_total')).toEqual(['{bot="ops",channel="sms"} 1']);
  });
});

describe('METRICS_TOKEN', () => {
  it('without the token /metrics is 401 with a sentence saying what to send', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${TOKEN}`]) {
      const res = await scrape(authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await res.text()).toBe(
        'Unauthorized: /metrics needs the header Authorization: Bearer <METRICS_TOKEN>.',
      );
    }
    const res = await scrape(`Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('leaves health and readiness open', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
  });
});
