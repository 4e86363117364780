// On a real three-master Redis Cluster the live index sits in its workspace's slot, not the conversations':
// conversations on every master are listed, and a conversation that ends leaves the index.
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botYaml, NUMBERS } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { jsonRequest } from '../../support/json-api.js';
import {
  deleteClusterPrefix,
  masterOf,
  startRedisCluster,
  type RunningRedisCluster,
} from '../../support/redis-cluster.js';
import { newSid } from '../../support/webhooks.js';
import { API_KEY } from './helpers.js';

const DESK = botYaml(
  'desk',
  `    flows:
      main:
        - ask: { prompt: "Your name?", save: name }
        - end: "Thanks."`,
  { sms: NUMBERS.sms },
);

let cluster: RunningRedisCluster;
let client: Cluster;
let h: Harness;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  client = await cluster.client();
  h = await startHarness({
    bots: DESK,
    label: 'live-cluster',
    redisUrl: cluster.nodes[0]!.url,
    env: { REDIS_URL: 'redis://127.0.0.1:1', REDIS_CLUSTER_NODES: cluster.nodeList },
  });
}, 60_000);

afterAll(async () => {
  await h?.main?.close();
  if (h && client) await deleteClusterPrefix(client, h.prefix);
  await h?.close();
  client?.disconnect();
  await cluster?.stop();
}, 60_000);

describe('the live index on a Redis Cluster', () => {
  it('lists conversations whose keys are on every master, and drops one that ended', async () => {
    const masters = new Set(client.nodes('master').map((n) => `${n.options.host}:${n.options.port}`));
    const phones: string[] = [];
    const seen = new Set<string>();
    for (let i = 100; i < 400 && seen.size < masters.size; i++) {
      const phone = `+1202556${String(i).padStart(4, '0')}`;
      const master = await masterOf(client, h.keys.state(h.conversation('desk', `sms:${phone}`)));
      if (seen.has(master)) continue;
      seen.add(master);
      phones.push(phone);
    }
    expect(seen).toEqual(masters);
    for (const phone of phones) {
      const sid = newSid();
      await h.webhooks.sms(phone, 'hi', { MessageSid: sid });
      await h.handled(sid);
    }
    const list = async () =>
      (
        (await jsonRequest(h.main!.url!, 'GET', '/v1/conversations', { key: API_KEY })).json as {
          conversations: { identity: { address: string }; state: string }[];
        }
      ).conversations;
    const listed = await list();
    expect(listed.map((c) => c.identity.address).sort()).toEqual([...phones].sort());
    expect(listed.every((c) => c.state === 'waiting')).toBe(true);

    const done = newSid();
    await h.webhooks.sms(phones[0]!, 'Ada', { MessageSid: done });
    await h.handled(done);
    expect((await list()).map((c) => c.identity.address).sort()).toEqual(phones.slice(1).sort());
    expect(
      await client.zscore(h.keys.liveConversations('test'), h.conversation('desk', `sms:${phones[0]}`)),
    ).toBeNull();
  }, 60_000);
});
