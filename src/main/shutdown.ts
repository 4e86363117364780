// The order a gateway stops in: the web server stops taking work, then workers finish their jobs, then
// the queues and connections close.
import type { QueueWorker } from '../queue/kick-worker.js';
import type { WebServer } from '../http/server.js';
import type { Connection } from '../store/connections.js';
import { quitWithin } from '../store/open.js';

export interface Running {
  workers: QueueWorker[];
  web?: WebServer;
  /** METRICS_PORT's server: closed last, so a scrape during the stop still sees the counts. */
  metrics?: WebServer;
  waiter?: { close(): Promise<void>; answered(cid: string, turn: number, answer: string): void };
  /** Operator event sinks, then queues: closed once no worker or request can add to them. */
  sinks: { close(): Promise<unknown> }[];
  queues: { close(): Promise<unknown> }[];
  connections: Connection[];
  /** The outbound client's pooled connections to operator hosts: closed once no turn or request can call. */
  outbound?: { close(): void };
}

/** A graceful stop: answers and jobs in flight finish first. */
export async function stopInOrder(running: Running): Promise<void> {
  const closing = running.web?.drain() ?? Promise.resolve();
  await Promise.all(running.workers.map((w) => w.close()));
  await running.waiter?.close();
  await closing;
  running.outbound?.close();
  await Promise.all(running.sinks.map((s) => s.close()));
  await Promise.all(running.queues.map((q) => q.close()));
  // QUIT waits for its answer; a connection Redis left half-open (a failover, a primary killed) would
  // hold the stop forever, so it is cut after a second.
  await Promise.all(running.connections.map((c) => quitWithin(c, 1000)));
  await running.metrics?.drain();
}

/** A start that failed: close what was opened, without waiting on Redis. */
export async function abandon(running: Running): Promise<void> {
  await Promise.all(running.workers.map((w) => w.close()));
  await Promise.all([...running.queues, ...running.sinks].map((q) => q.close()));
  await running.waiter?.close();
  running.outbound?.close();
  for (const c of running.connections) c.disconnect();
}
