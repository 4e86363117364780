// Operator events end to end: BullMQ on a real Redis, signed POSTs to real receivers on loopback, retries, walls, no secrets.
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventWorker } from '../../../src/operator-events/worker.js';
import { QueuedEventSink, type EventSink } from '../../../src/operator-events/sink.js';
import { startEventReceiver, type FakeEventReceiver } from '../../fakes/event-receiver.js';
import { call, identityWorld, redisUrl, startApi, testConfig, type IdentityWorld } from './setup.js';

const CANARY = 'CANARY-SECRET-5f3a9c';

interface Rig {
  w: IdentityWorld;
  sink: QueuedEventSink;
  worker: Worker;
  a: FakeEventReceiver;
  b: FakeEventReceiver;
  close(): Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.close();
});

async function rig(types?: string[]): Promise<Rig> {
  const a = await startEventReceiver('acme-events-secret');
  const b = await startEventReceiver('globex-events-secret');
  // The identity store needs the sink, and the sink needs the world's connection: tie the knot lazily.
  const ref: { sink?: QueuedEventSink } = {};
  const lazy: EventSink = { emit: (event) => ref.sink!.emit(event) };
  const w = await identityWorld({
    config: testConfig({
      acmeEvents: { url: a.url, secret: 'acme-events-secret', ...(types ? { types } : {}) },
      globexEvents: { url: b.url, secret: 'globex-events-secret' },
    }),
    events: lazy,
  });
  const directory = () => ({ config: w.config.current });
  const sink = new QueuedEventSink({ connection: w.redis, keys: w.keys, directory, logger: w.logger });
  ref.sink = sink;
  const workerConnection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const worker = createEventWorker({
    connection: workerConnection,
    prefix: w.prefix,
    directory,
    logger: w.logger,
    backoff: { baseMs: 20, maxDelayMs: 100 },
  });
  const made: Rig = {
    w,
    sink,
    worker,
    a,
    b,
    async close() {
      await worker.close();
      await sink.close();
      await workerConnection.quit();
      await Promise.all([a.close(), b.close()]);
      await w.close();
    },
  };
  rigs.push(made);
  return made;
}

