// A lean fake of Twilio's REST API for the benchmark: answers a message creation with the fields the
// `twilio` client reads and records when each reply arrived, by recipient. test/fakes/twilio-api.ts keeps
// every request and scans them on every wait, which costs more than the pipelines being measured.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { listenOnLoopback } from '../test/fakes/loopback.js';

export interface FastTwilioApi {
  /** http://127.0.0.1:PORT: the base URL both pipelines' twilio clients are pointed at. */
  readonly url: string;
  /** Messages accepted since the last reset. */
  readonly count: number;
  /** When the first and last of them arrived (performance.now()). */
  readonly firstAt: number;
  readonly lastAt: number;
  /** Resolves with the arrival time of the next (or an already arrived, unclaimed) reply to `to`. */
  replyTo(to: string, timeoutMs?: number): Promise<number>;
  /** Resolves when `count` messages arrived since the last reset; rejects on timeout. */
  waitForCount(count: number, timeoutMs?: number): Promise<void>;
  /** Forgets counts and arrivals (waits in progress are rejected). */
  reset(): void;
  close(): Promise<void>;
}

const MESSAGES = /^\/2010-04-01\/Accounts\/(AC[0-9a-zA-Z]+)\/Messages\.json$/;

export async function startFastTwilioApi(accountSid: string, authToken: string): Promise<FastTwilioApi> {
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  let count = 0;
  let firstAt = 0;
  let lastAt = 0;
  /** Replies that arrived before anyone asked for them, by recipient. */
  const arrived = new Map<string, number>();
  const waiting = new Map<string, { resolve: (at: number) => void; reject: (e: Error) => void }>();
  let counting: { target: number; resolve: () => void } | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = MESSAGES.exec(req.url ?? '');
      if (req.method !== 'POST' || !match) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":20404,"status":404}');
        return;
      }
      if (req.headers.authorization !== expectedAuth) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":20003,"status":401}');
        return;
      }
      const at = performance.now();
      const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const to = params.get('To') ?? '';
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const body = JSON.stringify({
        account_sid: match[1],
        api_version: '2010-04-01',
        body: params.get('Body') ?? '',
        direction: 'outbound-api',
        error_code: null,
        from: params.get('From'),
        num_segments: '1',
        sid,
        status: 'queued',
        to,
        uri: `/2010-04-01/Accounts/${match[1]}/Messages/${sid}.json`,
      });
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);

      count++;
      if (count === 1) firstAt = at;
      lastAt = at;
      const waiter = waiting.get(to);
      if (waiter) {
        waiting.delete(to);
        waiter.resolve(at);
      } else arrived.set(to, at);
      if (counting && count >= counting.target) {
        counting.resolve();
        counting = undefined;
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  const port = await listenOnLoopback(server);

  function timeout(ms: number, fail: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fail();
    }, ms);
    timers.add(timer);
    return timer;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    get count() {
      return count;
    },
    get firstAt() {
      return firstAt;
    },
    get lastAt() {
      return lastAt;
    },
    replyTo(to, timeoutMs = 30_000) {
      const at = arrived.get(to);
      if (at !== undefined) {
        arrived.delete(to);
        return Promise.resolve(at);
      }
      return new Promise((resolve, reject) => {
        const timer = timeout(timeoutMs, () => {
          waiting.delete(to);
          reject(new Error(`fake Twilio: no reply to ${to} within ${timeoutMs} ms`));
        });
        waiting.set(to, {
          resolve: (when) => {
            clearTimeout(timer);
            timers.delete(timer);
            resolve(when);
          },
          reject,
        });
      });
    },
    waitForCount(target, timeoutMs = 120_000) {
      if (count >= target) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = timeout(timeoutMs, () => {
          counting = undefined;
          reject(new Error(`fake Twilio: ${count} of ${target} replies arrived within ${timeoutMs} ms`));
        });
        counting = {
          target,
          resolve: () => {
            clearTimeout(timer);
            timers.delete(timer);
            resolve();
          },
        };
      });
    },
    reset() {
      count = 0;
      firstAt = 0;
      lastAt = 0;
      arrived.clear();
      for (const waiter of waiting.values()) waiter.reject(new Error('fake Twilio reset'));
      waiting.clear();
      counting = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
