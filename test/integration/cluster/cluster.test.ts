// REDIS_CLUSTER_NODES: the gateway runs on a real three-master Redis Cluster on loopback, end to end.
import { createHash } from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../../src/env.js';
import { shardOf } from '../../../src/queue/queues.js';
import { createDataCipher } from '../../../src/store/cipher.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { legacyNamesDone } from '../../../src/store/keys.js';
import { botYaml, configVariables, NUMBERS, PUBLIC_URL } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import {
  deleteClusterPrefix,
  keysPerMaster,
  masterOf,
  startRedisCluster,
  type RunningRedisCluster,
} from '../../support/redis-cluster.js';
import { twimlAttribute } from '../../support/twiml.js';
import { newSid } from '../../support/webhooks.js';
import { places } from '../../../src/store/places.js';
import { sealTheOldWay } from '../../support/legacy-seal.js';

const SHARDS = 3;
const API_KEY = configVariables().TEST_API_KEY!;
const XML = '<?xml version="1.0" encoding="UTF-8"?>';
const SAY = '<Say voice="Polly.Joanna" language="en-US">';

/** Answers every text with "got <text>" (the echo bot of the backbone tests, on SMS and WhatsApp only). */
const ECHO = botYaml(
  'echo',
  `    rateLimit: { messagesPerMinute: 100000 }
    flows:
      main:
        - ask: { prompt: "got {{input}}", save: last }
        - goto: main`,
  { sms: NUMBERS.sms, whatsapp: NUMBERS.whatsapp },
);

/** A keypad line on the voice number. */
const PHONE_LINE = botYaml(
  'phone-line',
  `    voice: { replyWaitMs: 5000, gatherTimeout: 5 }
    flows:
      main:
        - ask: { prompt: "Enter your code.", save: code, keypad: true, digits: 4 }
        - end: "You entered {{code}}. Goodbye."`,
  { voice: NUMBERS.voice },
);

/** Someone texting the echo bot, and the master their conversation's keys live on (`host:port`). */
interface Texter {
  phone: string;
  cid: string;
  master: string;
}

let cluster: RunningRedisCluster;
let client: Cluster;
let h: Harness;
let texters: Texter[];

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  client = await cluster.client();
  h = await startHarness({
    bots: `${ECHO}\n${PHONE_LINE}`,
    label: 'cluster',
    // The harness's own plain connection goes to one node; assertions use the cluster client.
    redisUrl: cluster.nodes[0]!.url,
    env: {
      // An address that leads nowhere: only the node list can have found the cluster.
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_CLUSTER_NODES: cluster.nodeList,
      SWITCHBOARD_QUEUE_SHARDS: String(SHARDS),
    },
  });
  texters = await spreadTexters();
}, 60_000);

afterAll(async () => {
  // Stop the gateway before deleting its keys, then let the harness find nothing left on its one node.
  await h?.main?.close();
  if (h && client) await deleteClusterPrefix(client, h.prefix);
  await h?.close();
  client?.disconnect();
  await cluster?.stop();
}, 60_000);

