// A real Redis primary with replicas and one Sentinel on loopback, memory-only, for durability and failover tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/main/local-redis.js';
import { exited } from './redis-cluster.js';
import { eventually } from './wait.js';

export interface ReplicaNode {
  port: number;
  url: string;
  process: ChildProcess;
}

export interface RunningReplicaSet {
  primary: ReplicaNode;
  replicas: ReplicaNode[];
  sentinelPort: number;
  /** The name the Sentinel monitors the primary under (REDIS_SENTINEL_NAME). */
  readonly name: string;
  /** The port the Sentinel names as primary now. */
  currentPrimary(): Promise<number>;
  stop(): Promise<void>;
}

/** Polls a server until `check` accepts its answer (nothing announces a server's readiness but its answers). */
async function until(port: number, what: string, check: (redis: Redis) => Promise<boolean>): Promise<void> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined);
  try {
    await eventually(
      async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await check(probe)) ? true : undefined;
        } catch {
          return undefined;
        }
      },
      what,
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  } finally {
    probe.disconnect();
  }
}

function server(port: number, dir: string, extra: string[]): ReplicaNode {
  // --dir: a replica's full sync writes an RDB file there.
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      ...extra,
    ],
    { stdio: 'ignore' },
  );
  return { port, url: `redis://127.0.0.1:${port}`, process: child };
}

/**
 * Starts a primary, `replicas` replicas of it and a Sentinel that fails over after `downAfterMs`
 * without an answer from the primary; resolves once the replicas are in sync and the Sentinel knows them.
 */
export async function startReplicaSet({
  replicas: count = 1,
  downAfterMs = 1000,
} = {}): Promise<RunningReplicaSet> {
  const name = 'durable';
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-replicas-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) {
      child.kill('SIGCONT'); // a test may have stopped one
      child.kill('SIGKILL');
    }
    await Promise.all(children.map(exited));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const primary = server(await freePort(), dir, []);
    children.push(primary.process);
    await until(primary.port, 'the primary answers', async (r) => (await r.ping()) === 'PONG');
    const replicas: ReplicaNode[] = [];
    for (let i = 0; i < count; i++) {
      const replica = server(await freePort(), dir, ['--replicaof', '127.0.0.1', String(primary.port)]);
      children.push(replica.process);
      replicas.push(replica);
      await until(replica.port, 'the replica is in sync', async (r) =>
        (await r.info('replication')).includes('master_link_status:up'),
      );
    }
    const sentinelPort = await freePort();
    const conf = join(dir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} 5000`,
        '',
      ].join('\n'),
    );
    const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    children.push(sentinel);
    await until(sentinelPort, 'the sentinel knows the primary and its replicas', async (r) => {
      const known = (await r.call('SENTINEL', 'replicas', name)) as unknown[];
      return known.length === count;
    });
    return {
      primary,
      replicas,
      sentinelPort,
      name,
      async currentPrimary() {
        const probe = new Redis(sentinelPort, '127.0.0.1', { maxRetriesPerRequest: 1 });
        try {
          const [, port] = (await probe.call('SENTINEL', 'get-master-addr-by-name', name)) as string[];
          return Number(port);
        } finally {
          probe.disconnect();
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
