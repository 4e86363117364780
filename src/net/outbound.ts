// The only way auth components and request steps reach an operator's hosts: allowHosts, address and redirect checks,
// over keep-alive connections pooled per host and address policy, every new socket address-checked.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  addressListed,
  addressRestriction,
  hostAllowed,
  isIpLiteral,
  privateAddressAllowed,
} from './addresses.js';
import {
  OutboundError,
  OutboundNetworkError,
  OutboundRefusedError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from './errors.js';
import type { RemoteApiRequest, RemoteApiResponse } from '../core/ports/remote-api.js';
import { injectTraceContext } from '../tracing.js';

/** A remote-API request of the engine, plus the workspace's reach. */
export interface OutboundRequest extends RemoteApiRequest {
  /** The workspace's allowHosts: exact names or IPs, or `*.example.com`. */
  allowHosts: readonly string[];
  /** The workspace's allowPrivateAddresses: IP ranges (CIDR) whose private addresses may be reached. */
  allowPrivateAddresses?: readonly string[];
}

export type OutboundResponse = RemoteApiResponse;

/**
 * Calls to operator hosts. Implemented by `createOutboundClient`; an HTTP error status is returned,
 * every other failure is an `OutboundError` subclass telling the caller whether to retry.
 */
export interface OutboundClient {
  send(req: OutboundRequest): Promise<OutboundResponse>;
  /** Closes every pooled connection, idle or busy; a later call opens new ones. */
  close(): void;
}

/** Resolves a host name to all its addresses; replaceable so tests can point names anywhere. */
export type Resolver = (hostname: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>;

export interface OutboundClientOptions {
  /** Same-host redirects followed before giving up; default 3. */
  maxRedirects?: number;
  /** Largest response body accepted; default 1 MiB. */
  maxResponseBytes?: number;
  /** Name resolution; default the system resolver (dns.lookup). */
  resolve?: Resolver;
  /** Connections open at once to one host (per scheme, port and address policy); default 8. */
  maxSocketsPerHost?: number;
  /**
   * How long an idle pooled connection is kept; default 4 s, below the 5 s most servers (node's
   * included) keep one, so the gateway closes it first. A shorter `Keep-Alive: timeout` hint wins.
   */
  idleTimeoutMs?: number;
  /** Hosts with a pool at once; the least recently used is retired beyond it. Default 256. */
  maxHosts?: number;
  /** Certificate authorities trusted instead of the system's (a private PKI; tests). */
  ca?: string | Buffer | readonly (string | Buffer)[];
}

const DEFAULTS = {
  maxRedirects: 3,
  maxResponseBytes: 1024 * 1024,
  maxSocketsPerHost: 8,
  idleTimeoutMs: 4000,
  maxHosts: 256,
};
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Methods a client may send again on its own (RFC 9110): a pooled socket the server closed is retried once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

const systemResolver: Resolver = (hostname, family) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    );
  });

