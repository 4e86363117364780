// Finds a Redis that answers, or (sandbox only) starts a private redis-server for development and tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import { withoutCredentials, type Logger } from '../log.js';

export interface RunningRedis {
  url: string;
  /** Stops the server when this module started it; a no-op for one that was already running. */
  stop(): Promise<void>;
}

/** No usable Redis at start-up: a message for the operator (credentials removed), no stack trace. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** `answers`, or why not: nothing listening, or a Redis that refused the user or password given. */
export type RedisProbe = 'answers' | 'unreachable' | 'credentials refused';

export async function probeRedis(url: string): Promise<RedisProbe> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  // A refused AUTH arrives as an 'error' event; the connect promise only says the connection closed.
  let reported: unknown;
  client.on('error', (error) => (reported = error));
  try {
    await client.connect();
    return (await client.ping()) === 'PONG' ? 'answers' : 'unreachable';
  } catch (error) {
    return /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(`${String(reported)} ${String(error)}`)
      ? 'credentials refused'
      : 'unreachable';
  } finally {
    client.disconnect();
  }
}

export async function redisAnswers(url: string): Promise<boolean> {
  return (await probeRedis(url)) === 'answers';
}

/** Binds `port` on loopback (0: any) and lets it go; resolves with the port bound, or undefined when taken. */
function tryPort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.on('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** The kernel's range of ports for outgoing connections (Linux), when it can be read. */
function ephemeralRange(): [number, number] | undefined {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return low && high ? [Number(low), Number(high)] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A loopback port free now, for a server that starts a moment later (a redis-server, a process spawned with
 * PORT). Drawn below the kernel's range for outgoing connections when there is room: a port from that
 * range may be handed to any process's next connection before the server binds it.
 */
export async function freePort(): Promise<number> {
  const range = ephemeralRange();
  if (range && range[0] > 12_000) {
    for (let i = 0; i < 20; i++) {
      const port = await tryPort(randomInt(10_000, range[0]));
      if (port !== undefined) return port;
    }
  }
  const port = await tryPort(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}

/** Starts a private, memory-only redis-server on a free loopback port; `args` are added to its command line. */
export async function startRedisServer(
  port?: number,
  args: string[] = [],
): Promise<RunningRedis & { port: number; process: ChildProcess }> {
  const chosen = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${chosen}`;
  for (let i = 0; i < 100; i++) {
    // One that asks for a password is up too.
    if ((await probeRedis(url)) !== 'unreachable') break;
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port: chosen,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function ensureRedis(url: string): Promise<RunningRedis> {
  if (await redisAnswers(url)) return { url, stop: async () => undefined };
  return startRedisServer();
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(`${dir}/${command}`));
}

/**
 * `switchboard start`: use the Redis at `url`. Only in sandbox mode (`mayStart`), when none answers and
 * redis-server is on the PATH, is a private one started and said so: in production a second, empty
 * Redis would split the gateway's state (lockouts, dedupe, queues) from the other processes'.
 */
export async function localRedis(
  url: string,
  options: { mayStart: boolean; sandbox: boolean },
  logger: Logger,
): Promise<RunningRedis> {
  const probe = await probeRedis(url);
  if (probe === 'answers') return { url, stop: async () => undefined };
  const shown = withoutCredentials(url);
  if (probe === 'credentials refused') {
    throw new RedisUnavailableError(
      `The Redis at ${shown} (REDIS_URL) refused the user or password: put the ones it expects in REDIS_URL.`,
    );
  }
  if (!options.sandbox) {
    throw new RedisUnavailableError(
      `No Redis answers at ${shown} (REDIS_URL), and outside sandbox mode Switchboard does not start one of its own: ` +
        'start your Redis or set REDIS_URL to it.',
    );
  }
  if (!options.mayStart || !onPath('redis-server')) {
    throw new RedisUnavailableError(
      `No Redis answers at ${shown} (REDIS_URL). Start one (redis-server, or docker run -p 6379:6379 redis:7) ` +
        'or set REDIS_URL to a Redis you have.',
    );
  }
  const started = await startRedisServer();
  logger.warn(
    'no Redis answered; started a private redis-server for the sandbox (memory only, stops with this process)',
    {
      redis: started.url,
    },
  );
  return started;
}
