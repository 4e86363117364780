// Fixed-window hits against a real Redis: the exact keys, counts, lifetimes and the time left in the window.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedWindowLimiter } from '../../../src/store/rate-limiter.js';
import { deletePrefix, randomPrefix } from '../../support/harness.js';

let redis: Redis;
const prefix = randomPrefix('rate-limiter');
const keyOf = (name: string) => (window: number) => `${prefix}:${name}:${window}`;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('FixedWindowLimiter', () => {
  it('counts every hit without an id in a counter that lives keepMs, and says when the window ends', async () => {
    const limiter = new FixedWindowLimiter(redis);
    const at = 60_000 * 1000 + 15_000;
    expect(await limiter.hit(keyOf('plain'), at)).toEqual({ count: 1, retryAfterMs: 45_000 });
    expect(await limiter.hit(keyOf('plain'), at + 5000)).toEqual({ count: 2, retryAfterMs: 40_000 });
    expect(await redis.type(`${prefix}:plain:1000`)).toBe('string');
    expect(await redis.get(`${prefix}:plain:1000`)).toBe('2');
    const ttl = await redis.pttl(`${prefix}:plain:1000`);
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(61_000);
    // The next window starts over under its own key.
    expect(await limiter.hit(keyOf('plain'), 60_000 * 1001)).toEqual({ count: 1, retryAfterMs: 60_000 });
  });

  it('counts a hit with an id once however often it comes, as a field of the window’s hash', async () => {
    const limiter = new FixedWindowLimiter(redis, { keepMs: 120_000 });
    const at = 60_000 * 2000;
    expect(await limiter.hit(keyOf('ids'), at, 'SM1')).toEqual({ count: 1, retryAfterMs: 60_000 });
    expect(await limiter.hit(keyOf('ids'), at + 1, 'SM1')).toEqual({ count: 1, retryAfterMs: 59_999 });
    expect(await limiter.hit(keyOf('ids'), at + 2, 'SM2')).toEqual({ count: 2, retryAfterMs: 59_998 });
    expect(await redis.hgetall(`${prefix}:ids:2000`)).toEqual({ SM1: '', SM2: '' });
    const ttl = await redis.pttl(`${prefix}:ids:2000`);
    expect(ttl).toBeGreaterThan(119_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });
});