interface Exchange {
  agent: http.Agent;
  target: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  reach: Reach;
  deadline: number;
  timeoutMs: number;
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export function createOutboundClient(options: OutboundClientOptions = {}): OutboundClient {
  const maxRedirects = options.maxRedirects ?? DEFAULTS.maxRedirects;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
  const resolve = options.resolve ?? systemResolver;
  const pools = new Pools(resolve, {
    maxSockets: options.maxSocketsPerHost ?? DEFAULTS.maxSocketsPerHost,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    maxHosts: options.maxHosts ?? DEFAULTS.maxHosts,
    ca: options.ca,
  });

  async function send(req: OutboundRequest): Promise<OutboundResponse> {
    const start = Date.now();
    const target = parseTarget(req);
    const host = target.hostname;
    if (!hostAllowed(host, req.allowHosts)) throw new OutboundRefusedError(host, 'host is not in allowHosts');
    if (!(req.timeoutMs > 0 && Number.isFinite(req.timeoutMs))) {
      throw new OutboundRefusedError(host, 'timeoutMs must be a positive number');
    }
    // Node skips the lookup for IP literals, so they are judged here, before any connection.
    const reach: Reach = { allowHosts: req.allowHosts, allowPrivate: req.allowPrivateAddresses ?? [] };
    if (isIpLiteral(host)) assertAddressPermitted(host, host, reach);

    let method = req.method.toUpperCase();
    const headers = normalizeHeaders(req.headers ?? {}, host);
    // The operator's service sees which trace the call belongs to (tracing on; nothing is added when off).
    injectTraceContext(headers);
    let body = encodeBody(req.body, headers);
    let current = target;
    for (let hop = 0; ; hop += 1) {
      const raw = await exchange(
        {
          agent: pools.agent(current, reach),
          target: current,
          method,
          headers,
          body,
          reach,
          deadline: start + req.timeoutMs,
          timeoutMs: req.timeoutMs,
        },
        maxResponseBytes,
      );
      const location = raw.headers['location'];
      if (!REDIRECTS.has(raw.status) || location === undefined) return toResponse(raw);
      if (hop >= maxRedirects) throw new OutboundRefusedError(host, `more than ${maxRedirects} redirects`);

      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new OutboundRefusedError(host, 'redirect to an invalid URL');
      }
      if (
        next.protocol !== current.protocol ||
        next.hostname !== current.hostname ||
        next.port !== current.port
      ) {
        throw new OutboundRefusedError(host, `redirect to another host (${next.host}) not followed`);
      }
      // As browsers do: 303 always, and 301/302 after a POST, continue as a GET without the body.
      if (
        (raw.status === 303 && method !== 'HEAD') ||
        ((raw.status === 301 || raw.status === 302) && method === 'POST')
      ) {
        method = 'GET';
        body = undefined;
        delete headers['content-type'];
        delete headers['content-length'];
      }
      current = next;
    }
  }

  return { send, close: () => pools.close() };
}

interface PoolSettings {
  maxSockets: number;
  idleTimeoutMs: number;
  maxHosts: number;
  ca: OutboundClientOptions['ca'];
}

/**
 * Keep-alive agents, one per scheme, host, port and address policy (allowHosts and allowPrivateAddresses):
 * a socket is reused only by calls that would have been allowed to open it, so two workspaces with
 * different allowances never share one. Each new socket is resolved by the guarded lookup and its
 * connected address checked; a reused socket skips both, having passed them when it was opened.
 */
class Pools {
  // Insertion order is recency order: a use moves the agent to the end.
  private readonly agents = new Map<string, http.Agent>();

  constructor(
    private readonly resolve: Resolver,
    private readonly settings: PoolSettings,
  ) {}

