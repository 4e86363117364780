// Outbound connection pooling against real TLS and plain HTTP servers on loopback: a second call to a host
// reuses the connection, a new host or address policy opens (and checks) a new one, pools are bounded and close.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboundNetworkError, OutboundRefusedError } from '../../src/net/errors.js';
import { createOutboundClient, type OutboundClient, type Resolver } from '../../src/net/outbound.js';
import {
  sendJson,
  startFakeOperatorApi,
  type FakeOperatorApi,
  type RouteHandler,
} from '../fakes/operator-api.js';
import { listenOnLoopback } from '../fakes/loopback.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
const cert = fixture('loopback.cert.pem');
const key = fixture('loopback.key.pem');

interface TlsApi {
  port: number;
  /** TCP connections accepted. */
  connections: () => number;
  /** TLS handshakes completed. */
  handshakes: () => number;
  /** The server side of every accepted TLS connection, in order. */
  sockets: TLSSocket[];
  /** Paths and the Host header of each request, in order. */
  requests: string[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<T extends { close(): Promise<void> | void }>(thing: T): T {
  cleanups.push(() => thing.close());
  return thing;
}

/** An HTTPS server on 127.0.0.1 with the test certificate: answers `{ path, host }` as JSON. */
async function startTlsApi(): Promise<TlsApi> {
  let connections = 0;
  const sockets: TLSSocket[] = [];
  const requests: string[] = [];
  const server: Server = createServer({ cert, key }, (req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.host}`);
    req.resume();
    req.on('end', () => sendJson(res, 200, { path: req.url }));
  });
  server.on('connection', () => (connections += 1));
  server.on('secureConnection', (socket: TLSSocket) => sockets.push(socket));
  const port = await listenOnLoopback(server);
  return track({
    port,
    connections: () => connections,
    handshakes: () => sockets.length,
    sockets,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** Names under acme.example resolve to loopback; the test names which private addresses a call may reach. */
const toLoopback: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
const PRIVATE_LOOPBACK = { allowHosts: ['*.acme.example'], allowPrivateAddresses: ['127.0.0.0/8'] };

function client(options: Parameters<typeof createOutboundClient>[0] = {}): OutboundClient {
  return track(createOutboundClient({ ca: cert, resolve: toLoopback, ...options }));
}

describe('pooled TLS connections', () => {
  it('sends a second call to the same host over the connection of the first: one handshake', async () => {
    const api = await startTlsApi();
    const outbound = client();
    const first = await outbound.send({
      method: 'POST',
      url: `https://127.0.0.1:${api.port}/token`,
      body: { grant_type: 'client_credentials' },
      timeoutMs: 2000,
      allowHosts: ['127.0.0.1'],
    });
    const second = await outbound.send({
      method: 'GET',
      url: `https://127.0.0.1:${api.port}/v1/balance`,
      timeoutMs: 2000,
      allowHosts: ['127.0.0.1'],
    });
    expect([first.status, first.json, second.status, second.json]).toEqual([
      200,
      { path: '/token' },
      200,
      { path: '/v1/balance' },
    ]);
    expect(api.requests).toEqual([
      `POST /token 127.0.0.1:${api.port}`,
      `GET /v1/balance 127.0.0.1:${api.port}`,
    ]);
    expect(api.connections()).toBe(1);
    expect(api.handshakes()).toBe(1);
  });

  it('opens a new, address-checked connection for another host, and refuses one that resolves to a refused address', async () => {
    const api = await startTlsApi();
    const outbound = client();
    const call = (host: string, reach: { allowHosts: string[]; allowPrivateAddresses?: string[] }) =>
      outbound.send({ method: 'GET', url: `https://${host}:${api.port}/x`, timeoutMs: 2000, ...reach });

    await call('a.acme.example', PRIVATE_LOOPBACK);
    await call('a.acme.example', PRIVATE_LOOPBACK);
    expect(api.handshakes()).toBe(1);
    await call('b.acme.example', PRIVATE_LOOPBACK);
    expect(api.handshakes()).toBe(2);

    // Pooled sockets to a. and b. are open to the very address c. resolves to: c. is still judged on its own.
    const refused = await call('c.acme.example', { allowHosts: ['*.acme.example'] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OutboundRefusedError);
    expect((refused as Error).message).toBe(
      'outbound call to c.acme.example refused: loopback address 127.0.0.1 is not listed in allowHosts or allowPrivateAddresses',
    );
    // So is a.acme.example itself under a workspace that does not allow loopback.
    await expect(call('a.acme.example', { allowHosts: ['a.acme.example'] })).rejects.toThrow(
      'outbound call to a.acme.example refused: loopback address 127.0.0.1 is not listed in allowHosts or allowPrivateAddresses',
    );
    expect(api.connections()).toBe(2);
    expect(api.requests).toEqual([
      `GET /x a.acme.example:${api.port}`,
      `GET /x a.acme.example:${api.port}`,
      `GET /x b.acme.example:${api.port}`,
    ]);
  });

  it('never shares a socket between two address policies for the same host', async () => {
    const api = await startTlsApi();
    const outbound = client();
    const byRange = { allowHosts: ['a.acme.example'], allowPrivateAddresses: ['127.0.0.0/8'] };
    const byAddress = { allowHosts: ['a.acme.example', '127.0.0.1'] };
    for (const reach of [byRange, byAddress, byRange, byAddress]) {
      await outbound.send({
        method: 'GET',
        url: `https://a.acme.example:${api.port}/x`,
        timeoutMs: 2000,
        ...reach,
      });
    }
    expect(api.handshakes()).toBe(2);
    expect(api.requests).toHaveLength(4);
  });

  it('resolves and checks again for a new socket: a name rebound to a metadata address is refused', async () => {
    const api = await startTlsApi();
    const answers = ['127.0.0.1', '169.254.169.254'];
    const lookups: string[] = [];
    const outbound = client({
      resolve: async (hostname) => {
        lookups.push(hostname);
        return [{ address: answers[Math.min(lookups.length - 1, 1)] ?? '', family: 4 }];
      },
    });
    const call = () =>
      outbound.send({
        method: 'GET',
        url: `https://a.acme.example:${api.port}/x`,
        timeoutMs: 2000,
        allowHosts: ['a.acme.example'],
        allowPrivateAddresses: ['127.0.0.0/8', '169.254.0.0/16'],
      });
    await call();
    // The pooled socket is connected to the address checked when it opened: no lookup to rebind.
    await call();
    expect(lookups).toEqual(['a.acme.example']);
    outbound.close();
    await expect(call()).rejects.toThrow(
      'outbound call to a.acme.example refused: cloud metadata address 169.254.169.254 is not listed in allowHosts or allowPrivateAddresses',
    );
    expect(lookups).toEqual(['a.acme.example', 'a.acme.example']);
    expect(api.handshakes()).toBe(1);
  });

  it('refuses a server whose certificate is not trusted', async () => {
    const api = await startTlsApi();
    const untrusting = track(createOutboundClient());
    const error = await untrusting
      .send({
        method: 'GET',
        url: `https://127.0.0.1:${api.port}/x`,
        timeoutMs: 2000,
        allowHosts: ['127.0.0.1'],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundNetworkError);
    expect((error as OutboundNetworkError).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(api.requests).toEqual([]);
  });

  it('closes idle connections after the idle timeout, and every connection on close()', async () => {
    const api = await startTlsApi();
    const quick = client({ idleTimeoutMs: 20 });
    await quick.send({
      method: 'GET',
      url: `https://127.0.0.1:${api.port}/x`,
      timeoutMs: 2000,
      allowHosts: ['127.0.0.1'],
    });
    const [idle] = api.sockets;
    if (idle === undefined) throw new Error('no connection');
    await once(idle, 'close');

    const outbound = client();
    await outbound.send({
      method: 'GET',
      url: `https://127.0.0.1:${api.port}/y`,
      timeoutMs: 2000,
      allowHosts: ['127.0.0.1'],
    });
    const pooled = api.sockets[1];
    if (pooled === undefined) throw new Error('no second connection');
    const closed = once(pooled, 'close');
    outbound.close();
    await closed;
    expect(api.handshakes()).toBe(2);
  });
});

describe('pooled plain HTTP connections', () => {
  const started: FakeOperatorApi[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.close()));
  });
  async function fake(...args: Parameters<typeof startFakeOperatorApi>): Promise<FakeOperatorApi> {
    const server = await startFakeOperatorApi(...args);
    started.push(server);
    return server;
  }

  it('reuses the connection for a second call to the same host and port, not for another port', async () => {
    const api = await fake({ 'GET /x': (_req, res) => sendJson(res, 200, { ok: true }) });
    const other = await fake({ 'GET /x': (_req, res) => sendJson(res, 200, { other: true }) });
    const outbound = client();
    const get = (url: string) =>
      outbound.send({ method: 'GET', url, timeoutMs: 2000, allowHosts: ['127.0.0.1'] });
    expect((await get(`${api.url}/x`)).json).toEqual({ ok: true });
    expect((await get(`${api.url}/x`)).json).toEqual({ ok: true });
    expect((await get(`${other.url}/x`)).json).toEqual({ other: true });
    expect((await get(`${other.url}/x`)).json).toEqual({ other: true });
    expect([api.connections(), other.connections()]).toEqual([1, 1]);
    expect([api.requests.length, other.requests.length]).toEqual([2, 2]);
  });

  it('opens at most maxSocketsPerHost connections; further calls wait for a free one', async () => {
    const held: (() => void)[] = [];
    let arrived: () => void = () => undefined;
    const twoArrived = new Promise<void>((resolve) => (arrived = resolve));
    const api = await fake({
      'GET /held': (_req, res) => {
        held.push(() => sendJson(res, 200, { n: held.length }));
        if (held.length === 2) arrived();
      },
    });
    const outbound = client({ maxSocketsPerHost: 2 });
    const calls = [1, 2, 3].map(() =>
      outbound.send({ method: 'GET', url: `${api.url}/held`, timeoutMs: 2000, allowHosts: ['127.0.0.1'] }),
    );
    await twoArrived;
    expect(api.connections()).toBe(2);
    expect(api.requests).toHaveLength(2);
    // The third call goes out on the first connection that comes free.
    api.route('GET', '/held', (_req, res) => sendJson(res, 200, { n: 3 }));
    for (const answer of held) answer();
    const statuses = (await Promise.all(calls)).map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200]);
    expect(api.connections()).toBe(2);
    expect(api.requests).toHaveLength(3);
  });

  it('sends an idempotent call again on a new connection when the server dropped the pooled one; a POST fails', async () => {
    let drop = false;
    // With `drop` set, the next request is met by closing its connection unanswered, as a server does
    // when its keep-alive timeout strikes just as the request arrives.
    const answer: RouteHandler = (_req, res) => {
      if (!drop) return sendJson(res, 200, { ok: true });
      drop = false;
      res.socket?.destroy();
    };
    const api = await fake({ 'GET /x': answer, 'POST /x': answer });
    const outbound = client();
    const call = (method: string) =>
      outbound.send({ method, url: `${api.url}/x`, timeoutMs: 2000, allowHosts: ['127.0.0.1'] });
    await call('GET');
    drop = true;
    expect((await call('GET')).json).toEqual({ ok: true });
    expect(api.connections()).toBe(2);
    expect(api.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'GET']);

    drop = true;
    const error = await call('POST').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundNetworkError);
    expect((error as OutboundNetworkError).code).toBe('ECONNRESET');
    expect(api.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'GET', 'POST']);
  });
});
