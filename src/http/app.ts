// The express application: webhooks, health, metrics and the sandbox endpoints.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

export interface AppDeps {
  logger: Logger;
  metrics: Metrics;
  /** Redis reachable and (in processes that run them) workers running. */
  ready: () => Promise<{ ok: boolean; checks: Record<string, boolean> }>;
  routers: Router[];
  /** Stopping: every answer closes its connection, so clients and load balancers move on at once. */
  draining?: () => boolean;
  /** The sandbox: `/` leads to the simulator. */
  sandbox?: boolean;
  /** How /metrics is served here: `false` when it has a port of its own (METRICS_PORT). */
  metricsAccess?: MetricsAccess | false;
}

/** Who may read /metrics: anyone who reaches it, or only with `Authorization: Bearer <token>`. */
export interface MetricsAccess {
  token?: string | undefined;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** GET /metrics: the registry's text, behind the bearer token when one is set. */
export function metricsHandler(metrics: Metrics, access: MetricsAccess = {}): RequestHandler {
  const expected = access.token === undefined ? undefined : digest(access.token);
  return async (req, res) => {
    if (expected) {
      const given = /^Bearer (\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
      // Digests of equal length, compared in constant time: the answer's timing says nothing of the token.
      if (!given || !timingSafeEqual(digest(given), expected)) {
        res
          .status(401)
          .set('WWW-Authenticate', 'Bearer realm="metrics"')
          .type('text/plain')
          .send('Unauthorized: /metrics needs the header Authorization: Bearer <METRICS_TOKEN>.');
        return;
      }
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}

/** The app of METRICS_PORT: /metrics and nothing else. */
export function createMetricsApp(metrics: Metrics, access: MetricsAccess = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(metrics, access));
  app.use((req, res) => {
    res.status(404).type('text/plain').send('Only GET /metrics is served on this port.');
  });
  return app;
}

/** What `GET /` says in production, where there is no page to show. */
export const HOME_TEXT = 'Switchboard gateway. Operator API at /v1, health at /readyz.\n';

interface BodyParserError extends Error {
  status?: number;
  type?: string;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((_req, res, next) => {
    if (deps.draining?.()) res.setHeader('Connection', 'close');
    next();
  });

  // Someone opening the gateway's address in a browser: the simulator in the sandbox, one line otherwise.
  app.get('/', (_req, res) => {
    if (deps.sandbox) return void res.redirect(302, '/simulator');
    res.type('text/plain').send(HOME_TEXT);
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready();
    res.status(ready.ok ? 200 : 503).json({ status: ready.ok ? 'ready' : 'not ready', checks: ready.checks });
  });
  if (deps.metricsAccess !== false) app.get('/metrics', metricsHandler(deps.metrics, deps.metricsAccess));

  for (const router of deps.routers) app.use(router);

  app.use((req, res) => {
    const path = req.path.length > 100 ? `${req.path.slice(0, 100)}…` : req.path;
    res.status(404).type('text/plain').send(`No route for ${req.method} ${path}.`);
  });

  // Bad input is answered with a 4xx that says what is wrong; only our own bugs are 500s.
  app.use((error: BodyParserError, req: Request, res: Response, _next: NextFunction) => {
    const status = error.status ?? 500;
    if (error.type === 'entity.too.large') {
      return void res
        .status(413)
        .type('text/plain')
        .send('Payload too large: the limit is 64 KiB for webhooks.');
    }
    if (status >= 400 && status < 500) {
      return void res.status(status).type('text/plain').send(`Bad request: ${error.message}.`);
    }
    deps.logger.error('request failed', { path: req.path, reason: error.message });
    res.status(500).type('text/plain').send('Internal error.');
  });
  return app;
}

/** What Node's HTTP parser refused before express saw the request, as one plain sentence each. */
const UNPARSED: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request headers too large: the limit is 16 KiB in all.'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Chunk extensions too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request timeout: the request did not arrive in time.'],
};

/**
 * The server's `clientError` handler: a request Node could not parse gets a status and a sentence
 * saying why (Node's own answer has no body), and the connection is closed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const [status, text] = UNPARSED[error.code ?? ''] ?? [
    400,
    'Bad request: this is not a valid HTTP/1.1 request.',
  ];
  const reason = {
    400: 'Bad Request',
    408: 'Request Timeout',
    413: 'Payload Too Large',
    431: 'Request Header Fields Too Large',
  }[status];
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}
