// Outbound calls against real HTTP servers on loopback: allowHosts, private addresses, redirects, timeouts, errors.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  OutboundNetworkError,
  OutboundRefusedError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from '../../src/net/errors.js';
import { createOutboundClient } from '../../src/net/outbound.js';
import { sendJson, startFakeOperatorApi, type FakeOperatorApi } from '../fakes/operator-api.js';

const client = createOutboundClient();
const LOOPBACK = ['127.0.0.1'];
const started: FakeOperatorApi[] = [];

async function fake(...args: Parameters<typeof startFakeOperatorApi>): Promise<FakeOperatorApi> {
  const server = await startFakeOperatorApi(...args);
  started.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('allowed calls', () => {
  it('sends headers, query and a JSON body and parses the JSON answer', async () => {
    const api = await fake({
      'POST /v1/payments/last': (_req, res) => sendJson(res, 200, { amount: 42.5, payee: 'Ann' }),
    });
    const response = await client.send({
      method: 'post',
      url: `${api.url}/v1/payments/last?a=1`,
      headers: { Authorization: 'Bearer tok-1', 'X-Trace': 'abc' },
      body: { member: '123', nested: { ok: true, n: [1, 2] } },
      query: { b: 'two words', a: 'replaced' },
      timeoutMs: 2000,
      allowHosts: LOOPBACK,
    });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ amount: 42.5, payee: 'Ann' });
    expect(response.headers['content-type']).toBe('application/json');
    expect(api.requests).toHaveLength(1);
    const [received] = api.requests;
    expect(received?.method).toBe('POST');
    expect(received?.url).toBe('/v1/payments/last?a=replaced&b=two+words');
    expect(received?.headers['authorization']).toBe('Bearer tok-1');
    expect(received?.headers['x-trace']).toBe('abc');
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.body).toBe('{"member":"123","nested":{"ok":true,"n":[1,2]}}');
  });

  it('sends a string body as is and returns a non-JSON answer as text', async () => {
    const api = await fake({
      'PUT /raw': (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`got ${req.body}`);
      },
    });
    const response = await client.send({
      method: 'PUT',
      url: `${api.url}/raw`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=2',
      timeoutMs: 2000,
      allowHosts: LOOPBACK,
    });
    expect(response.text).toBe('got a=1&b=2');
    expect(response.json).toBeUndefined();
    expect(api.requests[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('returns a 5xx or 4xx answer instead of throwing', async () => {
    const api = await fake({
      'GET /down': (_req, res) => sendJson(res, 503, { error: 'maintenance' }),
      'GET /denied': (_req, res) => sendJson(res, 401, { error: 'bad token' }),
    });
    const down = await client.send({
      method: 'GET',
      url: `${api.url}/down`,
      timeoutMs: 2000,
      allowHosts: LOOPBACK,
    });
    expect(down.status).toBe(503);
    expect(down.json).toEqual({ error: 'maintenance' });
    const denied = await client.send({
      method: 'GET',
      url: `${api.url}/denied`,
      timeoutMs: 2000,
      allowHosts: LOOPBACK,
    });
    expect(denied.status).toBe(401);
  });
});

describe('allowHosts and private addresses', () => {
  it('refuses a host not in allowHosts without connecting', async () => {
    const api = await fake({ 'GET /x': (_req, res) => sendJson(res, 200, {}) });
    const call = client.send({
      method: 'GET',
      url: `${api.url}/x?token=secret-in-query`,
      headers: { authorization: 'Bearer secret-in-header' },
      timeoutMs: 2000,
      allowHosts: ['api.acme.example', '*.acme.example'],
    });
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect((error as OutboundRefusedError).retryable).toBe(false);
    expect((error as Error).message).toContain('127.0.0.1');
    expect((error as Error).message).not.toContain('secret');
    expect(api.requests).toHaveLength(0);
    expect(api.connections()).toBe(0);
  });

  it('refuses 127.0.0.1 unless it is listed exactly', async () => {
    const api = await fake({ 'GET /x': (_req, res) => sendJson(res, 200, { ok: true }) });
    const url = `${api.url}/x`;
    await expect(
      client.send({ method: 'GET', url, timeoutMs: 2000, allowHosts: ['*.0.0.1', 'api.acme.example'] }),
    ).rejects.toBeInstanceOf(OutboundRefusedError);
    expect(api.connections()).toBe(0);
    const response = await client.send({ method: 'GET', url, timeoutMs: 2000, allowHosts: ['127.0.0.1'] });
    expect(response.json).toEqual({ ok: true });
  });

  it('refuses localhost (which resolves to loopback) unless its address is listed too', async () => {
    const api = await fake({ 'GET /x': (_req, res) => sendJson(res, 200, { ok: true }) });
    const url = `http://localhost:${api.port}/x`;
    await expect(
      client.send({ method: 'GET', url, timeoutMs: 2000, allowHosts: ['*.localhost', 'localhost.example'] }),
    ).rejects.toThrow(/not in allowHosts/);
    // Allowed by name, then refused after resolution: the address check, not the name check.
    await expect(
      client.send({ method: 'GET', url, timeoutMs: 2000, allowHosts: ['localhost'] }),
    ).rejects.toThrow(
      /^outbound call to localhost refused: loopback address (127\.0\.0\.1|::1) is not listed/,
    );
    expect(api.connections()).toBe(0);
    const response = await client.send({
      method: 'GET',
      url,
      timeoutMs: 2000,
      allowHosts: ['localhost', '127.0.0.1', '::1'],
    });
    expect(response.json).toEqual({ ok: true });
  });

  it('refuses a name that resolves to a private address, even listed exactly, unless the address is allowed', async () => {
    const api = await fake({ 'GET /x': (_req, res) => sendJson(res, 200, { ok: true }) });
    const url = `http://api.acme.example:${api.port}/x`;
    const rebinding = createOutboundClient({
      resolve: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
    await expect(
      rebinding.send({ method: 'GET', url, timeoutMs: 2000, allowHosts: ['*.acme.example'] }),
    ).rejects.toBeInstanceOf(OutboundRefusedError);

    const toLoopback = createOutboundClient({ resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const byName = await toLoopback
      .send({ method: 'GET', url, timeoutMs: 2000, allowHosts: ['api.acme.example'] })
      .catch((e: unknown) => e);
    expect(byName).toBeInstanceOf(OutboundRefusedError);
    expect((byName as Error).message).toBe(
      'outbound call to api.acme.example refused: loopback address 127.0.0.1 is not listed in allowHosts or allowPrivateAddresses',
    );
    expect(api.connections()).toBe(0);

    // The address listed in allowHosts, or inside a range of allowPrivateAddresses: both explicit.
    const byAddress = await toLoopback.send({
      method: 'GET',
      url,
      timeoutMs: 2000,
      allowHosts: ['*.acme.example', '127.0.0.1'],
    });
    expect(byAddress.status).toBe(200);
    const byRange = await toLoopback.send({
      method: 'GET',
      url,
      timeoutMs: 2000,
      allowHosts: ['api.acme.example'],
      allowPrivateAddresses: ['127.0.0.0/8'],
    });
    expect(byRange.status).toBe(200);
    expect(api.requests.map((r) => r.headers['host'])).toEqual([
      `api.acme.example:${api.port}`,
      `api.acme.example:${api.port}`,
    ]);
  });

  it('refuses a name that resolves to a cloud metadata address, whatever range is allowed', async () => {
    const metadata = createOutboundClient({
      resolve: async () => [{ address: '169.254.169.254', family: 4 }],
    });
    await expect(
      metadata.send({
        method: 'GET',
        url: 'http://metadata.acme.example/latest/meta-data/',
        timeoutMs: 2000,
        allowHosts: ['metadata.acme.example'],
        allowPrivateAddresses: ['169.254.0.0/16'],
      }),
    ).rejects.toThrow(
      'outbound call to metadata.acme.example refused: cloud metadata address 169.254.169.254 is not listed in allowHosts or allowPrivateAddresses',
    );
  });

  it('refuses other schemes, user info, a Host header and a bad URL', async () => {
    const base = { method: 'GET', timeoutMs: 2000, allowHosts: ['127.0.0.1', 'api.acme.example'] };
    await expect(client.send({ ...base, url: 'ftp://api.acme.example/x' })).rejects.toBeInstanceOf(
      OutboundRefusedError,
    );
    await expect(client.send({ ...base, url: 'https://u:p@api.acme.example/x' })).rejects.toBeInstanceOf(
      OutboundRefusedError,
    );
    await expect(
      client.send({ ...base, url: 'http://127.0.0.1:9/x', headers: { Host: 'internal' } }),
    ).rejects.toBeInstanceOf(OutboundRefusedError);
    await expect(client.send({ ...base, url: 'not a url' })).rejects.toBeInstanceOf(OutboundRefusedError);
  });
});

describe('redirects', () => {
  it('follows a same-host redirect, keeping the method after 307 and turning a POST into a GET after 302', async () => {
    const api = await fake({
      'POST /old': (_req, res) => {
        res.writeHead(307, { location: '/new' });
        res.end();
      },
      'POST /new': (req, res) => sendJson(res, 200, { got: req.body }),
      'POST /form': (_req, res) => {
        res.writeHead(302, { location: `${api.url}/done?x=1` });
        res.end();
      },
      'GET /done': (req, res) => sendJson(res, 200, { method: req.method, body: req.body }),
    });
    const kept = await client.send({
      method: 'POST',
      url: `${api.url}/old`,
      body: { a: 1 },
      timeoutMs: 2000,
      allowHosts: LOOPBACK,
    });
    expect(kept.json).toEqual({ got: '{"a":1}' });
    const changed = await client.send({
      method: 'POST',
      url: `${api.url}/form`,
      body: { a: 1 },
      timeoutMs: 2000,
      allowHosts: LOOPBACK,
    });
    expect(changed.json).toEqual({ method: 'GET', body: '' });
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /old',
      'POST /new',
      'POST /form',
      'GET /done?x=1',
    ]);
  });

  it('does not follow a redirect to another host or port', async () => {
    const other = await fake({ 'GET /steal': (_req, res) => sendJson(res, 200, {}) });
    const api = await fake({
      'GET /to-localhost': (_req, res) => {
        res.writeHead(302, { location: `http://localhost:${other.port}/steal` });
        res.end();
      },
      'GET /to-port': (_req, res) => {
        res.writeHead(301, { location: `http://127.0.0.1:${other.port}/steal` });
        res.end();
      },
    });
    await expect(
      client.send({
        method: 'GET',
        url: `${api.url}/to-localhost`,
        timeoutMs: 2000,
        allowHosts: ['127.0.0.1', 'localhost'],
      }),
    ).rejects.toThrow(/redirect to another host/);
    const error = await client
      .send({ method: 'GET', url: `${api.url}/to-port`, timeoutMs: 2000, allowHosts: LOOPBACK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect(other.connections()).toBe(0);
    expect(api.requests).toHaveLength(2);
  });

  it('stops after maxRedirects', async () => {
    const api = await fake({
      'GET /loop': (_req, res) => {
        res.writeHead(302, { location: '/loop' });
        res.end();
      },
    });
    const limited = createOutboundClient({ maxRedirects: 2 });
    await expect(
      limited.send({ method: 'GET', url: `${api.url}/loop`, timeoutMs: 2000, allowHosts: LOOPBACK }),
    ).rejects.toThrow(/more than 2 redirects/);
    expect(api.requests).toHaveLength(3);
  });
});

describe('timeouts and network failures', () => {
  it('times out quickly when the server never answers', async () => {
    const api = await fake({ 'GET /hold': () => undefined });
    const start = Date.now();
    const error = await client
      .send({ method: 'GET', url: `${api.url}/hold`, timeoutMs: 200, allowHosts: LOOPBACK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundTimeoutError);
    expect((error as OutboundTimeoutError).retryable).toBe(true);
    expect(Date.now() - start).toBeLessThan(1500);
  });

  it('times out when the body stalls after the headers', async () => {
    const api = await fake({
      'GET /slow-body': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial":');
      },
    });
    await expect(
      client.send({ method: 'GET', url: `${api.url}/slow-body`, timeoutMs: 200, allowHosts: LOOPBACK }),
    ).rejects.toBeInstanceOf(OutboundTimeoutError);
  });

  it('raises OutboundNetworkError when the connection is refused', async () => {
    const port = await closedPort();
    const error = await client
      .send({
        method: 'GET',
        url: `http://127.0.0.1:${port}/x?k=secret`,
        timeoutMs: 2000,
        allowHosts: LOOPBACK,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundNetworkError);
    expect((error as OutboundNetworkError).code).toBe('ECONNREFUSED');
    expect((error as OutboundNetworkError).retryable).toBe(true);
    expect((error as Error).message).not.toContain('secret');
  });

  it('raises OutboundNetworkError when the server drops the connection mid-answer', async () => {
    const api = await fake({
      'GET /drop': (_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('short');
        setImmediate(() => res.destroy());
      },
    });
    await expect(
      client.send({ method: 'GET', url: `${api.url}/drop`, timeoutMs: 2000, allowHosts: LOOPBACK }),
    ).rejects.toBeInstanceOf(OutboundNetworkError);
  });

  it('cuts off a response over maxResponseBytes, declared or streamed', async () => {
    const api = await fake({
      'GET /declared': (_req, res) => sendJson(res, 200, { blob: 'x'.repeat(2000) }),
      'GET /streamed': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('y'.repeat(800));
        res.end('y'.repeat(800));
      },
      'GET /small': (_req, res) => sendJson(res, 200, { ok: true }),
    });
    const small = createOutboundClient({ maxResponseBytes: 1024 });
    await expect(
      small.send({ method: 'GET', url: `${api.url}/declared`, timeoutMs: 2000, allowHosts: LOOPBACK }),
    ).rejects.toBeInstanceOf(OutboundResponseTooLargeError);
    await expect(
      small.send({ method: 'GET', url: `${api.url}/streamed`, timeoutMs: 2000, allowHosts: LOOPBACK }),
    ).rejects.toBeInstanceOf(OutboundResponseTooLargeError);
    const ok = await small.send({
      method: 'GET',
      url: `${api.url}/small`,
      timeoutMs: 2000,
      allowHosts: LOOPBACK,
    });
    expect(ok.json).toEqual({ ok: true });
  });

  it('refuses a header value node would reject, without quoting it', async () => {
    const error = await client
      .send({
        method: 'GET',
        url: 'http://127.0.0.1:9/x',
        headers: { authorization: 'Bearer secret\r\nX-Evil: 1' },
        timeoutMs: 2000,
        allowHosts: LOOPBACK,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect((error as Error).message).not.toContain('secret');
  });
});
