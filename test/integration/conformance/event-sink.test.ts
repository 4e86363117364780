// The EventSink suite for every sink: the queued sink (BullMQ on a real Redis, delivered by the real worker
// as signed POSTs to a receiver on loopback) and the sink that drops everything.
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import {
  createEventWorker,
  noEvents,
  QueuedEventSink,
  type OperatorEvent,
} from '../../../src/operator-events/index.js';
import { startEventReceiver, type FakeEventReceiver } from '../../fakes/event-receiver.js';
import { eventSinkConformance } from '../../support/conformance/event-sink.js';
import { identityWorld, redisUrl, testConfig, type IdentityWorld } from '../identity/setup.js';

const SECRET = 'acme-events-secret';
let receiver: FakeEventReceiver;
let world: IdentityWorld;
let workerConnection: Redis;
let worker: Worker;
const sinks: QueuedEventSink[] = [];

beforeAll(async () => {
  receiver = await startEventReceiver(SECRET);
  world = await identityWorld({
    config: testConfig({
      acmeEvents: { url: receiver.url, secret: SECRET, types: ['auth.failed', 'user.verified'] },
    }),
  });
  workerConnection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  worker = createEventWorker({
    connection: workerConnection,
    prefix: world.prefix,
    directory: () => ({ config: world.config.current }),
    logger: world.logger,
    // One at a time: an event emitted later is delivered later (the suite's marker relies on it).
    concurrency: 1,
  });
});
afterAll(async () => {
  await worker.close();
  for (const sink of sinks) await sink.close();
  await workerConnection.quit();
  await receiver.close();
  await world.close();
});

eventSinkConformance('QueuedEventSink (queue, delivery worker, signed webhook)', async () => {
  const now = Date.now();
  const sink = new QueuedEventSink({
    connection: world.redis,
    keys: world.keys,
    directory: () => ({ config: world.config.current }),
    logger: world.logger,
    now: () => now,
  });
  sinks.push(sink);
  const start = receiver.accepted().length;
  return {
    sink,
    now,
    received: async (count) =>
      (await receiver.waitForAccepted(start + count)).slice(start).map((d) => ({
        event: d.event as unknown as OperatorEvent,
        signed: d.signature.ok,
      })),
  };
});

eventSinkConformance('noEvents (drops everything)', async () => ({
  sink: noEvents,
  now: Date.now(),
  received: async () => [],
}));
