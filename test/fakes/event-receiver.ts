// A fake operator events receiver: a real HTTP server on loopback that records every delivery and checks its signature.
import { listenOnLoopback } from './loopback.js';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { verifySwitchboardSignature, type SignatureCheck } from '../../src/operator-events/signature.js';

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
  /** The parsed body (undefined when it was not JSON). */
  event: Record<string, unknown> | undefined;
  /** The signature checked with the receiver's secret. */
  signature: SignatureCheck;
  /** What the receiver answered. */
  status: number;
}

export interface FakeEventReceiver {
  readonly url: string;
  /** Every delivery attempt, in order, whatever was answered. */
  readonly deliveries: ReceivedDelivery[];
  /** Deliveries answered with 2xx. */
  accepted(): ReceivedDelivery[];
  /** Resolves once `count` deliveries were answered with 2xx (rejects after `timeoutMs`). */
  waitForAccepted(count: number, timeoutMs?: number): Promise<ReceivedDelivery[]>;
  /** Decides the status of the n-th attempt (1-based) of each event id; a promise holds the answer until it settles. */
  respondWith(decide: Decide): void;
  close(): Promise<void>;
}

type Decide = (attempt: number, delivery: Omit<ReceivedDelivery, 'status'>) => number | Promise<number>;

export async function startEventReceiver(secret: string): Promise<FakeEventReceiver> {
  const deliveries: ReceivedDelivery[] = [];
  const attemptsById = new Map<string, number>();
  let decide: Decide = () => 200;
  const waiters: { count: number; resolve: () => void }[] = [];
  const accepted = () => deliveries.filter((d) => d.status >= 200 && d.status < 300);

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let event: Record<string, unknown> | undefined;
      try {
        event = JSON.parse(body) as Record<string, unknown>;
      } catch {
        event = undefined;
      }
      const header = req.headers['switchboard-signature'];
      const signature = verifySwitchboardSignature(
        typeof header === 'string' ? header : undefined,
        body,
        secret,
      );
      const id = typeof event?.id === 'string' ? event.id : '';
      const attempt = (attemptsById.get(id) ?? 0) + 1;
      attemptsById.set(id, attempt);
      const partial = { headers: req.headers, body, event, signature };
      const status = await decide(attempt, partial);
      deliveries.push({ ...partial, status });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'no');
      const count = accepted().length;
      for (const waiter of waiters.splice(0)) {
        if (count >= waiter.count) waiter.resolve();
        else waiters.push(waiter);
      }
    });
  });
  const port = await listenOnLoopback(server);

  return {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveries,
    accepted,
    waitForAccepted(count, timeoutMs = 10_000) {
      if (accepted().length >= count) return Promise.resolve(accepted());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} accepted deliveries, got ${accepted().length}`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(accepted());
          },
        });
      });
    },
    respondWith(next) {
      decide = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
