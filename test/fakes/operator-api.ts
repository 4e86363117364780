// A fake operator service: a real HTTP server on loopback with per-route handlers and a record of what it received.
import { listenOnLoopback } from './loopback.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface ReceivedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** Lower-case names, as node parsed them. */
  headers: IncomingMessage['headers'];
  body: string;
}

/** Answers one request; a handler that never ends the response holds the request open. */
export type RouteHandler = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeOperatorApi {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: ReceivedRequest[];
  /** TCP connections accepted, including those that never sent a request. */
  readonly connections: () => number;
  /** Adds or replaces the handler for `METHOD /path` (the path without its query). */
  route(method: string, path: string, handler: RouteHandler): void;
  close(): Promise<void>;
}

/** Sends `value` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startFakeOperatorApi(
  routes: Record<string, RouteHandler> = {},
): Promise<FakeOperatorApi> {
  const handlers = new Map<string, RouteHandler>(Object.entries(routes));
  const requests: ReceivedRequest[] = [];
  let connections = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      const path = received.url.split('?', 1)[0] ?? '';
      const handler = handlers.get(`${received.method} ${path}`);
      if (handler === undefined) {
        sendJson(res, 404, { error: 'no route' });
        return;
      }
      Promise.resolve(handler(received, res)).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: 'handler failed' });
        else res.destroy();
      });
    });
  });
  server.on('connection', () => {
    connections += 1;
  });

  const port = await listenOnLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    route(method, path, handler) {
      handlers.set(`${method.toUpperCase()} ${path}`, handler);
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Held requests would keep close() waiting forever.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