  agent(target: URL, reach: Reach): http.Agent {
    const key = JSON.stringify([
      target.protocol,
      target.hostname,
      target.port,
      reach.allowHosts,
      reach.allowPrivate,
    ]);
    let agent = this.agents.get(key);
    if (agent !== undefined) {
      this.agents.delete(key);
    } else {
      agent = this.open(target, reach);
      const oldest =
        this.agents.size >= this.settings.maxHosts ? this.agents.entries().next().value : undefined;
      if (oldest !== undefined) {
        // Retired: its idle sockets close now, busy ones finish their call and close when idle.
        this.agents.delete(oldest[0]);
        for (const sockets of Object.values(oldest[1].freeSockets))
          for (const s of sockets ?? []) s.destroy();
      }
    }
    this.agents.set(key, agent);
    return agent;
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private open(target: URL, reach: Reach): http.Agent {
    const host = target.hostname;
    const { maxSockets, idleTimeoutMs, ca } = this.settings;
    const options: https.AgentOptions = {
      keepAlive: true,
      maxSockets,
      maxFreeSockets: maxSockets,
      timeout: idleTimeoutMs,
      scheduling: 'lifo',
      lookup: guardedLookup(host, reach, this.resolve),
      ...(ca !== undefined ? { ca: ca as string | Buffer | (string | Buffer)[] } : {}),
    };
    const agent = target.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
    const connect = agent.createConnection.bind(agent) as (
      options: unknown,
      callback?: (error: Error | null, socket: Duplex) => void,
    ) => Duplex | undefined;
    agent.createConnection = (connectOptions, callback) => {
      const socket = connect(connectOptions, callback) as Socket | undefined;
      // The address actually connected to, checked once more after the lookup allowed it.
      socket?.once('connect', () => {
        const remote = socket.remoteAddress;
        const refusal = remote === undefined ? 'no remote address' : addressPermitted(remote, reach);
        if (refusal !== undefined) socket.destroy(new OutboundRefusedError(host, refusal));
      });
      return socket;
    };
    return agent;
  }
}

function parseTarget(req: OutboundRequest): URL {
  let target: URL;
  try {
    target = new URL(req.url);
  } catch {
    throw new OutboundRefusedError('', 'invalid URL');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new OutboundRefusedError(target.hostname, `scheme ${target.protocol} is not http or https`);
  }
  if (target.username !== '' || target.password !== '') {
    // Credentials belong in headers, where they are never echoed into logs with the URL.
    throw new OutboundRefusedError(target.hostname, 'user info in the URL');
  }
  for (const [name, value] of Object.entries(req.query ?? {})) target.searchParams.set(name, value);
  target.hash = '';
  return target;
}

function normalizeHeaders(input: Record<string, string>, host: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input)) headers[name.toLowerCase()] = value;
  // The Host header picks the site on the server; it must be the host that allowHosts approved.
  if ('host' in headers) throw new OutboundRefusedError(host, 'a Host header may not be set');
  headers['accept'] ??= 'application/json, */*;q=0.5';
  headers['user-agent'] ??= 'switchboard';
  return headers;
}

