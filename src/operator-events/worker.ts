// The operator events delivery worker: signed POSTs, at least once, exponential backoff for up to 24 hours.
import { Worker, type Job, type MinimalJob } from 'bullmq';
import type { Logger } from '../log.js';
import type { Connection } from '../store/connections.js';
import { IdentityKeys } from '../store/identity-keys.js';
import { SIGNATURE_HEADER, signSwitchboardEvent } from './signature.js';
import { EVENT_DELIVERY_WINDOW_MS, EVENTS_QUEUE, type ConfigSource, type QueuedEvent } from './sink.js';
import { throttled } from '../log-throttle.js';
import { failed, hostOf, inSpan, injectTraceContext, SpanKind } from '../tracing.js';

/** The receiver did not take the event (a non-2xx answer, a timeout, a network failure): try again later. */
export class EventDeliveryError extends Error {
  override readonly name = 'EventDeliveryError';
}

export interface EventBackoff {
  /** Delay before the first retry; doubles with every attempt. */
  baseMs: number;
  /** The longest wait between two attempts. */
  maxDelayMs: number;
  /** After this long since the event was queued, it is given up. */
  maxAgeMs: number;
}

export const DEFAULT_EVENT_BACKOFF: EventBackoff = {
  baseMs: 10_000,
  maxDelayMs: 3_600_000,
  maxAgeMs: EVENT_DELIVERY_WINDOW_MS,
};

/**
 * The delay before the next attempt, or -1 to give up (BullMQ's "do not retry"). The last attempt is
 * placed at the end of the allowed age rather than skipped, so a receiver down for 23 hours still gets it.
 */
export function eventRetryDelay(
  attemptsMade: number,
  queuedAt: number,
  now: number,
  backoff: EventBackoff,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(backoff.baseMs * 2 ** Math.max(0, attemptsMade - 1), backoff.maxDelayMs);
  // ±10% jitter so that a receiver coming back is not hit by every queued event at once.
  const delay = Math.max(1, Math.round(exponential * (0.9 + random() * 0.2)));
  const left = queuedAt + backoff.maxAgeMs - now;
  if (left <= 0) return -1;
  return Math.min(delay, left);
}

export interface EventWorkerOptions {
  /** A connection with `maxRetriesPerRequest: null`, as BullMQ workers need. */
  connection: Connection;
  /** The key prefix (`Keys.prefix`). */
  prefix: string;
  directory: ConfigSource;
  logger: Logger;
  concurrency?: number;
  backoff?: Partial<EventBackoff>;
  /** Milliseconds to wait for the receiver's answer. */
  timeoutMs?: number;
  now?: () => number;
}

export function createEventWorker(options: EventWorkerOptions): Worker<QueuedEvent> {
  const backoff = { ...DEFAULT_EVENT_BACKOFF, ...options.backoff };
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const { logger } = options;

  const deliver = async (job: Job<QueuedEvent>): Promise<string> => {
    // The trace context travels beside the event, never in the body the operator verifies.
    const { traceparent, ...event } = job.data;
    if ('erased' in event) return 'erased'; // its user was erased while an earlier attempt was under way
    const config = options.directory().config;
    // The URL and secret are looked up at delivery time from the event's own workspace: never another's.
    const events = Object.hasOwn(config.workspaces, event.workspace)
      ? config.workspaces[event.workspace]?.events
      : undefined;
    if (!events || (events.types !== undefined && !events.types.includes(event.type))) {
      logger.warn('operator event dropped: the workspace no longer takes it', {
        workspace: event.workspace,
        type: event.type,
        eventId: event.id,
      });
      return 'dropped';
    }
    const body = JSON.stringify(event);
    const attributes = () => {
      const host = hostOf(events.url);
      return {
        'switchboard.operator_event.type': event.type,
        'switchboard.operator_event.id': event.id,
        'switchboard.workspace': event.workspace,
        'http.request.method': 'POST',
        ...(host !== undefined ? { 'server.address': host } : {}),
      };
    };
    return inSpan(
      'operator event',
      { kind: SpanKind.CLIENT, attributes, parent: traceparent },
      async (span) => {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'user-agent': 'Switchboard-Events/1',
          [SIGNATURE_HEADER]: signSwitchboardEvent(body, events.secret, now() / 1000),
        };
        injectTraceContext(headers);
        let status: number;
        try {
          const response = await fetch(events.url, {
            method: 'POST',
            headers,
            body,
            redirect: 'manual',
            signal: AbortSignal.timeout(timeoutMs),
          });
          status = response.status;
          await response.body?.cancel();
        } catch (error) {
          throw new EventDeliveryError(`the receiver could not be reached: ${(error as Error).message}`);
        }
        span.setAttribute('http.response.status_code', status);
        // A redirect is not followed (it could point anywhere) and counts as a failure.
        if (status < 200 || status >= 300) {
          failed(span, String(status));
          throw new EventDeliveryError(`the receiver answered ${status}`);
        }
        return 'delivered';
      },
    );
  };

  const worker = new Worker<QueuedEvent>(EVENTS_QUEUE, deliver, {
    connection: options.connection,
    prefix: new IdentityKeys(options.prefix).eventsQueuePrefix(),
    concurrency: options.concurrency ?? 8,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, _error?: Error, job?: MinimalJob) =>
        eventRetryDelay(attemptsMade, job?.timestamp ?? now(), now(), backoff),
    },
  });
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = job.finishedOn !== undefined;
    const meta = {
      workspace: job.data.workspace,
      type: job.data.type,
      eventId: job.data.id,
      attempt: job.attemptsMade,
      reason: error.message,
    };
    if (final) logger.error('operator event given up', meta);
    else logger.warn('operator event delivery failed; will retry', meta);
  });
  const workerError = throttled((m, meta) => logger.error(m, meta), 'operator events worker error');
  worker.on('error', (error) => workerError(error.message));
  return worker;
}
