// The conversation queue's worker against a real Redis: a kick this process takes for itself (no wake-up,
// no take), a reservation given back, and never two drains of one conversation in one worker.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { KickWorker, type Kick, type Lead } from '../../../src/queue/kick-worker.js';
import { Queues } from '../../../src/queue/queues.js';
import type { Keys } from '../../../src/store/keys.js';
import { dataKey } from '../../support/config.js';
import { deletePrefix, keysFor, randomPrefix } from '../../support/harness.js';
import { captureLogs } from '../../support/logs.js';

const LEASE = 30_000;

let redis: Redis;
let prefix: string;
let keys: Keys;
let queues: Queues;
let worker: KickWorker | undefined;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
});
afterAll(() => redis.disconnect());
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await Promise.all(queues.sends.map((queue) => queue.close()));
  await deletePrefix(redis, prefix);
});

/** Drains that wait for the test to let each one end, in the order they started. */
function gatedDrains() {
  const started: { kick: Kick; finish: () => void }[] = [];
  let waiting: ((count: number) => void)[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const process = (kick: Kick) =>
    new Promise<void>((resolve) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      started.push({
        kick,
        finish: () => {
          running -= 1;
          resolve();
        },
      });
      for (const wake of waiting) wake(started.length);
      waiting = [];
    });
  /** Resolves once `count` drains have started. */
  const startedCount = (count: number) =>
    new Promise<void>((resolve) => {
      const check = (n: number) => (n >= count ? resolve() : waiting.push(check));
      check(started.length);
    });
  return { process, started, startedCount, mostAtOnce: () => mostAtOnce };
}

function start(process: (kick: Kick) => Promise<void>, concurrency = 2): KickWorker {
  prefix = randomPrefix('kickw');
  keys = keysFor(prefix, dataKey());
  queues = new Queues(redis, keys, 1);
  worker = new KickWorker({
    store: queues.kicks,
    connection: redis,
    shard: 0,
    concurrency,
    leaseMs: LEASE,
    process,
    logger: captureLogs().logger,
    queue: 'conversations',
  });
  queues.takeLocally(0, worker);
  return worker;
}

const state = () => redis.hgetall(keys.kicks(0, 'state'));

/** A slot reserved for `cid`, once the worker's first take (which asks for every slot) has answered. */
async function reserved(cid: string): Promise<string> {
  let token: string | undefined;
  await vi.waitFor(() => {
    token = worker!.reserve(cid);
    expect(token).toBeDefined();
  });
  return token!;
}

