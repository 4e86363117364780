// What a turn writes after its commit, seen on the wire (a Redis proxy in front of a `worker` process): the
// history write and the reply's pacing leave in one socket write, and the reply reaches Twilio only once
// the history has the turn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { paceTakePattern, startRedisProxy, type RedisProxy } from '../../support/redis-proxy.js';

const USER = '+12125551299';
const BOT = botYaml(
  'echo',
  `    flows:
      main:
        - ask: { prompt: "Your name?", save: name }
        - end: "Thanks, {{name}}."`,
);

let h: Harness;
let proxy: RedisProxy;

beforeAll(async () => {
  h = await startHarness({ bots: BOT, label: 'turn-writes', gateway: { web: true, workers: false } });
  proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
  await h.spawn('worker', 'worker', { REDIS_URL: proxy.url });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await proxy?.close();
});

describe('a turn’s writes after its commit', () => {
  it('the history write and the reply’s pacing leave together; the reply is sent once the history has the turn', async () => {
    const identity = `sms:${USER}`;
    const history = new IdentityKeys(h.keys).identityHistory(
      new IdentityKeys(h.keys).identityHash('test', identity),
    );
    const historyWrite = new RegExp(`\\r\\n\\$\\d+\\r\\n${history.replace(/[{}]/g, '\\$&')}\\r\\n`);
    const paceTake = paceTakePattern(h.prefix);
    const chunks = proxy.record();

    const sending = h.twilio.holdNext();
    expect((await h.webhooks.sms(USER, 'hello')).status).toBe(200);
    await sending.arrived;
    // Twilio is being asked to send the reply: the history has the message and the reply already.
    expect(await h.redis.llen(history)).toBe(2);
    sending.release();
    expect((await h.twilio.waitForMessages(USER, 1)).map((m) => m.body)).toEqual(['Your name?']);

    const together = chunks.filter((chunk) => historyWrite.test(chunk) && paceTake.test(chunk));
    expect(together).toHaveLength(1);
  });
});
