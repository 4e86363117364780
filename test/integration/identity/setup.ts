// Shared set-up for the identity tests: the shared harness without a gateway (a real Redis, a fresh key
// prefix, its cleanup), the identity stores over it, an operator API on loopback.
import { jsonRequest, type JsonAnswer } from '../../support/json-api.js';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { Redis } from 'ioredis';
import { RedisTokenStore } from '../../../src/store/token-store.js';
import { ConfigSchema, type Config } from '../../../src/config/index.js';
import type { EventSink } from '../../../src/operator-events/sink.js';
import { operatorApiRouter } from '../../../src/http/operator-api.js';
import { IdentityStore } from '../../../src/store/identity-store.js';
import { LinkCodes } from '../../../src/identity/link-codes.js';
import { LinkCodeStore } from '../../../src/store/link-code-store.js';
import { createLogger, type Logger } from '../../../src/log.js';
import { createDataCipher, type DataCipher } from '../../../src/store/cipher.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { FixedWindowLimiter } from '../../../src/store/rate-limiter.js';
import { keysFor, startHarness } from '../../support/harness.js';

export const KEY_A = 'acme-key-0123456789abcdef0123456789abcdef';
export const KEY_A2 = 'acme-key-second-rotation-key-0123456789';
export const KEY_B = 'globex-key-fedcba9876543210fedcba9876543210';

export function dataKey(): string {
  return randomBytes(32).toString('base64');
}

export interface WorkspaceEvents {
  url: string;
  secret: string;
  types?: string[];
}

/** Two workspaces (acme, globex), each with a bot and auth components. */
export function testConfig(
  options: {
    acmeEvents?: WorkspaceEvents;
    globexEvents?: WorkspaceEvents;
    acmeRequestsPerMinute?: number;
  } = {},
): Config {
  const login = (url: string) => ({
    type: 'login',
    url,
    fields: [
      { name: 'username', prompt: 'Username?' },
      { name: 'password', prompt: 'Password?', secret: true },
    ],
    ttl: 3600,
  });
  return ConfigSchema.parse({
    server: { publicUrl: 'https://gateway.example.com' },
    workspaces: {
      acme: {
        apiKeys: [KEY_A, KEY_A2],
        ...(options.acmeEvents ? { events: options.acmeEvents } : {}),
        ...(options.acmeRequestsPerMinute
          ? { rateLimit: { requestsPerMinute: options.acmeRequestsPerMinute } }
          : {}),
      },
      globex: { apiKeys: [KEY_B], ...(options.globexEvents ? { events: options.globexEvents } : {}) },
    },
    bots: {
      'acme-bank': {
        workspace: 'acme',
        numbers: { sms: ['+15005550006'] },
        auth: {
          'bank-login': login('https://auth.acme.example/token'),
          'member-pin': {
            type: 'verify',
            url: 'https://acme.example/verify',
            fields: [
              { name: 'auth_id', prompt: 'Member number?', keypad: true },
              { name: 'auth_code', prompt: 'PIN?', keypad: true, secret: true },
            ],
          },
        },
        flows: { main: [{ say: 'Hello' }] },
      },
      'globex-bot': {
        workspace: 'globex',
        numbers: { sms: ['+15005550007'] },
        auth: { 'globex-login': login('https://auth.globex.example/token') },
        flows: { main: [{ say: 'Hi' }] },
      },
    },
  });
}

/** A logger whose lines are kept, so tests can assert that no secret was written. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', stream }), lines };
}

export interface IdentityWorld {
  redis: Redis;
  prefix: string;
  keys: IdentityKeys;
  cipher: DataCipher;
  tokens: RedisTokenStore;
  identity: IdentityStore;
  linkCodes: LinkCodes;
  config: { current: Config };
  logger: Logger;
  logLines: string[];
  /** A clock the test can move forward (ms); used only with `useClock`. */
  clock: { now: number };
  /** The clock every store (and the API) of this world reads. */
  now: () => number;
  /** Every key under the test's prefix. */
  scan(): Promise<string[]>;
  close(): Promise<void>;
}

export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: the vitest global setup provides a Redis');
  return url;
}

export async function scanPrefix(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

export async function identityWorld(
  options: { config?: Config; events?: EventSink; cipher?: DataCipher; useClock?: boolean } = {},
): Promise<IdentityWorld> {
  const base = await startHarness({ gateway: false, label: 'identity', redisUrl: redisUrl() });
  const { redis, prefix } = base;
  const key = base.processEnv.SWITCHBOARD_DATA_KEY!;
  const keys = new IdentityKeys(keysFor(prefix, key));
  const cipher = options.cipher ?? createDataCipher(key);
  const clock = { now: Date.now() };
  const now = options.useClock ? () => clock.now : Date.now;
  const tokens = new RedisTokenStore(redis, keys, cipher, { now });
  const identity = new IdentityStore({
    redis,
    keys,
    cipher,
    tokens,
    now,
    ...(options.events ? { events: options.events } : {}),
  });
  const linkCodes = new LinkCodes({ codes: new LinkCodeStore(redis, keys, cipher, { now }), identity, now });
  const { logger, lines } = capturingLogger();
  return {
    redis,
    prefix,
    keys,
    cipher,
    tokens,
    identity,
    linkCodes,
    config: { current: options.config ?? testConfig() },
    logger,
    logLines: lines,
    clock,
    now,
    scan: () => scanPrefix(redis, prefix),
    close: () => base.close(),
  };
}

export interface ApiServer {
  url: string;
  close(): Promise<void>;
}

/** A small express app with only the operator API router, on 127.0.0.1. */
export async function startApi(world: IdentityWorld): Promise<ApiServer> {
  const app = express();
  app.use(
    operatorApiRouter({
      directory: () => ({ config: world.config.current }),
      limiter: new FixedWindowLimiter(world.redis),
      keys: world.keys,
      identity: world.identity,
      tokens: world.tokens,
      linkCodes: world.linkCodes,
      logger: world.logger,
      now: world.now,
    }),
  );
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type CallResult = JsonAnswer;

/** One operator API call: JSON in, JSON out. `body` as a string is sent as is. */
export async function call(
  api: ApiServer,
  method: string,
  path: string,
  options: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<CallResult> {
  return jsonRequest(api.url, method, path, {
    ...options,
    key: options.key === undefined ? KEY_A : options.key,
  });
}
