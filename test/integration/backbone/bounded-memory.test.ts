// Bounded memory: after conversations are done, what stays in Redis either expires or is bounded.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { botYaml, NUMBERS } from '../../support/config.js';
import { bullmqQueueKey, MESSAGE_SEEN_TTL, SENT_TTL } from '../../../src/store/keys.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { eventually } from '../../support/wait.js';

const BOT = botYaml(
  'short',
  `    rateLimit: { messagesPerMinute: 100000 }
    flows:
      main:
        - ask: { prompt: "Your name?", save: name }
        - end: "Bye {{name}}."`,
  { sms: NUMBERS.sms, whatsapp: NUMBERS.whatsapp },
);

/** Keys that may live without a TTL, and why each is bounded anyway. */
const PERMANENT = [
  /:\{(conv|send)\d+\}:(conversations|replies):(id|meta|events|stalled-check)$/, // BullMQ's own: one per queue
  /:\{events\}:events:(id|meta|events|stalled-check)$/, // the operator events queue's own
  /:meta:(names|legacy-names)$/, // the key-naming record and the migration's marker: one each
];

/** Waits until no conversation or outbox has work left (a reply is popped just after Twilio took it). */
async function quiet(h: Harness): Promise<void> {
  await eventually(async () => {
    if ((await h.redis.zcard(h.keys.kicks(0, 'due'))) > 0) return undefined;
    for (const prefix of [h.keys.conversationQueuePrefix(0), h.keys.sendQueuePrefix(0)]) {
      for (const list of ['wait', 'active', 'delayed']) {
        const name = prefix.includes('conv') ? 'conversations' : 'replies';
        const key = bullmqQueueKey(prefix, name, list);
        const size = list === 'delayed' ? await h.redis.zcard(key) : await h.redis.llen(key);
        if (size > 0) return undefined;
      }
    }
    return true;
  }, 'queues drained');
}

async function keysWithTtl(h: Harness): Promise<Map<string, number>> {
  await quiet(h);
  const result = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await h.redis.scan(cursor, 'MATCH', h.keys.everything(), 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const ttl = await h.redis.pttl(key);
      if (ttl !== -2) result.set(key, ttl); // -2: removed since the scan saw it
    }
  } while (cursor !== '0');
  return result;
}

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ bots: BOT, label: 'memory' });
});
afterEach(async () => {
  await h.close();
});

describe('Redis memory', () => {
  it('keeps nothing without a TTL per message once conversations are over, and the key count does not grow with messages', async () => {
    const run = async (users: string[]) => {
      await Promise.all(users.map((u) => h.webhooks.sms(u, 'hi')));
      await Promise.all(users.map((u) => h.twilio.waitForMessages(u, 1)));
      await Promise.all(users.map((u) => h.webhooks.sms(u, 'Ann')));
      await Promise.all(users.map((u) => h.twilio.waitForMessages(u, 2)));
    };
    const users = Array.from({ length: 40 }, (_, i) => `+1202555${String(1000 + i)}`);
    await run(users);
    const first = await keysWithTtl(h);
    const untimed = [...first].filter(([, ttl]) => ttl < 0).map(([k]) => k);
    expect(untimed.filter((k) => !PERMANENT.some((re) => re.test(k)))).toEqual([]);

    // The same people talking twice as much leaves the same number of keys: they grow with people, not messages.
    h.twilio.reset();
    await run(users);
    const second = await keysWithTtl(h);
    // A rate counter is per minute (it lives two): a run that crosses a minute leaves one more per person.
    const perMessage = (k: string) => k.includes(':seen:') || k.includes(':sent:') || k.includes(':hits:');
    const countWithoutPerMessage = (m: Map<string, number>) =>
      [...m.keys()].filter((k) => !perMessage(k)).length;
    expect(countWithoutPerMessage(second)).toBe(countWithoutPerMessage(first));
    // Deduplication ids and sent replies are per message, but each one expires with its window.
    for (const [key, ttl] of second) {
      if (key.includes(':seen:')) expect(ttl).toBeLessThanOrEqual(MESSAGE_SEEN_TTL * 1000);
      if (key.includes(':sent:')) expect(ttl).toBeLessThanOrEqual(SENT_TTL * 1000);
    }
  });
});
