// No request makes a 5xx (503 aside): absolute-form targets, odd methods, bad escapes, huge headers and bad bodies on every route.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECHO_BOT } from '../../support/bots.js';
import { ACCOUNT_SID, NUMBERS } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { TwilioWebhookClient } from '../../support/webhooks.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends one request exactly as written (target, method, headers) over a socket: `fetch` and
 * `http.request` would rewrite an absolute-form target or refuse a bad one before it left.
 */
function raw(port: number, head: string, body: string | Buffer = ''): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split < 0 ? text.length : split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      resolve({ status, headers, body: split < 0 ? '' : text.slice(split + 4) });
    });
    const length = Buffer.byteLength(body);
    socket.write(`${head}\r\nConnection: close\r\nContent-Length: ${length}\r\n\r\n`);
    socket.write(body); // no half-close: the server would drop the answer; `Connection: close` ends it
  });
}

/** What is wrong with an answer, if anything: it must say what is wrong in a few words of text or JSON. */
function problemWith(what: string, answer: RawAnswer): string | undefined {
  const summary = `${what} -> ${answer.status} ${answer.headers['content-type'] ?? '(no type)'} ${JSON.stringify(answer.body.slice(0, 120))}`;
  if (answer.status < 200) return `no answer: ${summary}`;
  if (answer.status >= 500 && answer.status !== 503) return `5xx: ${summary}`;
  if (/\n\s+at |Error: |node_modules/.test(answer.body)) return `stack trace: ${summary}`;
  if (answer.status < 400 || what.startsWith('HEAD ')) return undefined;
  if (!/^(text\/plain|application\/json)/.test(answer.headers['content-type'] ?? ''))
    return `type: ${summary}`;
  if (answer.body.length === 0 || answer.body.length >= 400) return `body: ${summary}`;
  return undefined;
}

const WEBHOOKS = [
  '/webhooks/sms',
  '/webhooks/whatsapp',
  '/webhooks/voice',
  '/webhooks/voice/gather?turn=1',
  '/webhooks/voice/result?turn=1&hold=2',
  '/webhooks/voice/status',
  '/webhooks/status',
];
const OPERATOR_API = [
  '/v1/users',
  '/v1/users/member-1',
  '/v1/users/member-1/history',
  '/v1/users/member-1/tokens',
  '/v1/users/member-1/tokens/login',
  '/v1/link-codes',
  '/v1/openapi.json',
  '/v1/nothing-here',
];
const OTHERS = ['/healthz', '/readyz', '/metrics', '/', '/nothing-here'];
const SANDBOX = [
  '/simulator',
  '/simulator/app.js',
  '/sandbox/outbox?to=%2B12125551234',
  '/sandbox/bots',
  '/sandbox/simulate/sms',
  '/sandbox/user?channel=sms&address=%2B12125551234',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'HEAD'];
const BODIES: { type: string; body: string | Buffer }[] = [
  { type: 'application/x-www-form-urlencoded', body: 'Body=%E0%A4%A&From=%zz&To' },
  { type: 'application/x-www-form-urlencoded; charset=x-unknown', body: 'Body=hi' },
  { type: 'application/json', body: '{"userId": "x",' },
  { type: 'application/json', body: '[1,2,3]' },
  { type: 'multipart/form-data; boundary=zz', body: '--zz\r\ngarbage' },
  { type: 'application/octet-stream', body: Buffer.from([0, 159, 146, 150, 255, 10, 13]) },
  { type: 'text/xml', body: '<Response><Say>' },
  { type: 'application/x-www-form-urlencoded', body: `Body=${'x'.repeat(70 * 1024)}` },
];

/** Every variant of one route: method, target form, escapes, headers, bodies. */
function variants(port: number, path: string): { what: string; head: string; body?: string | Buffer }[] {
  const host = `Host: 127.0.0.1:${port}`;
  const list: { what: string; head: string; body?: string | Buffer }[] = [];
  for (const method of METHODS)
    list.push({ what: `${method} ${path}`, head: `${method} ${path} HTTP/1.1\r\n${host}` });
  const absolute = `http://127.0.0.1:${port}${path}`;
  list.push(
    { what: `absolute GET ${absolute}`, head: `GET ${absolute} HTTP/1.1\r\n${host}` },
    {
      what: `absolute POST ${absolute}`,
      head: `POST ${absolute} HTTP/1.1\r\n${host}\r\nContent-Type: application/x-www-form-urlencoded`,
      body: `AccountSid=AC0&To=${encodeURIComponent(NUMBERS.sms)}`,
    },
    {
      what: `absolute POST with a signature ${absolute}`,
      head: `POST ${absolute} HTTP/1.1\r\n${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: bm9wZQ==`,
      body: `AccountSid=${ACCOUNT_SID}&To=${encodeURIComponent(NUMBERS.sms)}`,
    },
    {
      what: `absolute other host`,
      head: `POST http://evil.example:81${path} HTTP/1.1\r\nHost: evil.example:81`,
    },
    { what: `https absolute`, head: `POST https://[::1]${path} HTTP/1.1\r\n${host}` },
    { what: `bad escape in path ${path}`, head: `GET ${path}/%E0%A4%A HTTP/1.1\r\n${host}` },
    { what: `bad escape POST ${path}`, head: `POST ${path}%zz HTTP/1.1\r\n${host}` },
    {
      what: `bad escape in query ${path}`,
      head: `POST ${path}${path.includes('?') ? '&' : '?'}turn=%zz&x=%E0%A4%A HTTP/1.1\r\n${host}`,
    },
    {
      what: `asterisk-form (${path})`,
      head: `OPTIONS * HTTP/1.1\r\n${host}\r\nX-Twilio-Signature: bm9wZQ==`,
    },
    { what: `a path of 8 KiB under ${path}`, head: `POST ${path}/${'p'.repeat(8192)} HTTP/1.1\r\n${host}` },
    { what: `unknown method on ${path}`, head: `FROBNICATE ${path} HTTP/1.1\r\n${host}` },
    { what: `not HTTP at all on ${path}`, head: `HELLO ${path} \u0001\r\n${host}` },
    { what: `huge header ${path}`, head: `GET ${path} HTTP/1.1\r\n${host}\r\nX-Big: ${'a'.repeat(20_000)}` },
    {
      what: `huge signature ${path}`,
      head: `POST ${path} HTTP/1.1\r\n${host}\r\nX-Twilio-Signature: ${'a'.repeat(15_000)}`,
    },
    {
      what: `bad authorization ${path}`,
      head: `GET ${path} HTTP/1.1\r\n${host}\r\nAuthorization: Bearer \u00ff\u00fe`,
    },
  );
  for (const { type, body } of BODIES) {
    list.push({
      what: `POST ${path} as ${type} (${Buffer.byteLength(body)} bytes)`,
      head: `POST ${path} HTTP/1.1\r\n${host}\r\nContent-Type: ${type}\r\nX-Twilio-Signature: x\r\nAuthorization: Bearer nope`,
      body,
    });
  }
  return list;
}

