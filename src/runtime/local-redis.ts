// Finds a Redis that answers, or starts a private redis-server for development and tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';

export interface RunningRedis {
  url: string;
  /** Stops the server when this module started it; a no-op for one that was already running. */
  stop(): Promise<void>;
}

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts a private, memory-only redis-server on a free loopback port. */
export async function startRedisServer(
  port?: number,
): Promise<RunningRedis & { port: number; process: ChildProcess }> {
  const chosen = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${chosen}`;
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers(url)) break;
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
 * `switchboard start`: use the Redis at `url`; when none answers and redis-server is on the PATH,
 * start a private one for development and say so.
 */
export async function localRedis(url: string, allowStart: boolean, logger: Logger): Promise<RunningRedis> {
  if (await redisAnswers(url)) return { url, stop: async () => undefined };
  if (!allowStart || !onPath('redis-server')) {
    throw new Error(
      `No Redis answers at ${url}. Start one (redis-server, or docker run -p 6379:6379 redis:7) ` +
        'or set REDIS_URL to a Redis you have.',
    );
  }
  const started = await startRedisServer();
  logger.warn(
    'no Redis answered; started a private redis-server for development (memory only, stops with this process)',
    {
      redis: started.url,
    },
  );
  return started;
}
