// What an operator reads in the log: every turn that did not succeed is a warn (or an error) naming the bot,
// channel, conversation, flow, step and why; at debug, the text of a turn with its secrets as [secret].
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { sendJson, startFakeOperatorApi, type FakeOperatorApi } from '../../fakes/operator-api.js';
import { botYaml } from '../../support/config.js';
import { freePort, startHarness } from '../../support/harness.js';
import type { LogLine } from '../../support/logs.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { DialogHarness } from '../dialog/helpers.js';
import { account } from '../auth/helpers.js';

const ASK = 'Which?';
const USERNAME = 'What is your username?';
const PASSWORD = 'What is your password?';
const WRONG = "Sorry, those details didn't match. Let's try again.";
/** The bot's maxAttempts is 2: the first wrong password leaves one try. */
const LAST_TRY = '1 attempt left before your account is locked.';
const LOCKED = 'Too many failed attempts. Please try again in 15 minutes.';
const FAILED = 'Sorry, that service is not available right now. Please try again later.';

function opsBot(api: string, bank: string, closedPort: number): string {
  return botYaml(
    'ops',
    `    auth:
      bank-login:
        type: login
        url: ${bank}/auth/token
        fields:
          - { name: username, prompt: "${USERNAME}" }
          - { name: password, prompt: "${PASSWORD}", secret: true }
        token: { path: access_token }
        expiresInPath: expires_in
        ttl: 600
        userIdPath: user.id
        maxAttempts: 2
        lockout: 900
    flows:
      main:
        - ask: { prompt: "${ASK}", save: pick }
        - switch: { value: "{{pick}}", cases: { broken: broken, slow: slow, closed: closed, fine: fine, login: login } }
        - end: "No such thing."
      broken:
        - say: "Looking."
        - request: { method: GET, url: "${api}/v1/broken?account=12345" }
        - end: "Unreachable."
      slow:
        - request: { method: GET, url: "${api}/v1/slow", timeout: 0.3 }
        - end: "Unreachable."
      closed:
        - request: { method: GET, url: "http://127.0.0.1:${closedPort}/v1/nothing" }
        - end: "Unreachable."
      fine:
        - request: { method: GET, url: "${api}/v1/fine", save: { word: "word" } }
        - end: "The word is {{word}}."
      login:
        - auth: bank-login
        - end: "Welcome."`,
  );
}

let api: FakeOperatorApi;
let bank: FakeAuthService;
let h: DialogHarness;
let apiHost: string;

beforeAll(async () => {
  api = await startFakeOperatorApi({
    'GET /v1/broken': (_req, res) => sendJson(res, 500, { error: 'database down' }),
    'GET /v1/slow': () => undefined, // never answers
    'GET /v1/fine': (_req, res) => sendJson(res, 200, { word: 'plover' }),
  });
  apiHost = `127.0.0.1:${api.port}`;
  bank = await startFakeAuthService([account('olive'), account('lucy')]);
  const closedPort = await freePort();
  const base = await startHarness({
    bots: opsBot(api.url, bank.url, closedPort),
    allowHosts: ['127.0.0.1'],
    logLevel: 'debug',
    label: 'ops-logs',
    gateway: { web: true, workers: true },
  });
  h = new DialogHarness(base, base.main);
});

afterAll(async () => {
  await h?.close();
  await api?.close();
  await bank?.close();
});

/** The line's own fields, without the time it was written. */
function fields(line: LogLine | undefined): Record<string, unknown> {
  const { timestamp, ...rest } = line ?? { level: 'none', message: '' };
  expect(typeof timestamp).toBe('string');
  return rest;
}

const lineOf = (message: string, cid: string) => h.logs.find(message, (l) => l.conversation === cid);

