// SWITCHBOARD_DURABILITY=replica: a webhook answers 200 only once a replica holds the message, on a real primary, replica and Sentinel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../../src/env.js';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { startReplicaSet, type RunningReplicaSet } from '../../support/redis-replicas.js';

const WAIT_MS = 300;

let set: RunningReplicaSet;
let h: Harness;

beforeAll(async () => {
  // Two replicas: after a failover one of them is the primary, and the other acknowledges its writes.
  set = await startReplicaSet({ replicas: 2, downAfterMs: 1000 });
  h = await startHarness({
    bots: ECHO_BOT,
    label: 'durability',
    redisUrl: set.primary.url,
    env: {
      // A REDIS_URL that leads nowhere: the Sentinel names the primary, before and after the failover.
      REDIS_URL: 'redis://127.0.0.1:1/0',
      REDIS_SENTINELS: `127.0.0.1:${set.sentinelPort}`,
      REDIS_SENTINEL_NAME: set.name,
      SWITCHBOARD_DURABILITY: 'replica',
      SWITCHBOARD_DURABILITY_TIMEOUT_MS: String(WAIT_MS),
    },
  });
}, 30_000);

// Closing waits for the workers' turns in flight, and after the failover one in a few runs does not finish
// while the Redis processes live (a known open problem, in docs/architecture.md): past 20 s the Redis
// processes are stopped first, which ends whatever waits on them, and the close is awaited after that.
afterAll(async () => {
  const closing = h?.close();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), 20_000);
  });
  const first = await Promise.race([closing, late]);
  clearTimeout(timer);
  await set?.stop();
  if (first !== 'late') return;
  // With Redis gone the close usually ends at once; in the rarest runs it does not, and the file's
  // worker process is ended with what is left rather than failing a suite whose tests all passed.
  const after = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 20_000)));
  if ((await Promise.race([closing, after])) === 'late')
    console.warn('durability: the gateway did not finish closing after the failover (a known open problem)');
  clearTimeout(timer);
}, 60_000);

/** Posts a webhook as Twilio does: the same MessageSid again after a 503, until it is answered 200. */
async function deliver(params: Record<string, string>): Promise<number[]> {
  const answers: number[] = [];
  for (let tries = 0; tries < 300; tries++) {
    const answer = await h.webhooks.post('/webhooks/sms', params);
    answers.push(answer.status);
    if (answer.status === 200) return answers;
    expect(answer.status).toBe(503);
    // Twilio's retry comes a while later, not at once.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`"${params.Body}" from ${params.From} was never answered 200: ${answers.join(',')}`);
}

describe('SWITCHBOARD_DURABILITY', () => {
  it('is validated: none or replica, with a timeout in milliseconds', () => {
    expect(readEnv({}).SWITCHBOARD_DURABILITY).toBe('none');
    expect(readEnv({ SWITCHBOARD_DURABILITY: 'replica' }).SWITCHBOARD_DURABILITY_TIMEOUT_MS).toBe(500);
    expect(() => readEnv({ SWITCHBOARD_DURABILITY: 'aof' })).toThrow(
      /SWITCHBOARD_DURABILITY: must be none \(Redis persistence only\) or replica .*\(got "aof"\)/,
    );
    expect(() => readEnv({ SWITCHBOARD_DURABILITY_TIMEOUT_MS: '5' })).toThrow(
      /SWITCHBOARD_DURABILITY_TIMEOUT_MS: /,
    );
  });
});

describe('with replica durability on a primary, a replica and a Sentinel', () => {
  it('answers 503 within the timeout while the replica cannot acknowledge, and the retry once it can', async () => {
    const from = '+12025550171';
    expect((await h.webhooks.sms(from, 'one')).status).toBe(200);
    expect((await h.twilio.waitForMessages(from, 1)).map((m) => m.body)).toEqual(['got one']);

    for (const replica of set.replicas) replica.process.kill('SIGSTOP');
    const params = h.webhooks.smsParams(from, 'two');
    let paused;
    try {
      paused = await h.webhooks.post('/webhooks/sms', params);
    } finally {
      for (const replica of set.replicas) replica.process.kill('SIGCONT');
    }
    expect(paused.status).toBe(503);
    // The replica's silence answered it (WAIT timed out), not the webhook's Redis deadline.
    expect(paused.elapsedMs).toBeLessThan(WAIT_MS + 1000);
    expect(
      h.main!.logs.find(
        'webhook could not reach Redis',
        (l) =>
          l.reason ===
          `DurabilityError: the write was acknowledged by 0 of 1 replica(s) within ${WAIT_MS} ms`,
      ),
    ).toHaveLength(1);

    // Twilio retries the same MessageSid: answered once the replica is back, and the message handled once.
    expect((await deliver(params)).at(-1)).toBe(200);
    await h.twilio.waitForMessages(from, 2);
    expect((await h.webhooks.sms(from, 'three')).status).toBe(200);
    const replies = await h.twilio.waitForMessages(from, 3);
    expect(replies.map((m) => m.body)).toEqual(['got one', 'got two', 'got three']);
  });

  it('loses no message answered 200 when the primary is killed under load and the Sentinel promotes the replica', async () => {
    const senders = Array.from({ length: 6 }, (_, i) => `+1202555${String(300 + i).padStart(4, '0')}`);
    const perSender = 12;
    let answered = 0;
    let killed = false;
    const statuses = await Promise.all(
      senders.map(async (from) => {
        const seen: number[] = [];
        for (let i = 0; i < perSender; i++) {
          seen.push(...(await deliver(h.webhooks.smsParams(from, `m${i}`))));
          // Kill the primary once the load is running, with other senders' messages in flight.
          if (++answered === senders.length * 3) {
            set.primary.process.kill('SIGKILL');
            killed = true;
          }
        }
        return seen;
      }),
    );
    expect(killed).toBe(true);
    expect(set.replicas.map((r) => r.port)).toContain(await set.currentPrimary());
    // Some webhooks met the failover (503, retried as Twilio would); every message was answered 200 in the end.
    expect(statuses.flat().filter((s) => s === 503).length).toBeGreaterThan(0);
    for (const from of senders) {
      const replies = await h.twilio.waitForMessages(from, perSender, 20_000);
      expect(replies.map((m) => m.body)).toEqual(Array.from({ length: perSender }, (_, i) => `got m${i}`));
    }
  }, 40_000);
});
