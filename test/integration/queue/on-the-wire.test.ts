// What a turn sends to Redis and when, seen on the wire (a Redis proxy in front of the process): a message's
// kick leaves with its accept, and is sent again when Redis had lost the accept script (the kick then ran
// first); a call's user is read while its webhook's accept is still on its way; after a commit the history
// write and the reply's pacing leave in one socket write, the reply reaching Twilio only once the history
// has the turn.
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../../src/main/local-redis.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { KickQueueStore } from '../../../src/store/kick-queue.js';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import {
  acceptCallPattern,
  acceptPattern,
  kickPattern,
  identityReadPattern,
  paceTakePattern,
  startRedisProxy,
  type RedisProxy,
} from '../../support/redis-proxy.js';
import { monitorRedis } from '../../support/redis-monitor.js';
import { newSid, TwilioWebhookClient, type WebhookAnswer } from '../../support/webhooks.js';
import { eventually } from '../../support/wait.js';

const BOT = botYaml(
  'desk',
  `    flows:
      main:
        - ask: { prompt: "Your code?", save: code, keypad: true, digits: 4 }
        - end: "Thanks."`,
);

let h: Harness | undefined;
let proxy: RedisProxy | undefined;
const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await h?.close();
  await proxy?.close();
  h = proxy = undefined;
  for (const stop of stops.splice(0)) await stop();
});

describe('on the wire', () => {
  it('a message’s kick leaves with its accept; when Redis had lost the accept script, a message or a call is kicked again', async () => {
    // A Redis of its own: its scripts are flushed below, which the suite's other tests must not see.
    const redis = await startRedisServer();
    stops.push(() => redis.stop());
    h = await startHarness({ bots: BOT, label: 'wire-kick', gateway: false, redisUrl: redis.url });
    proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    const web = await h.startGateway({ web: true, workers: false }, 'web', { REDIS_URL: proxy.url });
    const webhooks = new TwilioWebhookClient(web.url!, h.processEnv.PUBLIC_URL);
    await h.spawn('worker', 'worker');
    const first = '+12125551296';
    expect((await webhooks.sms(first, 'hello')).status).toBe(200);
    expect((await h.twilio.waitForMessages(first, 1)).map((m) => m.body)).toEqual(['Your code?']);
    // The accept's first use went NOSCRIPT and was sent again; once it has run by its SHA, a message's kick
    // rides with its accept.
    expect((await webhooks.sms(first, '1234')).status).toBe(200);
    expect((await h.twilio.waitForMessages(first, 2)).map((m) => m.body)).toEqual(['Your code?', 'Thanks.']);
    const chunks = proxy.record();
    expect((await webhooks.sms(first, 'hello')).status).toBe(200);
    await h.twilio.waitForMessages(first, 3);
    const accept = acceptPattern(h.prefix);
    const kick = kickPattern(h.prefix);
    expect(chunks.filter((c) => accept.test(c) && kick.test(c))).toHaveLength(1);

    // Redis loses its scripts (a restart); the kick's comes back first (another process kicked), the accept's
    // not. The accept is refused (NOSCRIPT), its script sent again and held back here, the kick behind it ran,
    // and the worker read an empty inbox: once the accept has landed, the webhook kicks again.
    const afterReload = async (cid: string, send: () => Promise<WebhookAnswer>) => {
      await h!.redis.script('FLUSH');
      await new KickQueueStore(h!.redis, h!.keys).kick(0, 'someone-else', Date.now());
      const inbox = h!.keys.inbox(cid);
      let headRead!: () => void;
      const headReadDone = new Promise<void>((resolve) => (headRead = resolve));
      const monitor = await monitorRedis(h!.processEnv.REDIS_URL!, ({ args, source }) => {
        if (source !== 'lua' && args[0]?.toLowerCase() === 'evalsha' && args[3] === inbox) headRead();
      });
      try {
        const held = proxy!.holdWhen(/\r\n\$4\r\neval\r\n/);
        const answer = send();
        await held;
        await headReadDone;
        proxy!.release();
        return await answer;
      } finally {
        monitor.close();
      }
    };
    const user = '+12125551297';
    const texted = await afterReload(h.conversation('desk', `sms:${user}`), () =>
      webhooks.sms(user, 'hello'),
    );
    expect(texted.status).toBe(200);
    expect((await h.twilio.waitForMessages(user, 1)).map((m) => m.body)).toEqual(['Your code?']);

    // A call the same way (two calls first, so that the connection has run the call's accept by its SHA):
    // its webhook answers with the turn's Gather, not with a hold while it waits for an answer in vain.
    const caller = '+12125551295';
    for (let i = 0; i < 2; i++)
      expect((await webhooks.call(newSid('CA'), caller)).body).toContain('Your code?');
    const callSid = newSid('CA');
    const called = await afterReload(h.keys.callConversationId('desk', `voice:${caller}`, callSid), () =>
      webhooks.call(callSid, caller),
    );
    expect(called.status).toBe(200);
    expect(called.body).toContain('Your code?');
  });

  it('a call kicked for this process’s worker: its caller is read while the accept is held back', async () => {
    h = await startHarness({ bots: BOT, label: 'wire-call', gateway: false });
    proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    const chunks = proxy.record();
    const start = await h.startGateway({ web: true, workers: true }, 'start', { REDIS_URL: proxy.url });
    const webhooks = new TwilioWebhookClient(start.url!, h.processEnv.PUBLIC_URL);
    // The worker idle (its first take answered, blocked on the wake list): a kick would take the call for it.
    await eventually(
      () => (chunks.some((c) => c.includes('\r\nblpop\r\n')) ? true : undefined),
      'an idle worker',
    );

    // The web connection's traffic stops at the accept: nothing of it, nor the kick behind it, reaches Redis.
    const held = proxy.holdWhen(acceptCallPattern(h.prefix));
    const answer = webhooks.call(newSid('CA'), '+12125551298');
    await held;
    const userRead = identityReadPattern(h.prefix);
    await eventually(() => (chunks.some((c) => userRead.test(c)) ? true : undefined), 'the caller’s read');
    proxy.release();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.body).toContain('Your code?');
  });

  it('the history write and the reply’s pacing leave together; the reply is sent once the history has the turn', async () => {
    h = await startHarness({ bots: BOT, label: 'wire-sms', gateway: { web: true, workers: false } });
    proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    await h.spawn('worker', 'worker', { REDIS_URL: proxy.url });
    const user = '+12125551299';
    const keys = new IdentityKeys(h.keys);
    const history = keys.identityHistory(keys.identityHash('test', `sms:${user}`));
    const historyWrite = new RegExp(`\\r\\n\\$\\d+\\r\\n${history.replace(/[{}]/g, '\\$&')}\\r\\n`);
    const paceTake = paceTakePattern(h.prefix);
    const chunks = proxy.record();

    const sending = h.twilio.holdNext();
    expect((await h.webhooks.sms(user, 'hello')).status).toBe(200);
    await sending.arrived;
    // Twilio is being asked to send the reply: the history has the message and the reply already.
    expect(await h.redis.llen(history)).toBe(2);
    sending.release();
    expect((await h.twilio.waitForMessages(user, 1)).map((m) => m.body)).toEqual(['Your code?']);

    const together = chunks.filter((chunk) => historyWrite.test(chunk) && paceTake.test(chunk));
    expect(together).toHaveLength(1);
  });
});
