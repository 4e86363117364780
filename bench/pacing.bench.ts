// Pacing accuracy: a bulk send from one number drained by two worker processes at a configured rate, timed
// by the fake Twilio API's own arrival clock, with a user's reply sent mid-way.
// Run with `npm run bench:pacing` (builds first). Starts a private redis-server (BENCH_REDIS_URL to use
// another). BENCH_PACING="5:300,20:600" sets the runs: rate per second and message count.
import { ensureRedis, startRedisServer } from '../src/main/local-redis.js';
import { Queues } from '../src/queue/queues.js';
import { createDataCipher } from '../src/store/cipher.js';
import { ConversationStore, type OutboxItem } from '../src/store/conversation-store.js';
import { ECHO_BOT } from '../test/support/bots.js';
import { ACCOUNT_SID, NUMBERS, testConfigYaml } from '../test/support/config.js';
import { startHarness } from '../test/support/harness.js';

const RUNS = (process.env.BENCH_PACING ?? '5:300,20:600').split(',').map((run) => {
  const [rate, count] = run.split(':').map(Number);
  return { rate: rate!, count: count! };
});
const TALKER = '+12125550100';

function busiest(times: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(rate: number, count: number): Promise<void> {
  const h = await startHarness({
    label: 'bench-pacing',
    gateway: { web: true, workers: false },
    files: (url) => ({
      'switchboard.yaml':
        testConfigYaml({ bots: ECHO_BOT, twilioApiUrl: url }) +
        `pacing:\n  numbers:\n    "${NUMBERS.sms}": ${rate}\n`,
    }),
  });
  const queues = new Queues(h.redis, h.keys, h.env.SWITCHBOARD_QUEUE_SHARDS);
  try {
    await Promise.all([1, 2].map((n) => h.spawn('worker', `worker-${n}`)));
    const store = new ConversationStore(
      h.redis,
      h.keys,
      createDataCipher(h.processEnv.SWITCHBOARD_DATA_KEY!),
    );
    const enqueued = performance.now();
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const to = `+1202${String(5_000_000 + i).padStart(7, '0')}`;
        const cid = h.conversation('echo', `sms:${to}`);
        const item: OutboxItem = {
          id: `bulk-${i}`,
          botId: 'echo',
          channel: 'sms',
          accountSid: ACCOUNT_SID,
          from: NUMBERS.sms,
          to,
          body: `bulk ${i}`,
          windowStart: 0,
          cid,
          bulk: true,
        };
        await store.enqueueReplies(cid, [item]);
        await queues.kickSend(cid, { bulk: true });
      }),
    );
    const enqueueMs = performance.now() - enqueued;
    await h.twilio.waitForTotal(Math.floor(count / 3), 600_000);
    const asked = Date.now();
    const before = h.twilio.messages.length;
    await h.webhooks.sms(TALKER, 'hello');
    const [reply] = await h.twilio.waitForMessages(TALKER, 1, 60_000);
    const all = await h.twilio.waitForTotal(count + 1, 600_000);
    const bulk = all.filter((m) => m.to !== TALKER).map((m) => m.at);
    const gaps = bulk
      .slice(1)
      .map((t, i) => t - bulk[i]!)
      .sort((a, b) => a - b);
    const actual = (bulk.length - 1) / ((bulk.at(-1)! - bulk[0]!) / 1000);
    const bulkPolls = h.twilio.requests.length; // every POST the fake received (accepted or not)
    console.log(
      JSON.stringify({
        configuredPerSecond: rate,
        messages: count,
        actualPerSecond: Number(actual.toFixed(3)),
        accuracyPercent: Number(((actual / rate) * 100).toFixed(2)),
        busiest1s: busiest(bulk, 1000),
        busiest10s: busiest(bulk, 10_000),
        gapMs: {
          min: gaps[0],
          p1: percentile(gaps, 1),
          p50: percentile(gaps, 50),
          p99: percentile(gaps, 99),
          max: gaps.at(-1),
          configured: 1000 / rate,
        },
        replyMs: reply!.at - asked,
        bulkSentBetweenWebhookAndReply: all.indexOf(reply!) - before,
        enqueueMs: Math.round(enqueueMs),
        twilioRequests: bulkPolls,
      }),
    );
  } finally {
    await queues.close();
    await h.close();
  }
}

async function main(): Promise<void> {
  const redis = process.env.BENCH_REDIS_URL
    ? await ensureRedis(process.env.BENCH_REDIS_URL)
    : await startRedisServer();
  process.env.REDIS_URL = redis.url;
  try {
    for (const { rate, count } of RUNS) await run(rate, count);
  } finally {
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
