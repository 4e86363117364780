// A Redis blip with a turn in flight: the conversation Redis handed out as the connections dropped (to a
// worker's take, or to a webhook's kick for its own process) is recovered as soon as they are back, not when
// its lease lapses (default lock time: 30 s).
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/main/local-redis.js';
import { CONVERSATION_QUEUE, Queues } from '../../../src/queue/queues.js';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { KickQueueStore } from '../../../src/store/kick-queue.js';
import { configVariables } from '../../support/config.js';
import { jsonRequest } from '../../support/json-api.js';
import {
  commitCommandPattern,
  kickAndTakePattern,
  kickTakePattern,
  startRedisProxy,
  type RedisProxy,
} from '../../support/redis-proxy.js';
import { eventually } from '../../support/wait.js';
import { TwilioWebhookClient } from '../../support/webhooks.js';

const USER = '+12125551234';
const KICKER = '+12125557788';

let h: Harness | undefined;
let proxy: RedisProxy | undefined;
let queues: Queues | undefined;
afterEach(async () => {
  await queues?.close();
  await h?.close();
  await proxy?.close();
  h = undefined;
  proxy = undefined;
  queues = undefined;
});

describe('a 3-second Redis blip', () => {
  it('answers every accepted message once, the first within 10 s of Redis returning', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'blip', gateway: false });
    expect(h.env.SWITCHBOARD_LOCK_MS).toBe(30_000); // the default: recovery must not wait for it
    // Both processes reach Redis only through the proxy: cutting it is Redis going away for them.
    proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    const port = await freePort();
    const serve = await h.spawn('serve', 'serve', { REDIS_URL: proxy.url, PORT: String(port) });
    const worker = await h.spawn('worker', 'worker', { REDIS_URL: proxy.url });
    const twilio = new TwilioWebhookClient(`http://127.0.0.1:${port}`);
    queues = new Queues(h.redis, h.keys, 1);

    expect((await twilio.sms(USER, 'm0')).status).toBe(200);
    await h.twilio.waitForMessages(USER, 1);
    // Idle again (its drain finished), so the next message's conversation is taken by a take of its own.
    await eventually(async () => ((await queues!.depth()).conversations === 0 ? true : undefined), 'idle');

    // Redis runs the worker's take of m1's conversation, then the connections drop before its answer
    // arrives: the conversation is held under the worker's lease, and the worker never heard of it.
    const cut = proxy.cutWhen(kickTakePattern(h.keys.kicks(0, 'due')));
    expect((await twilio.sms(USER, 'm1')).status).toBe(200);
    await cut;
    await worker.logs.waitForMessage('Redis connection error', () => true, 5000);

    // Meanwhile the user writes again: refused with a 503, which Twilio retries.
    const m2 = twilio.smsParams(USER, 'm2');
    expect((await twilio.post('/webhooks/sms', m2)).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // the outage itself: 3 seconds of no Redis
    proxy.restore();
    const back = Date.now();
    const answered = await eventually(
      async () => ((await twilio.post('/webhooks/sms', m2)).status === 200 ? true : undefined),
      'the retried m2 accepted',
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(answered).toBe(true);

    const replies = await h.twilio.waitForMessages(USER, 3, 10_000);
    expect(replies.map((m) => m.body)).toEqual(['got m0', 'got m1', 'got m2']);
    const silence = replies[1]!.at - back;
    expect(silence).toBeLessThan(10_000);
    await eventually(async () => ((await queues!.depth()).conversations === 0 ? true : undefined), 'drained');
    expect(h.twilio.messagesTo(USER)).toHaveLength(3);
    expect(worker.logs.find('jobs handed back after a Redis outage')).toMatchObject([
      { queue: CONVERSATION_QUEUE, jobs: 1 },
    ]);
    expect(serve.alive() && worker.alive()).toBe(true);
    expect(await h.deadLetters()).toEqual([]);
  }, 60_000);

  it("a turn's commit that ran in Redis as the connection dropped: its reply is sent and its history written", async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'blip-commit', gateway: false });
    proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    const port = await freePort();
    await h.spawn('serve', 'serve', { REDIS_URL: proxy.url, PORT: String(port) });
    const worker = await h.spawn('worker', 'worker', { REDIS_URL: proxy.url });
    const twilio = new TwilioWebhookClient(`http://127.0.0.1:${port}`);

    // Redis runs the commit of m1's turn, then the connections drop before its answer arrives: the
    // worker's client sends the commit again once it is back, and finds its event gone from the inbox.
    const cut = proxy.cutWhen(commitCommandPattern(h.prefix));
    const m1 = twilio.smsParams(USER, 'm1');
    const first = (await twilio.post('/webhooks/sms', m1)).status;
    await cut;
    await worker.logs.waitForMessage('Redis connection error', () => true, 5000);
    proxy.restore();
    // Answered 503 if the cut came first: Twilio sends it again, a duplicate of what was accepted.
    if (first !== 200)
      await eventually(
        async () => ((await twilio.post('/webhooks/sms', m1)).status === 200 ? true : undefined),
        'm1 accepted',
        { timeoutMs: 10_000, intervalMs: 100 },
      );

    const replies = await h.twilio.waitForMessages(USER, 1, 10_000);
    expect(replies.map((m) => m.body)).toEqual(['got m1']);
    const userId = `anon:${new IdentityKeys(h.keys).identityHash('test', `sms:${USER}`)}`;
    const history = await eventually(async () => {
      const answer = await jsonRequest(`http://127.0.0.1:${port}`, 'GET', `/v1/users/${userId}/history`, {
        key: configVariables().TEST_API_KEY!,
      });
      // The web role's own connection may still be reconnecting after the blip: a 503 means ask again.
      if (answer.status === 503) return undefined;
      const { entries } = answer.json as { entries: { direction: string; text: string }[] };
      return entries.length >= 2 ? entries.map((e) => `${e.direction} ${e.text}`) : undefined;
    }, 'the turn in the history');
    expect(history).toEqual(['in m1', 'out got m1']);
    expect(worker.logs.find('turn handled')).toHaveLength(1);
    expect(h.twilio.messagesTo(USER)).toHaveLength(1);
    expect(await h.deadLetters()).toEqual([]);
  }, 60_000);

  it("a webhook's kick that took its conversation for its own process, its answer lost: drained once Redis is back, and the process still stops", async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'blip-kick', gateway: false });
    proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    // One process with web and workers (`start`): its webhooks take their conversations for its own worker.
    const gateway = await h.startGateway({ web: true, workers: true }, 'start', {
      REDIS_URL: proxy.url,
      SWITCHBOARD_LOCK_MS: 600_000, // far longer than the test waits: left to its lease, it would never be answered
    });
    const twilio = new TwilioWebhookClient(gateway.url!);
    queues = new Queues(h.redis, h.keys, 1);

    expect((await twilio.sms(KICKER, 'm0')).status).toBe(200);
    await h.twilio.waitForMessages(KICKER, 1);
    await eventually(async () => ((await queues!.depth()).conversations === 0 ? true : undefined), 'idle');

    // Redis runs m1's kick, which takes the conversation for the process; its answer never comes back.
    const cut = proxy.cutWhen(kickAndTakePattern(h.keys.kicks(0, 'due')));
    const m1 = twilio.smsParams(KICKER, 'm1');
    expect((await twilio.post('/webhooks/sms', m1)).status).toBe(503);
    await cut;
    const cid = h.conversation('echo', `sms:${KICKER}`);
    const held = await eventually(
      async () => (await h!.redis.hget(h!.keys.kicks(0, 'state'), cid)) ?? undefined,
      'the take held in Redis',
    );
    expect(held).toMatch(/^w:/);
    proxy.restore();

    // Twilio sends m1 again: a duplicate now, and its kick finds the conversation held.
    const accepted = await eventually(
      async () => ((await twilio.post('/webhooks/sms', m1)).status === 200 ? true : undefined),
      'the retried m1 accepted',
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(accepted).toBe(true);
    const replies = await h.twilio.waitForMessages(KICKER, 2, 10_000);
    expect(replies.map((m) => m.body)).toEqual(['got m0', 'got m1']);
    await eventually(async () => ((await queues!.depth()).conversations === 0 ? true : undefined), 'drained');
    expect(h.twilio.messagesTo(KICKER)).toHaveLength(2);
    expect(await new KickQueueStore(h.redis, h.keys).depth(0, Date.now())).toMatchObject({ count: 0 });

    // And it stops: BullMQ's workers, whose connections went through the outage, are not waited on forever.
    await gateway.close();
    expect(gateway.logs.find('switchboard stopped')).toHaveLength(1);
  }, 60_000);
});
