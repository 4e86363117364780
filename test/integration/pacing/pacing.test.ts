// Send pacing per sender: a bulk of 120 at 5/s arrives no faster than 5 a second (by the fake Twilio API's
// own arrival times) while a reply to someone talking to the bot goes first; 429, 21611 and 30001 are
// retried and sent once; 14107 slows the sender down.
import { afterEach, describe, expect, it } from 'vitest';
import { Queues } from '../../../src/queue/queues.js';
import { createDataCipher } from '../../../src/store/cipher.js';
import { ConversationStore, type OutboxItem } from '../../../src/store/conversation-store.js';
import { ECHO_BOT } from '../../support/bots.js';
import { ACCOUNT_SID, NUMBERS, testConfigYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import type { FakeTwilioMessage } from '../../fakes/twilio-api.js';

const TALKER = '+12125550100';

let h: Harness | undefined;
let queues: Queues | undefined;
afterEach(async () => {
  await queues?.close();
  queues = undefined;
  await h?.close();
  h = undefined;
});

/** Twilio's sender rate for the bot's SMS number in these tests. */
function paced(rate: number) {
  return (config: { pacing: { numbers: Record<string, number> } }) => {
    config.pacing.numbers[NUMBERS.sms] = rate;
  };
}

/** The recipients of a bulk send: distinct US numbers, one conversation each. */
function recipients(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `+1202555${String(1000 + i).padStart(4, '0')}`);
}

/** Puts one bulk message per recipient in its conversation's outbox and kicks it as bulk. */
async function bulkSend(harness: Harness, to: string[], body: (i: number) => string): Promise<void> {
  const store = new ConversationStore(
    harness.redis,
    harness.keys,
    createDataCipher(harness.processEnv.SWITCHBOARD_DATA_KEY!),
  );
  queues = new Queues(harness.redis, harness.keys, harness.env.SWITCHBOARD_QUEUE_SHARDS);
  await Promise.all(
    to.map(async (address, i) => {
      const cid = harness.conversation('echo', `sms:${address}`);
      const item: OutboxItem = {
        id: `bulk-${i}`,
        botId: 'echo',
        channel: 'sms',
        accountSid: ACCOUNT_SID,
        from: NUMBERS.sms,
        to: address,
        body: body(i),
        windowStart: 0,
        cid,
        bulk: true,
      };
      await store.enqueueReplies(cid, [item]);
      await queues!.kickSend(cid, { bulk: true });
    }),
  );
}

