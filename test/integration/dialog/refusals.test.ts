// Requests the outbound guard refuses (host not allowed, a private address not listed, off-host redirect) end with the clean error.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RequestOptions, WorkspaceConfig } from '../../../src/config/index.js';
import { sendJson, startFakeOperatorApi, type FakeOperatorApi } from '../../fakes/operator-api.js';
import { botYaml } from '../../support/config.js';
import { HANGUP, say, startDialogHarness, twiml, type DialogHarness } from './helpers.js';

/**
 * Name resolution for the outbound client: every name under `operator.test` resolves to 127.0.0.1 (where
 * the fake operator API listens), as an internal DNS name or a rebinding attack would. Everything else
 * (localhost, Redis) resolves as usual. Only modules vitest loads (Switchboard's src/) see this mock.
 */
const lookups = vi.hoisted(() => [] as string[]);
vi.mock('node:dns', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns')>();
  const lookup = ((hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
    lookups.push(hostname);
    if (hostname.endsWith('.operator.test')) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
    return (real.lookup as (...args: unknown[]) => void)(hostname, options, callback);
  }) as typeof real.lookup;
  return { ...real, lookup, default: { ...real, lookup } };
});

const UNAVAILABLE = 'Sorry, that service is not available right now. Please try again later.';

function guardedBot(port: number): string {
  const step = (name: string, url: string) => `      ${name}:
        - request: { method: GET, url: "${url}", save: { status: "status" } }
        - end: "The ${name} host answered {{status}}."`;
  return botYaml(
    'guarded',
    `    flows:
      main:
        - ask: { prompt: "Which host?", save: pick }
        - switch: { value: "{{pick}}", cases: { listed: listed, moved: moved, wildcard: wildcard, literal: literal, partner: partner, redirect: redirect } }
        - end: "No such host."
${step('listed', `http://exact.operator.test:${port}/v1/ok`)}
${step('moved', `http://exact.operator.test:${port}/v1/moved`)}
${step('wildcard', `http://api.operator.test:${port}/v1/ok`)}
${step('literal', `http://localhost:${port}/v1/ok`)}
${step('partner', `http://partner.example:${port}/v1/ok`)}
${step('redirect', `http://exact.operator.test:${port}/v1/redirect`)}`,
  );
}

/** The request step of a flow in the loaded configuration, to change what check-config already refuses. */
function requestOf(h: { config: DialogHarness['config'] }, flow: string): RequestOptions {
  const step = h.config.bots.guarded!.flows[flow]![0]!;
  if (!('request' in step)) throw new Error(`flow ${flow} does not start with a request`);
  return step.request;
}

let api: FakeOperatorApi;
let h: DialogHarness;

beforeAll(async () => {
  api = await startFakeOperatorApi();
  api.route('GET', '/v1/ok', (_req, res) => sendJson(res, 200, { status: 'ok' }));
  api.route('GET', '/v1/moved', (_req, res) => {
    res.writeHead(302, { location: '/v1/ok' }).end();
  });
  api.route('GET', '/v1/redirect', (_req, res) => {
    // localhost is in allowHosts too: the redirect is refused for leaving the host, not for where it goes.
    res.writeHead(302, { location: `http://localhost:${api.port}/v1/ok` }).end();
  });
  h = await startDialogHarness({
    bots: guardedBot(api.port),
    // 127.0.0.1 is not listed: loopback is reachable only when the address itself is listed.
    allowHosts: ['*.operator.test', 'exact.operator.test', 'localhost', 'partner.example'],
    label: 'refusals',
    adjust: (config) => {
      // What check-config refuses, built by hand to reach the run-time guard behind it:
      // a URL on 127.0.0.1 while only localhost is listed,
      requestOf({ config }, 'literal').url = `http://127.0.0.1:${api.port}/v1/ok`;
      // and a host the workspace no longer lists.
      const workspace = config.workspaces.test!;
      workspace.allowHosts = workspace.allowHosts.filter((host) => host !== 'partner.example');
    },
  });
});

afterAll(async () => {
  await h?.close();
  await api?.close();
});

