// Operator events: what the rest of Switchboard calls to announce something to a workspace's webhook.
import { createHash, randomUUID } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import type { Config, EventType } from '../config/index.js';
import type { Channel } from '../core/events.js';
import type { Logger } from '../log.js';
import { ANONYMOUS_PREFIX } from '../identity/types.js';
import type { Connection } from '../store/connections.js';
import { EventIndex, type EventSubject } from '../store/event-index.js';
import type { IdentityKeys } from '../store/identity-keys.js';
import { traceField } from '../tracing.js';

export const EVENTS_QUEUE = 'events';

/** The configuration as it is now (it changes on SIGHUP); the runtime's `Directory` fits. */
export type ConfigSource = () => { config: Config };

/** A value of an event's data: flat on purpose, so a secret cannot hide in a nested object. */
export type EventValue = string | number | boolean | null;

/** What the caller says happened. */
export interface EventInput {
  type: EventType;
  workspace: string;
  externalId?: string | undefined;
  userId?: string | undefined;
  channel?: Channel | undefined;
  /**
   * The channel identity the event is about (`sms:+1…`), when there is one: never sent, it files the
   * event under the identity so that erasing the identity finds it (its number may be in the data).
   */
  identity?: string | undefined;
  data?: Record<string, EventValue | undefined>;
  /**
   * Another user the event names in its data (an `identity.moved`'s `from`): filed under them too, so
   * that erasing them removes the event like their own.
   */
  formerUser?: { userId: string; externalId?: string | undefined } | undefined;
  /**
   * What happened, as a stable key (e.g. the inbound message id and the event type): the same key gives
   * the same event id, and the event is queued once within 24 hours, so a turn run again after a worker
   * crash reports nothing new (a copy sent later still carries the id the receiver drops it by). Without
   * a key every emit is a new event.
   */
  key?: string | undefined;
}

/** What the operator receives, byte for byte (as JSON). `id` is the same on every retry. */
export interface OperatorEvent {
  id: string;
  type: EventType;
  /** ISO 8601, when the event happened. */
  at: string;
  workspace: string;
  externalId: string | null;
  userId: string | null;
  channel: Channel | null;
  data: Record<string, EventValue>;
}

/**
 * What is left of a queued event whose user was erased while it was being delivered (a job in delivery
 * cannot be removed): nothing about the user, and the delivery worker drops it instead of sending it.
 */
export interface ErasedEvent {
  id: string;
  type: EventType;
  workspace: string;
  erased: true;
}

/**
 * An event job's data, with the W3C trace context of the turn that emitted it (tracing on): its delivery
 * continues that trace and sends it as `traceparent`. Not part of what the operator receives.
 */
export type QueuedEvent = (OperatorEvent | ErasedEvent) & { traceparent?: string };

/** Whom an erasure is about: the user (if verified) and the channel identities they had. */
export type ErasedSubject = EventSubject;

/**
 * Where events go. Implemented by `QueuedEventSink` (a BullMQ queue drained by the delivery worker).
 * `emit` returns the event id, or undefined when the workspace does not take this event.
 */
export interface EventSink {
  emit(event: EventInput): Promise<string | undefined>;
}

/** Data field names that would carry a credential: never sent, whatever the caller put there. */
const SECRET_NAMES =
  /^(password|pass|passcode|pin|secret|token|authtoken|auth_code|code|link_code|apikey|api_key|authorization|credentials?)$|(token|secret|password)$/i;

/** Keeps scalar values under names that cannot be secrets; reports what it dropped (names only). */
export function cleanEventData(data: Record<string, unknown> = {}): {
  data: Record<string, EventValue>;
  dropped: string[];
} {
  const clean: Record<string, EventValue> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(data)) {
    if (value === undefined) continue;
    const scalar =
      value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number';
    if (!scalar || SECRET_NAMES.test(name)) dropped.push(name);
    else clean[name] = value;
  }
  return { data: clean, dropped };
}

/** Whether a workspace takes events of this type (no `types` list: all of them). */
export function wantsEvent(config: Config, workspace: string, type: EventType): boolean {
  if (!Object.hasOwn(config.workspaces, workspace)) return false;
  const events = config.workspaces[workspace]?.events;
  if (!events) return false;
  return events.types === undefined || events.types.includes(type);
}

/** How long after it is queued an event is still delivered (ms), and a keyed one queued at most once. */
export const EVENT_DELIVERY_WINDOW_MS = 86_400_000;

export interface QueuedEventSinkOptions {
  connection: Connection;
  /** The connection BullMQ's events queue uses (see `openStores`); by default `connection`. */
  jobs?: Connection;
  /** Key names (the key-naming key hashes the per-user event indexes). */
  keys: IdentityKeys;
  directory: ConfigSource;
  logger: Logger;
  /** Safety net on top of the 24-hour limit the delivery worker's backoff enforces. */
  maxAttempts?: number;
  now?: () => number;
}

