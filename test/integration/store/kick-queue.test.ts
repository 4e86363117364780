// The conversation queue's Redis side against a real Redis: one kick per conversation, a kick kept for after
// the drain running, leases that end, retries, stale holders and hand-backs. Times are passed in, never read.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KickQueueStore } from '../../../src/store/kick-queue.js';
import type { Keys } from '../../../src/store/keys.js';
import { deletePrefix, keysFor, randomPrefix } from '../../support/harness.js';
import { dataKey } from '../../support/config.js';

let redis: Redis;
let keys: Keys;
let prefix: string;
let store: KickQueueStore;
const T = 1_000_000; // a time (ms) the test counts from
const LEASE = 30_000;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
});
afterAll(() => redis.disconnect());
afterEach(async () => {
  await deletePrefix(redis, prefix);
});

function fresh(): void {
  prefix = randomPrefix('kicks');
  keys = keysFor(prefix, dataKey());
  store = new KickQueueStore(redis, keys);
}

/** The shard's three keys, as Redis holds them. */
async function shard0() {
  return {
    due: await redis.zrange(keys.kicks(0, 'due'), '0', '-1', 'WITHSCORES'),
    state: await redis.hgetall(keys.kicks(0, 'state')),
    wake: await redis.llen(keys.kicks(0, 'wake')),
  };
}

