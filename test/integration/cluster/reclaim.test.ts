// A Redis Cluster master fails over while a send worker holds a job it never heard of (its answer was lost with that master): the job is handed back at once, not when its lock lapses; one it fetched and has not started stays.
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEND_QUEUE } from '../../../src/queue/queues.js';
import { ReclaimingWorker, reclaimAfterOutage, tracked } from '../../../src/queue/reclaim.js';
import { bullmqQueueKey } from '../../../src/store/keys.js';
import { captureLogs } from '../../support/logs.js';
import {
  deleteClusterPrefix,
  masterOf,
  startRedisCluster,
  type RunningRedisCluster,
} from '../../support/redis-cluster.js';
import { eventually } from '../../support/wait.js';

const NODE_TIMEOUT_MS = 1000;
const LOCK_MS = 30_000;
const prefix = `test-reclaim-${randomBytes(4).toString('hex')}:{send0}`;

let cluster: RunningRedisCluster;
let client: Cluster;
let connection: Cluster | undefined;
let queue: Queue | undefined;
let worker: Worker | undefined;
let lost: Worker | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster(3, { replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS });
  client = await cluster.client();
}, 60_000);

afterAll(async () => {
  await worker?.close(true).catch(() => undefined);
  await lost?.close(true).catch(() => undefined);
  await queue?.close().catch(() => undefined);
  connection?.disconnect();
  if (client) await deleteClusterPrefix(client, prefix.split(':')[0]!).catch(() => undefined);
  client?.disconnect();
  await cluster?.stop();
}, 60_000);

describe('a worker on a Redis Cluster whose queue master fails over', () => {
  it('hands back the active job locked with its token that it never got, long before the lock lapses, and keeps the one it did', async () => {
    // As the gateway connects a worker: commands retried through the failover, never given up.
    connection = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      {
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        retryDelayOnTryAgain: 200,
        maxRedirections: Math.ceil((2 * NODE_TIMEOUT_MS + 5000) / 200),
        redisOptions: { maxRetriesPerRequest: null },
      },
    );
    connection.on('error', () => undefined);
    const redis = connection as unknown as Redis;
    queue = new Queue(SEND_QUEUE, { connection: redis, prefix });
    queue.on('error', () => undefined);
    const { logger, logs } = captureLogs('info', 'reclaim');
    const jobs = tracked(async () => undefined);
    worker = new ReclaimingWorker(SEND_QUEUE, jobs.process, {
      connection: redis,
      prefix,
      autorun: false,
      lockDuration: LOCK_MS,
    });
    worker.on('error', () => undefined);
    jobs.attach(worker);
    reclaimAfterOutage(worker, redis, logger, SEND_QUEUE);

    // Redis moved the job to active under the worker's lock, and the worker never got the answer: here
    // another client's fetch stands for the answer lost with the master.
    lost = new Worker(SEND_QUEUE, null, { connection: redis, prefix, autorun: false });
    lost.on('error', () => undefined);
    const added = await queue.add('kick', { cid: 'c1' });
    const taken = await lost.getNextJob(`${worker.id}:lost`);
    expect(taken?.id).toBe(added.id);
    // And one it did get, and has not started yet (BullMQ fetches the next job before it starts one).
    const next = await queue.add('kick', { cid: 'c2' });
    expect((await worker.getNextJob(`${worker.id}:7`))?.id).toBe(next.id);
    const active = bullmqQueueKey(prefix, SEND_QUEUE, 'active');
    const owner = await masterOf(client, active);
    const master = cluster.nodes.find((n) => `127.0.0.1:${n.port}` === owner)!;
    // Its replica holds the active job too (the failover keeps it, as it would keep one moved just before).
    let heir: number | undefined;
    for (const node of cluster.nodes) {
      const probe = new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        if ((await probe.info('replication')).includes(`master_port:${master.port}`)) heir = node.port;
      } finally {
        probe.disconnect();
      }
    }
    expect(heir).toBeDefined();
    const replica = new Redis(heir!, '127.0.0.1', { maxRetriesPerRequest: 1 });
    try {
      await replica.call('READONLY');
      await eventually(
        async () => ((await replica.lrange(active, 0, -1)).length === 2 ? true : undefined),
        'the replica has the active jobs',
      );
    } finally {
      replica.disconnect();
    }

    master.process.kill('SIGKILL');
    const killedAt = Date.now();
    await logs.waitForMessage('jobs handed back after a Redis outage', () => true, 15_000);
    const wait = bullmqQueueKey(prefix, SEND_QUEUE, 'wait');
    expect(await connection.lrange(wait, 0, -1)).toEqual([added.id]);
    expect(await connection.lrange(active, 0, -1)).toEqual([next.id]);
    // Within the failover and a few seconds more; the lock alone would have held it for 30 s.
    expect(Date.now() - killedAt).toBeLessThan(2 * NODE_TIMEOUT_MS + 5000);
    expect(logs.find('jobs handed back after a Redis outage')).toMatchObject([
      { queue: SEND_QUEUE, jobs: 1 },
    ]);
  }, 60_000);
});
