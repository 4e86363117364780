// A Redis Cluster (3 masters, 2 replicas each) loses a master under load: every message answered once, in order, its history complete, no conversation stalled.
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { ECHO_BOT } from '../../support/bots.js';
import { configVariables } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import {
  deleteClusterPrefix,
  masterOf,
  startRedisCluster,
  type RunningRedisCluster,
} from '../../support/redis-cluster.js';

const NODE_TIMEOUT_MS = 1000;
const API_KEY = configVariables().TEST_API_KEY!;
const MESSAGES = 10;

let cluster: RunningRedisCluster;
let client: Cluster;
let h: Harness;

beforeAll(async () => {
  // Two replicas each: after the failover the promoted master still has one to acknowledge its writes.
  cluster = await startRedisCluster(3, { replicas: 2, nodeTimeoutMs: NODE_TIMEOUT_MS });
  client = await cluster.client();
  h = await startHarness({
    bots: ECHO_BOT,
    label: 'cluster-failover',
    redisUrl: cluster.nodes[0]!.url,
    env: {
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_CLUSTER_NODES: cluster.nodeList,
      REDIS_CLUSTER_NODE_TIMEOUT_MS: String(NODE_TIMEOUT_MS),
      SWITCHBOARD_QUEUE_SHARDS: '3',
      // A master killed with -9 loses what it acknowledged but had not yet replicated: only replica
      // acknowledgement makes "no history line missing" hold for every run, not most.
      SWITCHBOARD_DURABILITY: 'replica',
    },
  });
}, 60_000);

afterAll(async () => {
  await h?.main?.close();
  if (h && client) await deleteClusterPrefix(client, h.prefix).catch(() => undefined);
  await h?.close();
  client?.disconnect();
  await cluster?.stop();
}, 60_000);

/** Posts a message as Twilio does: the same MessageSid again after a 503, until it is answered 200. */
async function deliver(from: string, text: string): Promise<{ statuses: number[]; acceptedAt: number }> {
  const params = h.webhooks.smsParams(from, text);
  const statuses: number[] = [];
  for (let tries = 0; tries < 300; tries++) {
    const answer = await h.webhooks.post('/webhooks/sms', params);
    statuses.push(answer.status);
    if (answer.status === 200) return { statuses, acceptedAt: Date.now() };
    expect(answer.status).toBe(503);
    // Twilio's retry comes a while later, not at once.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`"${text}" from ${from} was never answered 200: ${statuses.join(',')}`);
}

describe('a Redis Cluster with replicas losing a master under load', () => {
  it('answers every accepted message exactly once and in order, records all its history, and stalls no conversation', async () => {
    // Twelve texters over every master; the victim is the master of the first one's conversation.
    const texters = Array.from({ length: 12 }, (_, i) => `+1202555${String(700 + i).padStart(4, '0')}`);
    const victim = await masterOf(client, h.keys.state(h.keys.conversationId('echo', `sms:${texters[0]}`)));
    const onVictim: string[] = [];
    for (const phone of texters) {
      if ((await masterOf(client, h.keys.state(h.keys.conversationId('echo', `sms:${phone}`)))) === victim)
        onVictim.push(phone);
    }
    const victimNode = cluster.nodes.find((n) => `127.0.0.1:${n.port}` === victim)!;
    const replication = async (port: number) => {
      const node = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        return await node.info('replication');
      } finally {
        node.disconnect();
      }
    };
    const heirs: number[] = [];
    for (const node of cluster.nodes) {
      if ((await replication(node.port)).includes(`master_port:${victimNode.port}`)) heirs.push(node.port);
    }
    expect(heirs).toHaveLength(2);

    let answered = 0;
    let killedAt = 0;
    const accepted = new Map<string, number[]>();
    const statuses: number[] = [];
    await Promise.all(
      texters.map(async (from) => {
        const times: number[] = [];
        for (let i = 0; i < MESSAGES; i++) {
          const result = await deliver(from, `m${i}`);
          statuses.push(...result.statuses);
          times.push(result.acceptedAt);
          // Kill the master once the load is running, with turns in flight on it.
          if (++answered === texters.length * 3) {
            victimNode.process.kill('SIGKILL');
            killedAt = Date.now();
          }
        }
        accepted.set(from, times);
      }),
    );
    expect(killedAt).toBeGreaterThan(0);

    const expected = Array.from({ length: MESSAGES }, (_, i) => `got m${i}`);
    let longestWait = 0;
    for (const from of texters) {
      const replies = await h.twilio.waitForMessages(from, MESSAGES, 30_000);
      expect(replies.map((m) => m.body)).toEqual(expected);
      for (const [i, reply] of replies.entries()) {
        longestWait = Math.max(longestWait, reply.at - accepted.get(from)![i]!);
      }
    }
    // The replica took over the victim's slots: the conversations there really went through a failover.
    expect(onVictim.length).toBeGreaterThan(0);
    const promoted = await Promise.all(
      heirs.map(async (port) => /^role:master/m.test(await replication(port))),
    );
    expect(promoted.filter(Boolean)).toHaveLength(1);
    // A promotion takes up to about twice the node timeout; no reply waited much longer than that.
    expect(longestWait).toBeLessThan(2 * NODE_TIMEOUT_MS + 5000);

    // Every line of every conversation is in its history, in order: none dropped during the failover.
    for (const from of texters) {
      const userId = `anon:${new IdentityKeys(h.keys).identityHash('test', `sms:${from}`)}`;
      const res = await fetch(`${h.main!.url}/v1/users/${userId}/history?limit=100`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      expect(res.status).toBe(200);
      const { entries } = (await res.json()) as { entries: { direction: string; text: string }[] };
      const lines = entries.map((e) => `${e.direction} ${e.text}`);
      // A turn's lines are written again when the answer to their write was lost with the master (the
      // write is retried, not dropped): that turn then appears twice in a row. Nothing may be missing.
      const once: string[] = [];
      for (let i = 0; i < lines.length; i += 2) {
        const turn = `${lines[i]}|${lines[i + 1]}`;
        if (once.length < 2 || turn !== `${once.at(-2)}|${once.at(-1)}`) once.push(lines[i]!, lines[i + 1]!);
      }
      expect(once).toEqual(Array.from({ length: MESSAGES }, (_, i) => [`in m${i}`, `out got m${i}`]).flat());
    }
    expect(h.main!.logs.find('history not written; gave up')).toEqual([]);
  }, 40_000);
});