/** Sends every variant of every path; returns how many were sent and what was wrong with the answers. */
async function sweep(port: number, paths: string[]): Promise<{ sent: number; problems: string[] }> {
  let sent = 0;
  const problems: string[] = [];
  for (const path of paths) {
    for (const { what, head, body } of variants(port, path)) {
      const problem = problemWith(what, await raw(port, head, body));
      if (problem) problems.push(problem);
      sent++;
    }
  }
  return { sent, problems };
}

/** A public URL with a port: glued to an absolute-form target it made a URL the twilio package threw on. */
const PUBLIC_URL_WITH_PORT = 'https://switchboard.test:8443';

let production: Harness;
let sandbox: Harness;
let webhooks: TwilioWebhookClient;
beforeAll(async () => {
  production = await startHarness({
    bots: ECHO_BOT,
    label: 'no-5xx',
    gateway: { web: true, workers: false },
    env: { PUBLIC_URL: PUBLIC_URL_WITH_PORT },
  });
  webhooks = new TwilioWebhookClient(production.main!.url!, PUBLIC_URL_WITH_PORT);
  sandbox = await startHarness({
    bots: ECHO_BOT,
    label: 'no-5xx-sandbox',
    sandbox: true,
    gateway: { web: true, workers: false },
  });
});
afterAll(async () => {
  await production?.close();
  await sandbox?.close();
});

const portOf = (h: Harness) => h.main!.gateway.port!;

describe('no 5xx on any request', () => {
  it('answers absolute-form targets on every webhook route: signed ones as usual, unsigned ones 403', async () => {
    const port = portOf(production);
    const params = webhooks.smsParams('+12125551234', 'hello');
    const form = new URLSearchParams(params).toString();
    const signature = webhooks.sign('/webhooks/sms', params);
    const head = (target: string, extra = '') =>
      `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded${extra}`;
    const signed = await raw(
      port,
      head(`http://127.0.0.1:${port}/webhooks/sms`, `\r\nX-Twilio-Signature: ${signature}`),
      form,
    );
    expect([signed.status, signed.body]).toEqual([200, '<?xml version="1.0" encoding="UTF-8"?><Response/>']);
    const cid = production.conversation('echo', 'sms:+12125551234');
    expect(await production.redis.llen(production.keys.inbox(cid))).toBe(1);
    // The target's host is not part of what Twilio signed: another host in the target changes nothing.
    const again = await raw(
      port,
      head(`http://elsewhere.example/webhooks/sms`, `\r\nX-Twilio-Signature: ${signature}`),
      form,
    );
    expect(again.status).toBe(200);
    expect(await production.redis.llen(production.keys.inbox(cid))).toBe(1);

    for (const path of WEBHOOKS) {
      const unsigned = await raw(port, head(`http://127.0.0.1:${port}${path}`), form);
      expect([path, unsigned.status, unsigned.body]).toEqual([
        path,
        403,
        'Forbidden: no X-Twilio-Signature header.',
      ]);
      const wrong = await raw(
        port,
        head(`http://127.0.0.1:${port}${path}`, '\r\nX-Twilio-Signature: bm9wZQ=='),
        form,
      );
      expect([path, wrong.status, wrong.body]).toEqual([path, 403, 'Forbidden: signature does not match.']);
    }
  });

  it('gives every route of a production gateway a clear 2xx–4xx (or 503) for anything odd', async () => {
    const { sent, problems } = await sweep(portOf(production), [...WEBHOOKS, ...OPERATOR_API, ...OTHERS]);
    expect(problems).toEqual([]);
    expect(sent).toBe(
      (WEBHOOKS.length + OPERATOR_API.length + OTHERS.length) * (METHODS.length + 15 + BODIES.length),
    );
    expect(production.main!.logs.find('request failed')).toEqual([]);
  });

  it('gives every route of a sandbox gateway (simulator, outbox) a clear 2xx–4xx for anything odd', async () => {
    const { problems } = await sweep(portOf(sandbox), [...SANDBOX, ...WEBHOOKS, ...OTHERS]);
    expect(problems).toEqual([]);
    expect(sandbox.main!.logs.find('request failed')).toEqual([]);
  });
});
