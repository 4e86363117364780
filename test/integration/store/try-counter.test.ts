// Tries counted per target against a real Redis: racing tries never exceed the limit, and the lockout is reported once.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { TryCounter } from '../../../src/store/try-counter.js';
import { deletePrefix, keysFor, randomPrefix } from '../../support/harness.js';

let redis: Redis;
const prefix = randomPrefix('try-counter');
const keys = new IdentityKeys(keysFor(prefix, randomBytes(32).toString('base64')));

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('TryCounter', () => {
  it('of 20 tries at once with 9 allowed, 9 go ahead and 11 are refused; one of them starts the lockout', async () => {
    let now = 1_000_000;
    const counter = new TryCounter(redis, { now: () => now });
    const key = keys.accountLockout('acme', 'login', 'race');
    const policy = { maxAttempts: 9, lockoutSeconds: 900 };
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => counter.try(key, policy)));
    expect(outcomes.filter((o) => !o.locked)).toHaveLength(9);
    expect(outcomes.filter((o) => o.locked)).toHaveLength(11);
    expect(outcomes.filter((o) => o.newly)).toHaveLength(1);
    expect(new Set(outcomes.filter((o) => o.locked).map((o) => o.until))).toEqual(new Set([now + 900_000]));
    expect(await redis.pttl(key)).toBeGreaterThan(899_000);

    // After the lockout the target starts over.
    now += 900_001;
    expect(await counter.try(key, policy)).toEqual({ locked: false });
  });

  it('a released try does not count, a cleared target forgets its failures, and the last allowed failure locks at once', async () => {
    const counter = new TryCounter(redis);
    const key = keys.accountLockout('acme', 'login', 'settle');
    const policy = { maxAttempts: 2, lockoutSeconds: 60 };
    expect(await counter.try(key, policy)).toEqual({ locked: false });
    await counter.release(key, policy);
    expect(await counter.try(key, policy)).toEqual({ locked: false });
    expect(await counter.failed(key, policy)).toEqual({ locked: false });
    await counter.clear(key);
    expect(await redis.exists(key)).toBe(0);
    expect(await counter.try(key, policy)).toEqual({ locked: false });
    expect(await counter.try(key, policy)).toEqual({ locked: false });
    const locked = await counter.failed(key, policy);
    expect(locked).toMatchObject({ locked: true, newly: true });
    expect(await counter.try(key, policy)).toMatchObject({ locked: true, newly: false });
  });
});