/** Phone numbers whose echo conversations cover every master and every queue shard. */
async function spreadTexters(): Promise<Texter[]> {
  const masters = new Set(client.nodes('master').map((n) => `${n.options.host}:${n.options.port}`));
  const chosen: Texter[] = [];
  const seenMasters = new Set<string>();
  const seenShards = new Set<number>();
  for (let i = 100; i < 400 && (seenMasters.size < masters.size || seenShards.size < SHARDS); i++) {
    const phone = `+1202555${String(i).padStart(4, '0')}`;
    const cid = h.keys.conversationId('echo', `sms:${phone}`);
    const master = await masterOf(client, h.keys.state(cid));
    const shard = shardOf(cid, SHARDS);
    if (seenMasters.has(master) && seenShards.has(shard)) continue;
    seenMasters.add(master);
    seenShards.add(shard);
    chosen.push({ phone, cid, master });
  }
  expect(seenMasters).toEqual(masters);
  expect(seenShards.size).toBe(SHARDS);
  return chosen;
}

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${h.main!.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${API_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('REDIS_CLUSTER_NODES', () => {
  it('is validated: host:port pairs, not with Sentinel, database 0 only', () => {
    const base = { REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(readEnv({ ...base, REDIS_CLUSTER_NODES: 'a:1,b:2' }).REDIS_CLUSTER_NODES).toBe('a:1,b:2');
    expect(() => readEnv({ ...base, REDIS_CLUSTER_NODES: 'a,b:2' })).toThrow(/REDIS_CLUSTER_NODES: must be/);
    expect(() => readEnv({ ...base, REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINELS: 's:26379' })).toThrow(
      /REDIS_CLUSTER_NODES: .*set one of them/,
    );
    expect(() => readEnv({ REDIS_URL: 'redis://:pw@x/2', REDIS_CLUSTER_NODES: 'a:1' })).toThrow(
      /REDIS_URL: .*database 0 only/,
    );
  });
});

describe('on a three-master Redis Cluster', () => {
  it('answers SMS conversations on every master and every queue shard with their exact replies', async () => {
    const answers = await Promise.all(texters.map((t, i) => h.webhooks.sms(t.phone, `hello ${i}`)));
    expect(answers.map((a) => a.status)).toEqual(texters.map(() => 200));
    for (const [i, t] of texters.entries()) {
      const [reply] = await h.twilio.waitForMessages(t.phone, 1);
      expect(reply!.body).toBe(`got hello ${i}`);
    }
    // A second turn each, in order, on the same conversations.
    await Promise.all(texters.map((t) => h.webhooks.sms(t.phone, 'again')));
    for (const [i, t] of texters.entries()) {
      const replies = await h.twilio.waitForMessages(t.phone, 2);
      expect(replies.map((r) => r.body)).toEqual([`got hello ${i}`, 'got again']);
    }
  });

  it('spreads the keys over more than one master: conversations on each, queue shards on several', async () => {
    const perMaster = await keysPerMaster(client, h.prefix);
    const withKeys = [...perMaster.values()].filter((keys) => keys.length > 0);
    expect(withKeys.length).toBe(cluster.nodes.length);
    // Each texter's conversation state sits on the master its hash tag names, and nowhere else.
    for (const t of texters) {
      const holders = [...perMaster.entries()].filter(([, keys]) => keys.includes(h.keys.state(t.cid)));
      expect(holders.map(([port]) => `127.0.0.1:${port}`)).toEqual([t.master]);
    }
    const queueMasters = new Set<string>();
    for (let shard = 0; shard < SHARDS; shard++) {
      queueMasters.add(await masterOf(client, h.keys.kicks(shard, 'due')));
    }
    expect(queueMasters.size).toBeGreaterThan(1);
  });

  it('reports ready, counts every queue shard in /metrics, and records a failed delivery once', async () => {
    const ready = await fetch(`${h.main!.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { redis: true, workers: true } });
    // The gauge is only set when counting the jobs of every shard succeeded.
    const metrics = await (await fetch(`${h.main!.url}/metrics`)).text();
    expect(metrics).toMatch(/^switchboard_queue_depth\{queue="conversations"\} \d+$/m);
    expect(metrics).toMatch(/^switchboard_queue_depth\{queue="sends"\} \d+$/m);

    const sid = newSid();
    // A reply Twilio accepted, as the send worker remembers it: only those can be reported as failed.
    const sent = h.keys.sent(texters[0]!.cid, sid);
    await client.set(sent, '1', 'EX', 600);
    const status = {
      AccountSid: h.webhooks.accountSid,
      MessageSid: sid,
      MessageStatus: 'undelivered',
      ErrorCode: '30003',
      From: NUMBERS.sms,
      To: texters[0]!.phone,
    };
    expect((await h.webhooks.post('/webhooks/status', status)).status).toBe(204);
    expect((await h.webhooks.post('/webhooks/status', status)).status).toBe(204);
    expect(await client.exists(sent)).toBe(0);
    // Recorded once: the first callback took the key on its master, the second found none.
    expect(
      h.main!.logs.lines.filter((line) => JSON.stringify(line).includes(sid)).map((line) => line.message),
    ).toEqual([
      'message delivery failed',
      'status callback for a message we did not send or already reported; ignored',
    ]);
  });

  it('answers a call with its TwiML: the turn is announced across the cluster to the waiting webhook', async () => {
    // Find the node the gateway listens on for finished turns, and a caller whose turns land on another one.
    let listening: string | undefined;
    for (const node of client.nodes('master')) {
      const [, count] = (await node.pubsub('NUMSUB', h.keys.turnsChannel())) as [string, number];
      if (Number(count) > 0) listening = `${node.options.host}:${node.options.port}`;
    }
    expect(listening).toBeDefined();
    let caller: string | undefined;
    for (let i = 500; i < 600 && !caller; i++) {
      const phone = `+1212555${String(i).padStart(4, '0')}`;
      const cid = h.keys.conversationId('phone-line', `voice:${phone}`);
      if ((await masterOf(client, h.keys.state(cid))) !== listening) caller = phone;
    }
    expect(caller).toBeDefined();
    // The call's keys carry its caller's hash tag: they sit on the same master as the state above.
    const call = newSid('CA');
    const cid = h.keys.callConversationId('phone-line', `voice:${caller}`, call);

    // A listener of our own on the gateway's node: the announcements made on the other master reach it.
    const [host, port] = listening!.split(':');
    const listener = new Redis(Number(port), host!);
    const announced = new Promise<string[]>((resolve) => {
      const refs: string[] = [];
      listener.on('message', (_channel: string, ref: string) => {
        if (ref.startsWith(`${cid}:`)) refs.push(ref);
        if (refs.length === 2) resolve(refs);
      });
    });
    await listener.subscribe(h.keys.turnsChannel());

    const first = await h.webhooks.call(call, caller!);
    expect(first.status).toBe(200);
    // Well before replyWaitMs: the webhook was woken, not left to time out into a hold message.
    expect(first.elapsedMs).toBeLessThan(2500);
    const action = `${PUBLIC_URL}/webhooks/voice/gather?turn=1`;
    expect(first.body).toBe(
      `${XML}<Response><Gather input="dtmf" numDigits="4" finishOnKey="#" timeout="5" ` +
        `action="${action}" method="POST" actionOnEmptyResult="true">` +
        `${SAY}Enter your code.</Say></Gather></Response>`,
    );
    const last = await h.webhooks.gather(
      twimlAttribute(first.body, 'Gather', 'action')!,
      call,
      caller!,
      '4321',
    );
    expect(last.body).toBe(`${XML}<Response>${SAY}You entered 4321. Goodbye.</Say><Hangup/></Response>`);
    expect(last.elapsedMs).toBeLessThan(2500);
    try {
      expect(await announced).toEqual([`${cid}:0`, `${cid}:1`]);
    } finally {
      listener.disconnect();
    }
  });

  it('serves the operator API and erases a user whose conversations span every master', async () => {
    const created = await api('POST', '/v1/users', {
      userId: 'member-7',
      name: 'Li Si',
      identities: texters.map((t) => ({ channel: 'sms', address: t.phone })),
    });
    expect(created).toEqual({ status: 201, json: { userId: 'member-7', tier: 'verified' } });
    const got = await api('GET', '/v1/users/member-7');
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({
      userId: 'member-7',
      tier: 'verified',
      profile: { name: 'Li Si', verified: true },
      identities: texters
        .map((t) => t.phone)
        .sort()
        .map((address) => ({ channel: 'sms', address, verified: true, via: 'operator' })),
    });

    const before = [...(await keysPerMaster(client, h.prefix)).values()].flat();
    const marks = [
      new IdentityKeys(h.keys).scopeHash({ workspace: 'test', userId: 'member-7' }),
      ...texters.flatMap((t) => [new IdentityKeys(h.keys).identityHash('test', `sms:${t.phone}`), t.cid]),
    ];
    const aboutUser = (key: string) => marks.some((m) => key.includes(m));
    // Their conversations' keys (dedupe sets, rate minutes) sit on every master: one dedupe set each.
    expect(before.filter((k) => texters.some((t) => k === h.keys.seen(t.cid))).length).toBe(texters.length);

    expect((await api('DELETE', '/v1/users/member-7')).status).toBe(204);
    expect((await api('GET', '/v1/users/member-7')).status).toBe(404);
    const after = [...(await keysPerMaster(client, h.prefix)).values()].flat();
    expect(after.filter(aboutUser)).toEqual([]);
    // Everyone else's keys stay: the queues, and the caller's conversation.
    expect(after.length).toBeGreaterThan(0);
    expect(h.main!.logs.lines.filter((line) => /CROSSSLOT/.test(JSON.stringify(line)))).toEqual([]);

    // Erased texters start again as strangers, and are answered.
    const [again] = texters;
    await h.webhooks.sms(again!.phone, 'back');
    const replies = await h.twilio.waitForMessages(again!.phone, 3);
    expect(replies[2]!.body).toBe('got back');
  });

  it('moves data named the unkeyed way of earlier versions to its keyed names, across slots', async () => {
    const cipher = createDataCipher(h.processEnv.SWITCHBOARD_DATA_KEY!);
    const sha = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);
    const ik = new IdentityKeys(h.keys);
    // A number whose old and new identity record live on different masters: RENAME could not move it.
    let identity = '';
    for (let i = 0; !identity; i++) {
      const candidate = `sms:+1202556${String(i).padStart(4, '0')}`;
      const old = ik.identityRecord(sha(['identity', 'test', candidate].join('\0')));
      if (
        (await masterOf(client, old)) !==
        (await masterOf(client, ik.identityRecord(ik.identityHash('test', candidate))))
      )
        identity = candidate;
    }
    const oldRecord = ik.identityRecord(sha(['identity', 'test', identity].join('\0')));
    const oldOptOut = h.keys.optOut(sha(`echo\n${identity}`));
    await client.hset(oldRecord, {
      id: sealTheOldWay(identity, h.processEnv.SWITCHBOARD_DATA_KEY!),
      ws: 'test',
      seen: '1',
    });
    await client.set(oldOptOut, '1');

    // As after an upgrade: the marker of a finished search is not there yet.
    await client.del(legacyNamesDone(h.prefix));
    const upgraded = await h.startGateway({ web: false, workers: true }, 'upgraded');
    expect(
      upgraded.logs.lines.find(
        (l) => l.message === 'key names checked for the unkeyed names of earlier versions',
      ),
    ).toMatchObject({ identities: 1, optOuts: 1, unknown: 0 });
    await upgraded.close();

    expect(await client.exists(oldRecord)).toBe(0);
    expect(await client.exists(oldOptOut)).toBe(0);
    const record = await client.hgetall(ik.identityRecord(ik.identityHash('test', identity)));
    expect(cipher.open(record.id!, places.identityAddress('test'))).toBe(identity);
    expect(record.ws).toBe('test');
    const optOut = h.keys.optOut(h.keys.conversationId('echo', identity));
    expect([await client.get(optOut), await client.ttl(optOut)]).toEqual(['1', -1]);
  });
});