describe('the conversation queue', () => {
  it('keeps one kick per conversation, takes it under a lease, and leaves no key once it is done', async () => {
    fresh();
    expect(await store.kick(0, 'c1', T)).toBe(true);
    expect(await store.kick(0, 'c1', T + 1)).toBe(false);
    expect(await shard0()).toEqual({ due: ['c1', String(T)], state: { c1: 'q' }, wake: 1 });

    const taken = await store.take(0, T + 2, LEASE, 10, 'w:a:1');
    expect(taken).toEqual({ cids: ['c1'], nextDueAt: T + 2 + LEASE });
    expect(await shard0()).toEqual({ due: ['c1', String(T + 2 + LEASE)], state: { c1: 'w:a:1' }, wake: 0 });
    // Held: nobody else takes it before the lease ends.
    expect(await store.take(0, T + 3, LEASE, 10, 'w:b:1')).toEqual({ cids: [], nextDueAt: T + 2 + LEASE });

    expect(await store.release(0, 'c1', 'w:a:1', T + 4)).toBe('done');
    expect(await redis.exists(keys.kicks(0, 'due'), keys.kicks(0, 'state'), keys.kicks(0, 'wake'))).toBe(0);
  });

  it('keeps a kick that came while the conversation was drained, for right after', async () => {
    fresh();
    await store.kick(0, 'c1', T);
    await store.take(0, T, LEASE, 10, 'w:a:1');
    expect(await store.kick(0, 'c1', T + 5)).toBe(false);
    expect(await store.kick(0, 'c1', T + 6)).toBe(false);
    expect((await shard0()).state).toEqual({ c1: 'w:a:1+' });
    expect(await store.release(0, 'c1', 'w:a:1', T + 10)).toBe('queued');
    expect(await shard0()).toEqual({ due: ['c1', String(T + 10)], state: { c1: 'q' }, wake: 1 });
    expect((await store.take(0, T + 11, LEASE, 10, 'w:b:1')).cids).toEqual(['c1']);
  });

  it('queues a retry for its time, and takes nothing before it', async () => {
    fresh();
    await store.kick(0, 'c1', T);
    await store.take(0, T, LEASE, 10, 'w:a:1');
    expect(await store.release(0, 'c1', 'w:a:1', T + 1, T + 500)).toBe('queued');
    expect(await store.kick(0, 'c1', T + 2)).toBe(false); // a new message waits behind the retry
    expect(await store.take(0, T + 499, LEASE, 10, 'w:a:2')).toEqual({ cids: [], nextDueAt: T + 500 });
    expect((await store.take(0, T + 500, LEASE, 10, 'w:a:3')).cids).toEqual(['c1']);
  });

  it('lets another worker take a conversation whose lease ended; the first holder then changes nothing', async () => {
    fresh();
    await store.kick(0, 'c1', T);
    await store.take(0, T, LEASE, 10, 'w:a:1');
    await store.renew(0, T + 10_000 + LEASE, [['c1', 'w:a:1']]);
    expect((await store.take(0, T + LEASE, LEASE, 10, 'w:b:1')).cids).toEqual([]); // renewed
    expect((await store.take(0, T + 10_000 + LEASE, LEASE, 10, 'w:b:1')).cids).toEqual(['c1']);
    expect(await store.release(0, 'c1', 'w:a:1', T + 50_000)).toBe('lost');
    await store.renew(0, T + 99_999_999, [['c1', 'w:a:1']]);
    expect(await shard0()).toEqual({
      due: ['c1', String(T + 10_000 + 2 * LEASE)],
      state: { c1: 'w:b:1' },
      wake: 0,
    });
  });

  it('takes at most as many as asked, oldest first, and leaves a wake-up token for each one still due', async () => {
    fresh();
    for (const [i, cid] of ['c1', 'c2', 'c3'].entries()) await store.kick(0, cid, T + i);
    expect((await store.take(0, T + 10, LEASE, 2, 'w:a:1')).cids).toEqual(['c1', 'c2']);
    expect((await shard0()).wake).toBe(1);
    expect((await store.depth(0, T + 10)).count).toBe(3);
    expect((await store.depth(0, T + 10)).oldestWaitingMs).toBe(8); // c3, due at T + 2
  });

  it("hands back what a worker's lost take gave it, and nothing it is draining or another worker holds", async () => {
    fresh();
    for (const cid of ['c1', 'c2', 'c3']) await store.kick(0, cid, T);
    await store.take(0, T, LEASE, 2, 'w:a:1'); // c1, c2: the worker drains only c1 (c2's answer was lost)
    await store.take(0, T, LEASE, 1, 'w:b:1'); // c3, another worker's
    expect(await store.handBack(0, T + 5, 'w:a:', ['c1'])).toBe(1);
    expect(await shard0()).toEqual({
      due: ['c2', String(T + 5), 'c1', String(T + LEASE), 'c3', String(T + LEASE)],
      state: { c1: 'w:a:1', c2: 'q', c3: 'w:b:1' },
      wake: 1,
    });
  });
  it('takes a conversation nobody queued or holds for the kicking process, and only that one', async () => {
    fresh();
    expect(await store.kickAndTake(0, 'c1', T, 'w:a:1', LEASE)).toEqual({ taken: true });
    // Held under the token at once: no wake-up token, so no worker is woken for it.
    expect(await shard0()).toEqual({ due: ['c1', String(T + LEASE)], state: { c1: 'w:a:1' }, wake: 0 });
    expect((await store.take(0, T + 1, LEASE, 10, 'w:b:1')).cids).toEqual([]);
    // Kicked again while held: marked for after, not taken twice.
    expect(await store.kickAndTake(0, 'c1', T + 2, 'w:a:2', LEASE)).toEqual({
      taken: false,
      heldBy: 'w:a:1',
    });
    expect((await shard0()).state).toEqual({ c1: 'w:a:1+' });
    expect(await store.release(0, 'c1', 'w:a:1', T + 3)).toBe('queued');
    // Queued for a worker: a kick that could take it leaves it to that worker.
    expect(await store.kickAndTake(0, 'c1', T + 4, 'w:a:3', LEASE)).toEqual({ taken: false });
    expect(await shard0()).toEqual({ due: ['c1', String(T + 3)], state: { c1: 'q' }, wake: 1 });
  });
  it('answers a kick sent again (its first answer lost) with its own take, kicked meanwhile or not', async () => {
    fresh();
    expect(await store.kickAndTake(0, 'c1', T, 'w:a:1', LEASE)).toEqual({ taken: true });
    // The client resends the very command after its connection dropped: the take is its own.
    expect(await store.kickAndTake(0, 'c1', T, 'w:a:1', LEASE)).toEqual({ taken: true });
    expect(await shard0()).toEqual({ due: ['c1', String(T + LEASE)], state: { c1: 'w:a:1' }, wake: 0 });
    // Another kick marked it meanwhile: still its own, and the mark is kept for after the drain.
    expect(await store.kick(0, 'c1', T + 1)).toBe(false);
    expect(await store.kickAndTake(0, 'c1', T, 'w:a:1', LEASE)).toEqual({ taken: true });
    expect((await shard0()).state).toEqual({ c1: 'w:a:1+' });
    expect(await store.release(0, 'c1', 'w:a:1', T + 2)).toBe('queued');
  });
});