describe('a protected API that fails', () => {
  it('answering 500 is a warn with bot, channel, conversation, flow, step, host and status', async () => {
    const c = h.sms();
    const cid = h.cid('ops', c.identity);
    expect(await c.send('hi')).toEqual([ASK]);
    expect(await c.send('broken')).toEqual(['Looking.', FAILED]);
    const lines = lineOf('protected API failed', cid);
    expect(lines.map(fields)).toEqual([
      {
        level: 'warn',
        message: 'protected API failed',
        service: 'switchboard',
        conversation: cid,
        bot: 'ops',
        channel: 'sms',
        flow: 'broken',
        step: 1,
        host: apiHost,
        status: 500,
        reason: 'status',
      },
    ]);
    // The host only: the path and its query (an account number) stay out of the log.
    expect(JSON.stringify(h.logs.lines)).not.toContain('account=12345');
  });

  it('timing out is a warn with the host and reason timeout, and no status', async () => {
    const c = h.sms();
    const cid = h.cid('ops', c.identity);
    await c.send('hi');
    expect(await c.send('slow')).toEqual([FAILED]);
    expect(lineOf('protected API failed', cid).map(fields)).toEqual([
      {
        level: 'warn',
        message: 'protected API failed',
        service: 'switchboard',
        conversation: cid,
        bot: 'ops',
        channel: 'sms',
        flow: 'slow',
        step: 0,
        host: apiHost,
        reason: 'timeout',
      },
    ]);
  });

  it('unreachable is a warn with the host and the network error', async () => {
    const c = h.sms();
    const cid = h.cid('ops', c.identity);
    await c.send('hi');
    expect(await c.send('closed')).toEqual([FAILED]);
    const [line] = lineOf('protected API failed', cid);
    expect(line).toMatchObject({ level: 'warn', flow: 'closed', step: 0, reason: 'ECONNREFUSED' });
    expect(line!.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(line).not.toHaveProperty('status');
  });

  it('answering 2xx is no warn (a debug line)', async () => {
    const c = h.sms();
    const cid = h.cid('ops', c.identity);
    await c.send('hi');
    expect(await c.send('fine')).toEqual(['The word is plover.']);
    expect(lineOf('protected API failed', cid)).toEqual([]);
    expect(lineOf('protected API answered', cid).map((l) => [l.level, l.status, l.reason])).toEqual([
      ['debug', 200, 'ok'],
    ]);
  });
});

describe('logins', () => {
  it('a wrong password is a warn "auth result" with the component and the user id; the lockout start is a warn with its end', async () => {
    const c = h.sms();
    const cid = h.cid('ops', c.identity);
    const userId = `anon:${new IdentityKeys(h.keys).identityHash('test', c.identity)}`;
    await c.send('hi');
    expect(await c.send('login')).toEqual([USERNAME]);
    expect(await c.send('olive')).toEqual([PASSWORD]);
    expect(await c.send('not-her-password')).toEqual([WRONG, LAST_TRY, USERNAME]);
    const auth = lineOf('auth result', cid);
    expect(auth.map(fields)).toEqual([
      {
        level: 'warn',
        message: 'auth result',
        service: 'switchboard',
        conversation: cid,
        bot: 'ops',
        channel: 'sms',
        componentType: 'login',
        flow: 'login',
        step: 0,
        component: 'bank-login',
        userId,
        result: 'wrong_credentials',
        reason: 'wrong credentials',
      },
    ]);

    expect(await c.send('olive')).toEqual([PASSWORD]);
    expect(await c.send('still-wrong')).toEqual([LOCKED]);
    const [started] = lineOf('lockout started', cid);
    const { until, ...rest } = fields(started);
    expect(rest).toEqual({
      level: 'warn',
      message: 'lockout started',
      service: 'switchboard',
      conversation: cid,
      bot: 'ops',
      channel: 'sms',
      componentType: 'login',
      component: 'bank-login',
      flow: 'login',
      step: 0,
      userId,
      limit: 'identity',
      seconds: 900,
    });
    const end = Date.parse(String(until)) - Date.parse(String(started!.timestamp));
    expect(end).toBeGreaterThan(899_000);
    expect(end).toBeLessThanOrEqual(900_000);
    expect(JSON.stringify(h.logs.lines)).not.toContain('still-wrong');
  });

  it('a login is an info "auth result" with the user the auth service named', async () => {
    const c = h.sms();
    const cid = h.cid('ops', c.identity);
    await c.send('hi');
    await c.send('login');
    await c.send('lucy');
    expect(await c.send('pw-lucy')).toEqual(['Welcome.']);
    expect(lineOf('auth result', cid).map((l) => [l.level, l.component, l.result, l.userId])).toEqual([
      ['info', 'bank-login', 'success', expect.stringContaining('u-lucy')],
    ]);
  });
});

describe('opting out', () => {
  it('STOP is a warn "user opted out"; START an info line', async () => {
    const c = h.sms();
    const cid = h.cid('ops', c.identity);
    expect(await c.send('hi')).toEqual([ASK]);
    await c.send('STOP');
    expect(lineOf('user opted out', cid).map(fields)).toEqual([
      {
        level: 'warn',
        message: 'user opted out',
        service: 'switchboard',
        conversation: cid,
        bot: 'ops',
        channel: 'sms',
        flow: 'main',
        step: 0,
        reason: 'opt-out keyword',
      },
    ]);
    await c.send('START');
    expect(lineOf('user opted in', cid).map((l) => l.level)).toEqual(['info']);
  });
});

describe('at debug', () => {
  it('logs what came in and what went out, a secret answer as [secret]', async () => {
    const c = h.sms();
    const cid = h.cid('ops', c.identity);
    await c.send('hi');
    await c.send('login');
    await c.send('marta');
    await c.send('pw-olive-typed');
    const texts = h.logs.find('message in', (l) => l.conversation === cid).map((l) => [l.level, l.text]);
    expect(texts).toEqual([
      ['debug', 'hi'],
      ['debug', 'login'],
      ['debug', 'marta'],
      ['debug', '[secret]'],
    ]);
    const replies = h.logs.find('replies out', (l) => l.conversation === cid).map((l) => l.text);
    expect(replies).toEqual([[ASK], [USERNAME], [PASSWORD], [WRONG, LAST_TRY, USERNAME]]);
    expect(JSON.stringify(h.logs.lines)).not.toContain('pw-olive-typed');
  });
});