/** The most arrivals any window of `windowMs` holds (windows starting at each arrival). */
function busiestWindow(messages: FakeTwilioMessage[], windowMs: number): number {
  const times = messages.map((m) => m.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

describe('pacing', () => {
  it(
    'drains 120 bulk messages at 5/s from one number while a reply to a user who writes meanwhile goes first',
    { timeout: 90_000 },
    async () => {
      // Two worker processes share the pace: it is held in Redis, not in a process.
      h = await startHarness({
        label: 'pacing',
        gateway: { web: true, workers: false },
        files: (url) => ({
          'switchboard.yaml':
            testConfigYaml({ bots: ECHO_BOT, twilioApiUrl: url }) +
            `pacing:\n  numbers:\n    "${NUMBERS.sms}": 5\n`,
        }),
      });
      expect(h.config.pacing.numbers).toEqual({ [NUMBERS.sms]: 5 });
      await Promise.all([1, 2].map((n) => h!.spawn('worker', `worker-${n}`)));
      const bulk = recipients(120);
      await bulkSend(h, bulk, (i) => `Your prescription is ready (${i}).`);

      // A user writes while the bulk is draining: their answer is not queued behind the 80 still waiting.
      await h.twilio.waitForTotal(40, 30_000);
      const answered = await h.webhooks.sms(TALKER, 'hello');
      expect(answered.status).toBe(200);
      const bulkBefore = h.twilio.messages.length;
      const [reply] = await h.twilio.waitForMessages(TALKER, 1, 30_000);
      expect(reply!.body).toBe('got hello');
      const bulkBeforeReply = h.twilio.messages.indexOf(reply!);
      // Sent within one slot of the webhook: at most the 5 a second holds, and one caught mid-send.
      expect(bulkBeforeReply - bulkBefore).toBeLessThanOrEqual(6);

      const all = await h.twilio.waitForTotal(121, 60_000);
      const bulkArrivals = all.filter((m) => m.to !== TALKER);
      expect(new Set(bulkArrivals.map((m) => m.to))).toEqual(new Set(bulk));
      expect(all.every((m) => m.from === NUMBERS.sms)).toBe(true);
      expect(all.indexOf(reply!)).toBeLessThan(120);
      // Exactly once each: the fake accepted 121 messages, one per address.
      expect(h.twilio.requests.filter((r) => r.status === 201)).toHaveLength(121);

      // The rate, from the fake API's own clock. By Redis's clock the pacer grants slots at least 200 ms
      // apart, so a second holds 5 grants. A send leaves its worker at most 100 ms (half an interval) after
      // its slot (later, it takes another), then reaches the fake after its own network and event-loop
      // delay: two sends can land up to about 100 ms closer than their slots, so a second of the fake's
      // clock may hold a sixth (measured by bench/pacing.bench.ts: smallest gap 125 ms, busiest second 6).
      // The reply takes the next slot early (replies may run ahead of the rate): with it, one more again.
      expect(busiestWindow(bulkArrivals, 1000)).toBeLessThanOrEqual(6);
      expect(busiestWindow(all, 1000)).toBeLessThanOrEqual(7);
      // Over longer windows the jitter does not add up: 10 s hold at most 50 sends, plus the two above.
      expect(busiestWindow(all, 10_000)).toBeLessThanOrEqual(52);
      // And the whole bulk took at least its 120 slots of 200 ms (a lower bound, never an upper one).
      const span = all.at(-1)!.at - all[0]!.at;
      expect(span).toBeGreaterThanOrEqual(119 * 200 - 200);
    },
  );

  it('retries a reply Twilio answers 429 and sends it exactly once', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'pacing-429', adjust: paced(5) });
    h.twilio.failNext({ status: 429 });
    await h.webhooks.sms(TALKER, 'once');
    const [reply] = await h.twilio.waitForMessages(TALKER, 1);
    expect(reply!.body).toBe('got once');
    expect(h.twilio.attemptsTo(TALKER).map((r) => `${r.status} ${r.params.Body}`)).toEqual([
      '429 got once',
      '201 got once',
    ]);
    expect(h.twilio.messagesTo(TALKER)).toHaveLength(1);
  });

  it("retries Twilio's full queue (21611, 30001) with backoff and resends only what it did not accept", async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'pacing-queue', adjust: paced(50) });
    const to = recipients(3);
    // The second send meets a full queue twice; the first and third are accepted at once.
    await bulkSend(h, to.slice(0, 1), () => 'first');
    await h.twilio.waitForMessages(to[0]!, 1);
    h.twilio.failNext(
      {
        status: 400,
        code: 21611,
        message: "This 'From' number has exceeded the maximum number of queued messages",
      },
      { status: 400, code: 30001, message: 'Queue overflow' },
    );
    await bulkSend(h, to.slice(1), (i) => `next ${i}`);
    await h.twilio.waitForTotal(3);
    const summary = h.twilio.requests
      .filter((r) => r.method === 'POST')
      .map((r) => `${r.status} ${r.params.Body}`);
    expect(summary.filter((s) => s.startsWith('201')).sort()).toEqual([
      '201 first',
      '201 next 0',
      '201 next 1',
    ]);
    expect(summary.filter((s) => !s.startsWith('201'))).toHaveLength(2);
    for (const address of to) expect(h.twilio.messagesTo(address)).toHaveLength(1);
    const retried = h.main!.logs.find('reply will be retried').map((l) => l.reason);
    expect(retried).toHaveLength(2);
    expect(retried.map((r) => String(r).replace(/: .*/, ''))).toEqual([
      "Twilio's queue for the sender is full (error 21611)",
      "Twilio's queue for the sender is full (error 30001)",
    ]);
  });

  it('slows the sender down when Twilio answers 14107', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'pacing-14107', adjust: paced(10) });
    h.twilio.failNext({ status: 429, code: 14107, message: 'SMS send rate limit exceeded' });
    const to = recipients(12);
    await bulkSend(h, to, (i) => `notice ${i}`);
    const all = await h.twilio.waitForTotal(12, 30_000);
    expect(h.main!.logs.find('sender slowed down: Twilio says it sends too fast')).toEqual([
      expect.objectContaining({ errorCode: 14107, slowedBy: 2, channel: 'sms' }),
    ]);
    // 10/s halved: 5 a second (plus the one the network's jitter may add), 12 sends over at least 11 slots
    // of 200 ms.
    expect(busiestWindow(all, 1000)).toBeLessThanOrEqual(6);
    expect(all.at(-1)!.at - all[0]!.at).toBeGreaterThanOrEqual(11 * 200 - 200);
    for (const address of to) expect(h.twilio.messagesTo(address)).toHaveLength(1);
  });
});