describe('operator events', () => {
  it('gives an event emitted again under the same key (a turn repeated after a crash) the same id, queued once', async () => {
    const { a, sink } = await rig();
    const what = {
      type: 'auth.failed' as const,
      workspace: 'acme',
      channel: 'sms' as const,
      data: { component: 'x' },
    };
    const first = await sink.emit({ ...what, key: 'SM0001:auth.failed:0' });
    const again = await sink.emit({ ...what, key: 'SM0001:auth.failed:0' });
    const other = await sink.emit({ ...what, key: 'SM0002:auth.failed:0' });
    const unkeyed = [await sink.emit(what), await sink.emit(what)];
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(unkeyed[0]).not.toBe(unkeyed[1]);
    const delivered = await a.waitForAccepted(4);
    expect(delivered.map((d) => d.event!.id).sort()).toEqual([first, other, ...unkeyed].sort());
  });

  it('delivers signed events to the workspace’s own receiver only, with no secret in them', async () => {
    const { w, a, b, sink } = await rig();
    const api = await startApi(w);
    try {
      // Secrets in play: a token registered through the API, a link code, a token after an auth step.
      await call(api, 'POST', '/v1/users', {
        body: {
          userId: 'member-1',
          identities: [{ channel: 'sms', address: '+15551230000' }],
          tokens: { 'bank-login': { token: CANARY, ttl: 60 } },
        },
      });
      const link = await call(api, 'POST', '/v1/link-codes', { body: { userId: 'member-2', name: 'Ann' } });
      const code = (link.json as { code: string }).code;
      const redeemed = await w.linkCodes.redeem({
        workspace: 'acme',
        identity: 'whatsapp:+447700900001',
        code,
      });
      expect(redeemed.ok).toBe(true);
      await w.identity.markVerified({
        workspace: 'acme',
        identity: 'sms:+15559870000',
        userId: 'member-3',
        via: 'auth',
        component: 'bank-login',
      });
      await w.tokens.put({ workspace: 'acme', userId: 'member-3' }, 'bank-login', {
        token: CANARY,
        ttlSeconds: 60,
      });
      // A careless caller: the secret-looking fields never leave.
      const failedId = await sink.emit({
        type: 'auth.failed',
        workspace: 'acme',
        userId: 'member-3',
        channel: 'sms',
        data: { component: 'bank-login', password: CANARY, token: CANARY, auth_code: CANARY, code },
      });
      expect(failedId).toMatch(/^evt_[0-9a-f]{32}$/);
      await w.identity.markVerified({
        workspace: 'globex',
        identity: 'sms:+15559870000',
        userId: 'g-1',
        via: 'auth',
      });

      const fromA = await a.waitForAccepted(3);
      const fromB = await b.waitForAccepted(1);
      const events = fromA.map((d) => d.event!);
      const summary = events.map(
        (e) => `${e.type} ${e.workspace} ${e.userId} ${(e.data as { via?: string }).via}`,
      );
      expect(summary.sort()).toEqual([
        'auth.failed acme member-3 undefined',
        'user.verified acme member-2 link',
        'user.verified acme member-3 auth',
      ]);
      const failed = events.find((e) => e.type === 'auth.failed')!;
      expect(failed).toEqual({
        id: failedId,
        type: 'auth.failed',
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        workspace: 'acme',
        externalId: null,
        userId: 'member-3',
        channel: 'sms',
        data: { component: 'bank-login' },
      });
      const linked = events.find((e) => e.userId === 'member-2')!;
      expect(linked.data).toEqual({ identity: 'whatsapp:+447700900001', via: 'link' });
      expect(linked.channel).toBe('whatsapp');

      expect(fromB.map((d) => [d.event!.type, d.event!.workspace, d.event!.userId])).toEqual([
        ['user.verified', 'globex', 'g-1'],
      ]);
      for (const delivery of [...a.deliveries, ...b.deliveries]) {
        expect(delivery.signature.ok).toBe(true);
        expect(delivery.headers['content-type']).toBe('application/json');
        expect(delivery.body).not.toContain(CANARY);
        expect(delivery.body).not.toContain(code);
      }
      expect(b.deliveries.every((d) => d.event!.workspace === 'globex')).toBe(true);
      expect(a.deliveries.every((d) => d.event!.workspace === 'acme')).toBe(true);
      // Neither the queued jobs nor the logs hold the secret.
      for (const key of (await w.scan()).filter((k) => k.startsWith(`${w.keys.eventsQueuePrefix()}:`))) {
        const type = await w.redis.type(key);
        const raw =
          type === 'hash'
            ? JSON.stringify(await w.redis.hgetall(key))
            : type === 'string'
              ? await w.redis.get(key)
              : '';
        expect(raw ?? '').not.toContain(CANARY);
      }
      expect(w.logLines.join('\n')).not.toContain(CANARY);
    } finally {
      await api.close();
    }
  });

  it('retries a receiver that answers 500 and delivers on the third try with the same id', async () => {
    const { a, sink } = await rig();
    a.respondWith((attempt) => (attempt <= 2 ? 500 : 204));
    const id = await sink.emit({
      type: 'user.opted_out',
      workspace: 'acme',
      channel: 'sms',
      data: { identity: 'sms:+1555' },
    });
    const [accepted] = await a.waitForAccepted(1);
    expect(a.deliveries.map((d) => [d.event!.id, d.status])).toEqual([
      [id, 500],
      [id, 500],
      [id, 204],
    ]);
    expect(a.deliveries.every((d) => d.signature.ok)).toBe(true);
    // The same event each time, byte for byte, signed afresh.
    expect(new Set(a.deliveries.map((d) => d.body)).size).toBe(1);
    expect(accepted!.event).toMatchObject({ id, type: 'user.opted_out', data: { identity: 'sms:+1555' } });
  });

  it('erasure voids an event that is being delivered: its retry is dropped, never sent again', async () => {
    const { a, sink, worker } = await rig();
    const phone = '+15550177';
    let release!: (status: number) => void;
    let arrived!: () => void;
    const inDelivery = new Promise<void>((resolve) => (arrived = resolve));
    a.respondWith((attempt) => {
      if (attempt > 1) return 200;
      arrived();
      return new Promise<number>((resolve) => (release = resolve));
    });
    const id = (await sink.emit({
      type: 'message.failed',
      workspace: 'acme',
      userId: 'member-77',
      channel: 'sms',
      identity: `sms:${phone}`,
      data: { to: phone, reason: 'undelivered' },
    }))!;
    await inDelivery;
    // Active, so it cannot be removed: what is left of it names nobody.
    expect(
      await sink.forget({
        workspace: 'acme',
        scope: { workspace: 'acme', userId: 'member-77' },
        identities: [`sms:${phone}`],
      }),
    ).toEqual({ removed: 0, voided: 1 });
    expect((await sink.queue.getJob(id))!.data).toEqual({
      id,
      type: 'message.failed',
      workspace: 'acme',
      erased: true,
    });
    const done = new Promise<unknown>((resolve) =>
      worker.on('completed', (job, result) => job.id === id && resolve(result)),
    );
    release(503);
    expect(await done).toBe('erased');
    expect(await sink.queue.getJob(id)).toBeUndefined();
    expect(a.deliveries.map((d) => d.status)).toEqual([503]);
    // Nothing is left to find a second time.
    expect(
      await sink.forget({
        workspace: 'acme',
        scope: { workspace: 'acme', userId: 'member-77' },
        identities: [],
      }),
    ).toEqual({ removed: 0, voided: 0 });
  });

  it('queues only the types the workspace asked for, and nothing for a workspace without events', async () => {
    const { w, a, sink } = await rig(['user.locked']);
    expect(await sink.emit({ type: 'conversation.started', workspace: 'acme' })).toBeUndefined();
    const noEvents = testConfig();
    w.config.current = { ...noEvents, workspaces: { ...noEvents.workspaces } };
    expect(await sink.emit({ type: 'user.locked', workspace: 'acme' })).toBeUndefined();
    expect(await sink.emit({ type: 'user.locked', workspace: 'nobody' })).toBeUndefined();
    expect(await sink.queue.count()).toBe(0);
    expect(a.deliveries).toEqual([]);
  });
});
