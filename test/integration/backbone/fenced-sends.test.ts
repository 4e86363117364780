// An outage longer than the claim on an outbox: the worker that lost it stops without sending, the one
// that took the job over sends every reply, and no reply reaches Twilio twice.
import { afterEach, describe, expect, it } from 'vitest';
import { Queues } from '../../../src/queue/queues.js';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { paceTakePattern, startRedisProxy } from '../../support/redis-proxy.js';
import { eventually } from '../../support/wait.js';

const USER = '+12125551234';

const BOT = botYaml(
  'four',
  `    flows:
      main:
        - say: "One."
        - say: "Two."
        - say: "Three."
        - end: "Four."`,
);

let h: Harness | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('fenced sends', () => {
  it('a worker cut off past its claim sends nothing when it returns; every reply goes out once', async () => {
    // A short lock, so the cut-off worker's job is taken over in seconds.
    h = await startHarness({
      bots: BOT,
      label: 'fence',
      gateway: { web: true, workers: false },
      env: { SWITCHBOARD_LOCK_MS: '2000' },
    });
    const queues = new Queues(h.redis, h.keys, 1);
    const proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    cleanups.push(
      () => queues.close(),
      () => proxy.close(),
    );
    const cutOff = await h.spawn('worker', 'cut-off', { REDIS_URL: proxy.url });
    // It handles the turn (four replies queued, the outbox claimed by the commit for the turn's own send),
    // then it is frozen as it takes the first reply's slot in the sender's pace.
    const frozen = proxy.holdWhen(paceTakePattern(h.prefix));
    expect((await h.webhooks.sms(USER, 'hello')).status).toBe(200);
    await frozen;

    // Its lock lapses; the other worker takes the send job over and is caught sending the first reply.
    const sending = h.twilio.holdNext();
    const successor = await h.spawn('worker', 'successor');
    await sending.arrived;

    // The cut-off worker gets Redis back while its successor is mid-outbox: past half its claim's lease, it
    // confirms the claim before sending, and finds the successor holding it.
    proxy.release();
    await eventually(
      () =>
        cutOff.logs.find('outbox held by another send job; trying again when its claim lapses').length > 0 ||
        h!.twilio.messagesTo(USER).length > 0
          ? true
          : undefined,
      'the cut-off worker to stand back or send',
      { timeoutMs: 10_000 },
    );
    sending.release();

    await h.twilio.waitForMessages(USER, 4, 15_000);
    const cid = h.conversation('four', `sms:${USER}`);
    await eventually(
      async () =>
        (await h!.redis.exists(h!.keys.outbox(cid), h!.keys.outboxClaim(cid))) === 0 &&
        (await queues.depth()).sends === 0
          ? true
          : undefined,
      'the outbox drained and its claim given up',
      { timeoutMs: 10_000 },
    );
    expect(h.twilio.messagesTo(USER).map((m) => m.body)).toEqual(['One.', 'Two.', 'Three.', 'Four.']);
    expect(
      cutOff.logs.find('outbox held by another send job; trying again when its claim lapses'),
    ).toHaveLength(1);
    expect(successor.logs.find('reply not delivered')).toEqual([]);
  }, 60_000);
});