let requestsBefore = 0;
let connectionsBefore = 0;
beforeEach(() => {
  requestsBefore = api.requests.length;
  connectionsBefore = api.connections();
  lookups.length = 0;
});

const received = () => api.requests.slice(requestsBefore).map((r) => `${r.method} ${r.url}`);

/** Runs `body` with the test workspace changed as `change` says, then puts the configuration back. */
async function withWorkspace(
  change: (workspace: WorkspaceConfig) => WorkspaceConfig,
  body: () => Promise<void>,
): Promise<void> {
  const config = h.config;
  h.gateway!.reload({ ...config, workspaces: { test: change(config.workspaces.test!) } });
  try {
    await body();
  } finally {
    h.gateway!.reload(config);
  }
}

const withLoopbackListed = (body: () => Promise<void>) =>
  withWorkspace((w) => ({ ...w, allowHosts: [...w.allowHosts, '127.0.0.1'] }), body);

async function ask(pick: string): Promise<string[]> {
  const c = h.sms();
  expect(await c.send('hi')).toEqual(['Which host?']);
  return c.send(pick);
}

describe('the outbound guard', () => {
  it('control: with the address listed, a listed name reaches the fake API on loopback and a same-host redirect is followed', async () => {
    await withLoopbackListed(async () => {
      expect(await ask('listed')).toEqual(['The listed host answered ok.']);
      expect(await ask('moved')).toEqual(['The moved host answered ok.']);
      expect(received()).toEqual(['GET /v1/ok', 'GET /v1/moved', 'GET /v1/ok']);
    });
  });

  it('control: a private range in allowPrivateAddresses lets a listed name reach its address', async () => {
    await withWorkspace(
      (w) => ({ ...w, allowPrivateAddresses: ['127.0.0.0/8'] }),
      async () => {
        expect(await ask('listed')).toEqual(['The listed host answered ok.']);
        expect(received()).toEqual(['GET /v1/ok']);
      },
    );
  });

  it('refuses a name listed exactly that resolves to loopback, and logs why', async () => {
    expect(await ask('listed')).toEqual([UNAVAILABLE]);
    expect(lookups).toContain('exact.operator.test');
    expect(received()).toEqual([]);
    expect(api.connections()).toBe(connectionsBefore);
    const line = await h.logs.waitForMessage('bot configuration problem at run time', (l) =>
      String(l.problem).includes('exact.operator.test'),
    );
    expect(line.problem).toBe(
      'request refused: outbound call to exact.operator.test refused: loopback address 127.0.0.1 is not listed in allowHosts or allowPrivateAddresses',
    );
  });

  it('refuses a host that is not in allowHosts, before any lookup or connection', async () => {
    expect(requestOf(h, 'partner').url).toBe(`http://partner.example:${api.port}/v1/ok`);
    expect(await ask('partner')).toEqual([UNAVAILABLE]);
    expect(lookups).not.toContain('partner.example');
    expect(received()).toEqual([]);
    expect(api.connections()).toBe(connectionsBefore);
  });

  it('refuses 127.0.0.1 when only names are listed', async () => {
    expect(await ask('literal')).toEqual([UNAVAILABLE]);
    expect(received()).toEqual([]);
    expect(api.connections()).toBe(connectionsBefore);
  });

  it('refuses a wildcard-allowed name that resolves to loopback (valid for check-config, refused at run time)', async () => {
    expect(await ask('wildcard')).toEqual([UNAVAILABLE]);
    expect(lookups).toContain('api.operator.test');
    expect(received()).toEqual([]);
    expect(api.connections()).toBe(connectionsBefore);
  });

  it('does not follow a redirect to another host, even one in allowHosts', async () => {
    await withLoopbackListed(async () => {
      expect(await ask('redirect')).toEqual([UNAVAILABLE]);
      expect(received()).toEqual(['GET /v1/redirect']);
      expect(lookups).not.toContain('localhost');
    });
  });

  it('on voice the caller hears the same clean error and the call ends', async () => {
    const c = h.call();
    await c.start();
    expect(await c.speak('wildcard')).toBe(twiml(say(UNAVAILABLE), HANGUP));
    expect(received()).toEqual([]);
  });
});
