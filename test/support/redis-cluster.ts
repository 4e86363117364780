// A real Redis Cluster on loopback for tests: memory-only masters (and replicas, for failovers), in a temporary directory.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from '../../src/main/local-redis.js';
import { eventually } from './wait.js';

const run = promisify(execFile);

export interface RedisClusterNode {
  port: number;
  url: string;
  process: ChildProcess;
  /** Set when the server could not be started at all (redis-server not on the PATH). */
  failure?: Error;
}

export interface RunningRedisCluster {
  nodes: RedisClusterNode[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…`, as REDIS_CLUSTER_NODES takes it. */
  readonly nodeList: string;
  /** A cluster client for assertions (the caller disconnects it). */
  client(): Promise<Cluster>;
  /** Stops every server and removes the temporary directory. */
  stop(): Promise<void>;
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Resolves when a redis-server answers PING; rejects if it exits first. */
async function answering(node: RedisClusterNode): Promise<void> {
  const probe = new Redis(node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined);
  try {
    await eventually(async () => {
      if (node.failure) throw node.failure;
      if (node.process.exitCode !== null) throw new Error(`redis-server :${node.port} exited`);
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG' ? true : undefined;
      } catch {
        return undefined;
      }
    }, `redis-server :${node.port} answers`);
  } finally {
    probe.disconnect();
  }
}

export interface RedisClusterOptions {
  /** Replicas per master (redis-cli places them); 0 by default. */
  replicas?: number;
  /** `cluster-node-timeout` (ms): how long a master is unreachable before its replica is promoted. */
  nodeTimeoutMs?: number;
}

/**
 * Starts `masters × (1 + replicas)` cluster-enabled redis-servers on free loopback ports, joins them
 * with `redis-cli --cluster create`, and waits until every node reports `cluster_state:ok` (and every
 * replica is in sync with its master).
 */
export async function startRedisCluster(
  masters = 3,
  { replicas = 0, nodeTimeoutMs = 15_000 }: RedisClusterOptions = {},
): Promise<RunningRedisCluster> {
  const count = masters * (1 + replicas);
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-cluster-'));
  const nodes: RedisClusterNode[] = [];
  const stop = async () => {
    for (const node of nodes) node.process.kill('SIGKILL');
    await Promise.all(nodes.map((node) => exited(node.process)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    /** One node on free ports; a port taken by another process between the check and the bind makes
     * redis-server exit, so it is started again on others (up to three times). */
    const startNode = async (): Promise<RedisClusterNode> => {
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        // The cluster bus listens on a port of its own: a free one too, given explicitly (the default,
        // port + 10000, is past 65535 for much of the ephemeral range, and redis-server then exits).
        const busPort = await freePort();
        const child = spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--cluster-port',
            String(busPort),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--dir',
            dir,
            '--save',
            '',
            '--appendonly',
            'no',
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
          ],
          { stdio: 'ignore' },
        );
        const node: RedisClusterNode = { port, url: `redis://127.0.0.1:${port}`, process: child };
        child.once('error', (error) => (node.failure = error));
        try {
          await answering(node);
          return node;
        } catch (error) {
          if (attempt < 3 && node.process.exitCode !== null) continue;
          node.process.kill('SIGKILL');
          throw error;
        }
      }
    };
    for (let i = 0; i < count; i++) nodes.push(await startNode());
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    // The nodes agree on the slots through the cluster bus; nothing announces when that is done but CLUSTER INFO.
    for (const node of nodes) {
      const probe = new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        await eventually(
          async () => {
            if (!(await probe.cluster('INFO')).includes('cluster_state:ok')) return undefined;
            const replication = await probe.info('replication');
            return replication.includes('role:master') || replication.includes('master_link_status:up')
              ? true
              : undefined;
          },
          `node :${node.port} reports cluster_state:ok (and is in sync if a replica)`,
          { timeoutMs: 15_000, intervalMs: 50 },
        );
      } finally {
        probe.disconnect();
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const nodeList = nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  return {
    nodes,
    nodeList,
    async client() {
      const cluster = new Cluster(
        nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
        { redisOptions: { maxRetriesPerRequest: 1 } },
      );
      cluster.on('error', () => undefined); // reported through the commands that fail
      await new Promise<void>((resolve) => cluster.once('ready', resolve));
      return cluster;
    },
    stop,
  };
}

/** Every key under `prefix:` on each master, by node port (SCAN runs on one node at a time). */
export async function keysPerMaster(cluster: Cluster, prefix: string): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  for (const node of cluster.nodes('master')) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    found.set(node.options.port!, keys);
  }
  return found;
}

/** Deletes every key under `prefix:` in the whole cluster (one UNLINK per key: they are on many slots). */
export async function deleteClusterPrefix(cluster: Cluster, prefix: string): Promise<number> {
  let deleted = 0;
  for (const keys of (await keysPerMaster(cluster, prefix)).values()) {
    for (const key of keys) deleted += await cluster.unlink(key);
  }
  return deleted;
}

/** The master (`host:port`) that owns a key's slot, as the cluster client sees it now. */
export async function masterOf(cluster: Cluster, key: string): Promise<string> {
  const slot = (await cluster.cluster('KEYSLOT', key)) as number;
  return cluster.slots[slot]![0]!;
}