describe('the conversation worker', () => {
  it('drains a conversation its own process kicks at once, under the token the kick took it with', async () => {
    const drains = gatedDrains();
    start(drains.process);
    await queues.kickConversation('c1');
    await drains.startedCount(1);
    const { kick } = drains.started[0]!;
    expect(kick.cid).toBe('c1');
    // Taken in the kick's own script call: held by the drain's token, and no wake-up token was pushed.
    expect(await state()).toEqual({ c1: kick.token });
    expect(await redis.llen(keys.kicks(0, 'wake'))).toBe(0);
    expect(worker!.inFlight()).toBe(1);

    drains.started[0]!.finish();
    await vi.waitFor(async () => expect(await redis.exists(keys.kicks(0, 'state'))).toBe(0));
    expect(worker!.inFlight()).toBe(0);
  });

  it('leaves a conversation to the queue when every slot is busy, and takes it when one frees', async () => {
    const drains = gatedDrains();
    start(drains.process, 1);
    await queues.kickConversation('c1');
    await drains.startedCount(1);
    // What a webhook asks before it accepts (whether to read the head for the worker): no, for either.
    expect(queues.takesHere('c2')).toBe(false);
    expect(queues.takesHere('c1')).toBe(false);
    await queues.kickConversation('c2'); // no free slot: queued, with a wake-up token
    expect(await state()).toEqual({ c1: drains.started[0]!.kick.token, c2: 'q' });

    drains.started[0]!.finish();
    await drains.startedCount(2);
    expect(drains.started[1]!.kick.cid).toBe('c2');
    drains.started[1]!.finish();
    await vi.waitFor(async () => expect(await redis.exists(keys.kicks(0, 'state'))).toBe(0));
    await vi.waitFor(() => expect(queues.takesHere('c3')).toBe(true));
  });

  it('hands the drain what the kick that took it was given (the event and the head its accept read)', async () => {
    const drains = gatedDrains();
    start(drains.process);
    await reserved('warm-up').then((token) => worker!.unreserve('warm-up', token));
    expect(queues.takesHere('c1')).toBe(true);
    const event: Lead['event'] = {
      id: 'SM1',
      kind: 'message',
      botId: 'bot',
      channel: 'sms',
      identity: 'sms:+12025550100',
      from: '+12025550100',
      to: '+15005550006',
      text: 'hi',
      receivedAt: Date.now(),
    };
    const lead: Lead = { event, head: Promise.resolve(undefined) };
    await queues.kickConversation('c1', lead);
    await drains.startedCount(1);
    expect(drains.started[0]!.kick.lead).toBe(lead);
    drains.started[0]!.finish();
    // A conversation taken from the queue comes with nothing.
    await queues.kicks.kick(0, 'c2', Date.now());
    await drains.startedCount(2);
    expect(drains.started[1]!.kick.lead).toBeUndefined();
    drains.started[1]!.finish();
    await vi.waitFor(async () => expect(await redis.exists(keys.kicks(0, 'state'))).toBe(0));
  });

  it('gives back at once a take whose kick failed after Redis ran it, instead of leaving it to its lease', async () => {
    const drains = gatedDrains();
    start(drains.process);
    // What `kickConversation` does, with the answer of the kick lost: Redis took it under the reservation.
    const lostToken = await reserved('c1');
    expect(await queues.kicks.kickAndTake(0, 'c1', Date.now(), lostToken, LEASE)).toEqual({ taken: true });
    worker!.lost('c1', lostToken);
    // The slot is free again, the take goes back to the queue, and the worker's own take drains it.
    await drains.startedCount(1);
    const { kick } = drains.started[0]!;
    expect(kick.cid).toBe('c1');
    expect(kick.token).not.toBe(lostToken);
    expect(await state()).toEqual({ c1: kick.token });
    drains.started[0]!.finish();
    await vi.waitFor(async () => expect(await redis.exists(keys.kicks(0, 'state'))).toBe(0));
    expect(worker!.inFlight()).toBe(0);
  });

  it('gives back nothing when the failed kick never ran', async () => {
    const drains = gatedDrains();
    start(drains.process);
    const token = await reserved('c1');
    worker!.lost('c1', token);
    expect(worker!.inFlight()).toBe(0);
    // Another process holds it meanwhile: its take is left alone.
    await queues.kicks.kickAndTake(0, 'c1', Date.now(), 'w:other:1', LEASE);
    await vi.waitFor(async () => expect(await state()).toEqual({ c1: 'w:other:1' }));
    expect(drains.started).toHaveLength(0);
  });

  it('gives back an older take of its own that a failover put back, once its drain finds it no longer holds it', async () => {
    const drains = gatedDrains();
    start(drains.process);
    await queues.kickConversation('c1');
    await drains.startedCount(1);
    const { kick } = drains.started[0]!;
    // A failover to a replica that missed the later takes: the conversation is held by an earlier token of
    // this worker's, kicked meanwhile, under a lease far from over. Nothing of this worker drains under it.
    const older = kick.token.replace(/\d+$/, '0');
    await redis.hset(keys.kicks(0, 'state'), 'c1', `${older}+`);
    await redis.zadd(keys.kicks(0, 'due'), Date.now() + LEASE, 'c1');

    drains.started[0]!.finish();
    await drains.startedCount(2);
    expect(drains.started[1]!.kick.cid).toBe('c1');
    expect(drains.started[1]!.kick.token).not.toBe(older);
    expect(drains.mostAtOnce()).toBe(1);
    drains.started[1]!.finish();
    await vi.waitFor(async () => expect(await redis.exists(keys.kicks(0, 'state'))).toBe(0));
  });

  it('gives back at the next kick an older take of its own that a failover put back after its drain let go', async () => {
    const drains = gatedDrains();
    start(drains.process);
    await queues.kickConversation('c1');
    await drains.startedCount(1);
    const { kick } = drains.started[0]!;
    drains.started[0]!.finish();
    await vi.waitFor(async () => expect(await redis.exists(keys.kicks(0, 'state'))).toBe(0));
    // The promoted replica missed the release: the conversation is held again by the drain's take, under
    // a lease far from over, and nothing of this worker drains under it.
    await redis.hset(keys.kicks(0, 'state'), 'c1', kick.token);
    await redis.zadd(keys.kicks(0, 'due'), Date.now() + LEASE, 'c1');

    // A new message kicks: the kick finds the worker's own old take, which goes back to the queue.
    await queues.kickConversation('c1');
    await drains.startedCount(2);
    expect(drains.started[1]!.kick.cid).toBe('c1');
    expect(drains.started[1]!.kick.token).not.toBe(kick.token);
    drains.started[1]!.finish();
    await vi.waitFor(async () => expect(await redis.exists(keys.kicks(0, 'state'))).toBe(0));
  });

  it('never drains one conversation twice at once when it is taken again while draining', async () => {
    const drains = gatedDrains();
    start(drains.process);
    await queues.kickConversation('c1');
    await drains.startedCount(1);
    const first = drains.started[0]!.kick.token;
    // The lease's record is lost (a failover to a replica that missed it), and a new message kicks again:
    // the worker's own take gives it the conversation it is draining.
    await redis.del(keys.kicks(0, 'state'), keys.kicks(0, 'due'));
    await queues.kicks.kick(0, 'c1', Date.now());
    await vi.waitFor(async () => expect((await state()).c1).toMatch(/^w:/));
    const second = (await state()).c1!;
    expect(second).not.toBe(first);
    expect(drains.started).toHaveLength(1);

    drains.started[0]!.finish();
    await drains.startedCount(2);
    expect(drains.started[1]!.kick).toMatchObject({ cid: 'c1', token: second });
    expect(drains.mostAtOnce()).toBe(1);
    drains.started[1]!.finish();
    await vi.waitFor(async () => expect(await redis.exists(keys.kicks(0, 'state'))).toBe(0));
    expect(worker!.inFlight()).toBe(0);
  });
});