export class QueuedEventSink implements EventSink {
  readonly queue: Queue<QueuedEvent>;
  private readonly now: () => number;
  private readonly index: EventIndex;

  constructor(private readonly options: QueuedEventSinkOptions) {
    this.index = new EventIndex(options.connection, options.keys, ANONYMOUS_PREFIX);
    this.queue = new Queue<QueuedEvent>(EVENTS_QUEUE, {
      connection: options.jobs ?? options.connection,
      prefix: options.keys.eventsQueuePrefix(),
    });
    // Without a listener BullMQ prints connection errors raw; the connection's own listener logs the outage.
    this.queue.on('error', () => undefined);
    this.now = options.now ?? Date.now;
  }

  async emit(input: EventInput): Promise<string | undefined> {
    if (!wantsEvent(this.options.directory().config, input.workspace, input.type)) return undefined;
    const { data, dropped } = cleanEventData(input.data);
    if (dropped.length > 0) {
      // A caller tried to send something that may be a secret: a bug worth hearing about, names only.
      this.options.logger.warn('operator event data fields dropped', { type: input.type, fields: dropped });
    }
    const event: OperatorEvent = {
      id: input.key
        ? `evt_${createHash('sha256').update(`${input.workspace}\n${input.key}`).digest('hex').slice(0, 32)}`
        : `evt_${randomUUID().replaceAll('-', '')}`,
      type: input.type,
      at: new Date(this.now()).toISOString(),
      workspace: input.workspace,
      externalId: input.externalId ?? null,
      userId: input.userId ?? null,
      channel: input.channel ?? null,
      data,
    };
    // Filed under its user and identity first: an event queued but not filed could outlive an erasure.
    await this.file(input, event.id);
    const job: QueuedEvent = { ...event, ...traceField() };
    await this.queue.add(input.type, job, {
      jobId: event.id,
      timestamp: this.now(), // when it was queued, for the delivery worker's age limit
      attempts: this.options.maxAttempts ?? 200,
      backoff: { type: 'switchboard-event' },
      removeOnComplete: true,
      // Given-up events stay a week for inspection, then go: Redis memory stays bounded.
      removeOnFail: { age: 7 * 86_400, count: 10_000 },
      // A keyed event is queued once for as long as its delivery may be retried: the job itself is gone
      // once delivered, so without this a turn run again would send its events a second time.
      ...(input.key ? { deduplication: { id: event.id, ttl: EVENT_DELIVERY_WINDOW_MS } } : {}),
    });
    return event.id;
  }

  /**
   * Removes the queued, delayed and failed events that name an erased user or their identities, found
   * through the per-user index rather than by reading every job (a receiver that is down for a day can
   * leave a great many). An event in delivery at that moment cannot be removed: its data is replaced by
   * an `ErasedEvent`, which the worker drops if the delivery fails and is retried.
   */
  async forget(subject: ErasedSubject): Promise<{ removed: number; voided: number }> {
    const ids = await this.index.take(subject);
    let removed = 0;
    let voided = 0;
    for (const id of ids) {
      // undefined: delivered (or given up and expired) since it was filed; BullMQ "removes" those too.
      const job: Job<QueuedEvent> | undefined = await this.queue.getJob(id);
      if (!job) continue;
      if ((await this.queue.remove(id)) === 1) {
        removed++;
        continue;
      }
      await job.updateData({
        id: job.data.id,
        type: job.data.type,
        workspace: job.data.workspace,
        erased: true,
      });
      voided++;
    }
    if (removed + voided > 0) {
      // Counts only: the user is gone, their id must not reappear in a log line.
      this.options.logger.info('operator events of an erased user removed', {
        workspace: subject.workspace,
        removed,
        voided,
      });
    }
    return { removed, voided };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  /** Files the event's id under the user and the identity it names. */
  private async file(input: EventInput, id: string): Promise<void> {
    const scope =
      input.userId === undefined
        ? undefined
        : { workspace: input.workspace, userId: input.userId, externalId: input.externalId };
    const identities = input.identity === undefined ? [] : [input.identity];
    await this.index.file({ workspace: input.workspace, scope, identities }, id, this.now());
    if (input.formerUser) {
      const former = { workspace: input.workspace, ...input.formerUser };
      await this.index.file({ workspace: input.workspace, scope: former, identities: [] }, id, this.now());
    }
  }
}

/** A sink that drops everything: for processes and tests with no events. */
export const noEvents: EventSink = { emit: async () => undefined };