function encodeBody(body: unknown, headers: Record<string, string>): Buffer | undefined {
  if (body === undefined) return undefined;
  let bytes: Buffer;
  if (typeof body === 'string') {
    bytes = Buffer.from(body, 'utf8');
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (body instanceof Uint8Array) {
    bytes = Buffer.from(body);
    headers['content-type'] ??= 'application/octet-stream';
  } else {
    bytes = Buffer.from(JSON.stringify(body), 'utf8');
    headers['content-type'] ??= 'application/json';
  }
  headers['content-length'] = String(bytes.length);
  return bytes;
}

/** What a workspace lets its calls reach beyond public addresses. */
interface Reach {
  allowHosts: readonly string[];
  allowPrivate: readonly string[];
}

/**
 * Why `address` may not be connected to, or undefined. A private or special address is reached only when
 * the address itself is listed: a listed name that resolves to it does not count, because whoever
 * controls that name's DNS would otherwise choose what inside the network the gateway calls.
 */
function addressPermitted(address: string, reach: Reach): string | undefined {
  const restriction = addressRestriction(address);
  if (restriction === undefined) return undefined;
  if (addressListed(address, reach.allowHosts) || privateAddressAllowed(address, reach.allowPrivate)) {
    return undefined;
  }
  return `${restriction} ${address} is not listed in allowHosts or allowPrivateAddresses`;
}

function assertAddressPermitted(address: string, host: string, reach: Reach): void {
  const refusal = addressPermitted(address, reach);
  if (refusal !== undefined) throw new OutboundRefusedError(host, refusal);
}

/** A lookup for http.request that refuses the connection when any address the name resolves to is forbidden. */
function guardedLookup(host: string, reach: Reach, resolve: Resolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    const family =
      options.family === 4 || options.family === 'IPv4'
        ? 4
        : options.family === 6 || options.family === 'IPv6'
          ? 6
          : 0;
    resolve(hostname, family).then(
      (addresses) => {
        // Every address is judged, not just the first, so a name mixing public and private answers is refused.
        for (const { address } of addresses) {
          const refusal = addressPermitted(address, reach);
          if (refusal !== undefined) return callback(new OutboundRefusedError(host, refusal), '');
        }
        const first = addresses[0];
        if (first === undefined) {
          const error: NodeJS.ErrnoException = new Error(`no address for ${hostname}`);
          error.code = 'ENOTFOUND';
          return callback(error, '');
        }
        return options.all ? callback(null, addresses) : callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

function exchange(call: Exchange, maxResponseBytes: number): Promise<RawResponse> {
  const { target } = call;
  const host = target.hostname;
  return new Promise<RawResponse>((succeed, fail) => {
    let settled = false;
    let retried = false;
    let request: http.ClientRequest | undefined;
    const finish = (error: OutboundError | undefined, response?: RawResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) {
        request?.destroy();
        fail(error);
      } else if (response !== undefined) {
        succeed(response);
      }
    };
    const timer = setTimeout(
      () => finish(new OutboundTimeoutError(host, call.timeoutMs)),
      Math.max(0, call.deadline - Date.now()),
    );

    const transport = target.protocol === 'https:' ? https : http;
    const start = (): void => {
      let answered = false;
      let sent: http.ClientRequest;
      try {
        sent = request = transport.request({
          protocol: target.protocol,
          // http.request wants an IPv6 literal without the URL's brackets
          hostname: host.replace(/^\[(.*)\]$/, '$1'),
          port: target.port === '' ? undefined : Number(target.port),
          path: `${target.pathname}${target.search}`,
          method: call.method,
          headers: call.headers,
          // Pooled per host and address policy; a new socket is looked up and checked by the agent.
          agent: call.agent,
        });
      } catch (error) {
        // Node validates the method, path and header values synchronously; its messages never quote values.
        finish(new OutboundRefusedError(host, `invalid request (${errorCode(error) ?? 'rejected by node'})`));
        return;
      }

      sent.on('error', (error) => {
        // A pooled socket the server closed while idle fails before any answer: sent again, once, on another.
        const code = errorCode(error);
        if (
          !answered &&
          !retried &&
          !settled &&
          sent.reusedSocket &&
          IDEMPOTENT.has(call.method) &&
          code &&
          STALE_SOCKET.has(code)
        ) {
          retried = true;
          start();
          return;
        }
        finish(toOutboundError(error, host));
      });
      sent.on('response', (response: http.IncomingMessage) => {
        answered = true;
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxResponseBytes) {
          finish(new OutboundResponseTooLargeError(host, maxResponseBytes));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) finish(new OutboundResponseTooLargeError(host, maxResponseBytes));
          else chunks.push(chunk);
        });
        response.on('end', () =>
          finish(undefined, {
            status: response.statusCode ?? 0,
            headers: flattenHeaders(response.headers),
            body: Buffer.concat(chunks),
          }),
        );
        response.on('error', (error) => finish(toOutboundError(error, host)));
        response.on('close', () => {
          if (!response.complete) finish(new OutboundNetworkError(host, 'ECONNRESET'));
        });
      });
      sent.end(call.body);
    };
    start();
  });
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function toOutboundError(error: unknown, host: string): OutboundError {
  if (error instanceof OutboundError) return error;
  return new OutboundNetworkError(host, errorCode(error), { cause: error });
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function toResponse(raw: RawResponse): OutboundResponse {
  const text = raw.body.toString('utf8');
  return {
    status: raw.status,
    headers: raw.headers,
    text,
    json: parseJson(text, raw.headers['content-type']),
  };
}

// JSON by content type, or by shape, because operator services often send JSON as text/plain or text/html.
function parseJson(text: string, contentType: string | undefined): unknown {
  const declared = contentType !== undefined && /[/+]json\b/i.test(contentType);
  const trimmed = text.trimStart();
  if (!declared && !trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
