// A worker process killed with SIGKILL in the middle of a turn: another takes over, the turn is handled
// once, and the conversation carries on.
import { afterEach, describe, expect, it } from 'vitest';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { waitForLogs } from '../../support/logs.js';
import { commitCommandPattern, startRedisProxy, type RedisProxy } from '../../support/redis-proxy.js';

const USER = '+12125551234';

const BOT = botYaml(
  'counter',
  `    flows:
      main:
        - say: "Turn one: {{input}}."
        - ask: { prompt: "Say something else.", save: next }
        - say: "Turn two: {{next}}."
        - end: "Goodbye."`,
);

let h: Harness | undefined;
let proxy: RedisProxy | undefined;
afterEach(async () => {
  await h?.close();
  await proxy?.close();
  h = undefined;
  proxy = undefined;
});

describe('a worker killed mid-turn', () => {
  it('has its turn taken over by another worker and handled exactly once', async () => {
    // A short lock so the dead worker's job is found stalled in seconds, not the default 30.
    h = await startHarness({
      bots: BOT,
      label: 'crash',
      gateway: { web: true, workers: false },
      env: { SWITCHBOARD_LOCK_MS: '2000' },
    });
    // The victim talks to Redis through a proxy that freezes it once the turn is computed and its
    // commit is on the wire: the dialog ran, nothing of it reached Redis.
    proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    const victim = await h.spawn('worker', 'victim', { REDIS_URL: proxy.url });
    const frozen = proxy.holdWhen(commitCommandPattern(h.prefix));

    const first = h.webhooks.smsParams(USER, 'hello');
    expect((await h.webhooks.post('/webhooks/sms', first)).status).toBe(200);
    await frozen;
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');

    const cid = h.conversation('counter', `sms:${USER}`);
    // Nothing was committed: the event is still at the head of the inbox, no reply is queued.
    expect(await h.redis.llen(h.keys.inbox(cid))).toBe(1);
    expect(await h.redis.exists(h.keys.outbox(cid))).toBe(0);
    expect(h.twilio.messages).toEqual([]);

    const rescuer = await h.spawn('worker', 'rescuer');
    const replies = await h.twilio.waitForMessages(USER, 2, 20_000);
    expect(replies.map((m) => m.body)).toEqual(['Turn one: hello.', 'Say something else.']);
    const handled = await rescuer.logs.waitForMessage('turn handled');
    expect(handled.event).toBe(first.MessageSid);
    expect(victim.logs.find('turn handled')).toEqual([]);

    // The conversation carries on from the rescued turn's state.
    await h.webhooks.sms(USER, 'world');
    const all = await h.twilio.waitForMessages(USER, 4);
    expect(all.map((m) => m.body)).toEqual([
      'Turn one: hello.',
      'Say something else.',
      'Turn two: world.',
      'Goodbye.',
    ]);
    expect(h.twilio.messages).toHaveLength(4);
    expect(await h.deadLetters()).toEqual([]);
    await waitForLogs([rescuer.logs], () => rescuer.logs.find('turn handled').length >= 2, 'two turns');
    expect(rescuer.logs.find('turn handled')).toHaveLength(2);
  }, 60_000);
});
