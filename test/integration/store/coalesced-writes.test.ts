// The workers' connection: the commands sent in one burst of the event loop leave in one socket write,
// counted by the kernel (this thread's write syscalls in /proc), against a real Redis.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../../../src/store/open.js';
import { deletePrefix, randomPrefix } from '../../support/harness.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = randomPrefix('coalesced');
let plain: Redis;
let coalesced: Redis;

/** Write syscalls (write, writev) this thread has made: the socket writes of the connections it drives. */
function writeSyscalls(): number {
  const io = readFileSync('/proc/thread-self/io', 'utf8');
  return Number(/^syscw: (\d+)$/m.exec(io)![1]);
}

/** Sends three commands in one burst; resolves with their answers and the write syscalls made meanwhile. */
async function burst(redis: Redis, key: string) {
  const before = writeSyscalls();
  const answers = Promise.all([redis.set(key, 'a'), redis.incr(`${key}:n`), redis.get(key)]);
  // The writes happen by the end of this tick's microtasks, before any answer can arrive.
  await new Promise<void>((resolve) => process.nextTick(resolve));
  const writes = writeSyscalls() - before;
  return { answers: await answers, writes };
}

beforeAll(async () => {
  plain = new Redis(url, { maxRetriesPerRequest: null });
  coalesced = new Redis(url, { maxRetriesPerRequest: null });
  coalesceWrites(coalesced);
  await Promise.all([plain.ping(), coalesced.ping()]);
});
afterAll(async () => {
  await deletePrefix(plain, prefix);
  plain.disconnect();
  coalesced.disconnect();
});

describe('coalesceWrites', () => {
  it('writes the commands of one burst in one syscall, in order, where a plain connection makes one each', async () => {
    const many = await burst(plain, `${prefix}:plain`);
    expect(many).toEqual({ answers: ['OK', 1, 'a'], writes: 3 });
    const one = await burst(coalesced, `${prefix}:coalesced`);
    expect(one).toEqual({ answers: ['OK', 1, 'a'], writes: 1 });
  });

  it('writes each later burst as it comes: a command sent on an answer is not held back', async () => {
    const key = `${prefix}:chain`;
    for (let i = 1; i <= 5; i++) expect(await coalesced.incr(key)).toBe(i);
    const again = await burst(coalesced, `${prefix}:again`);
    expect(again).toEqual({ answers: ['OK', 1, 'a'], writes: 1 });
  });

  it('sends what was queued while connecting once it is ready', async () => {
    const late = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
    coalesceWrites(late);
    try {
      // A lazy connection connects on its first command and holds the rest in its offline queue meanwhile.
      expect(late.status).toBe('wait');
      const answers = Promise.all([late.set(`${prefix}:late`, 'b'), late.get(`${prefix}:late`)]);
      expect(await answers).toEqual(['OK', 'b']);
      expect(await burst(late, `${prefix}:late`)).toEqual({ answers: ['OK', 1, 'a'], writes: 1 });
    } finally {
      late.disconnect();
    }
  });
});
