// The only way auth components and request steps reach an operator's hosts: allowHosts, address and redirect checks.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
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
}

const DEFAULTS = { maxRedirects: 3, maxResponseBytes: 1024 * 1024 };
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const systemResolver: Resolver = (hostname, family) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    );
  });

interface Exchange {
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
          target: current,
          method,
          headers,
          body,
          reach,
          deadline: start + req.timeoutMs,
          timeoutMs: req.timeoutMs,
        },
        maxResponseBytes,
        resolve,
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

  return { send };
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

function exchange(call: Exchange, maxResponseBytes: number, resolve: Resolver): Promise<RawResponse> {
  const { target, reach } = call;
  const host = target.hostname;
  return new Promise<RawResponse>((succeed, fail) => {
    let settled = false;
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
    try {
      request = transport.request({
        protocol: target.protocol,
        // http.request wants an IPv6 literal without the URL's brackets
        hostname: host.replace(/^\[(.*)\]$/, '$1'),
        port: target.port === '' ? undefined : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: call.method,
        headers: call.headers,
        lookup: guardedLookup(host, reach, resolve),
        // A fresh connection per call: a pooled socket would skip the lookup and the address check.
        agent: false,
      });
    } catch (error) {
      // Node validates the method, path and header values synchronously; its messages never quote values.
      finish(new OutboundRefusedError(host, `invalid request (${errorCode(error) ?? 'rejected by node'})`));
      return;
    }

    request.on('socket', (socket: Socket) => {
      // The address actually connected to, checked once more after the lookup allowed it.
      socket.once('connect', () => {
        const remote = socket.remoteAddress;
        const refusal = remote === undefined ? 'no remote address' : addressPermitted(remote, reach);
        if (refusal !== undefined) finish(new OutboundRefusedError(host, refusal));
      });
    });
    request.on('error', (error) => finish(toOutboundError(error, host)));
    request.on('response', (response: http.IncomingMessage) => {
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
    request.end(call.body);
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
