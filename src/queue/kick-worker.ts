// Takes conversations off a shard of the conversation queue and drains each under a lease, a few at a time.
import { randomUUID } from 'node:crypto';
import { onReconnect, type Connection } from '../store/connections.js';
import type { KickQueueStore } from '../store/kick-queue.js';
import type { HeadRead } from '../store/conversation-store.js';
import type { Logger } from '../log.js';
import { throttled } from '../log-throttle.js';
import type { InboundEvent } from '../core/events.js';

/** One conversation taken off the queue, for as long as its drain runs. */
export interface Kick {
  cid: string;
  /** The take's token: fences what this drain does (its outbox claim) against a worker that took it over. */
  token: string;
  /** Queue it again for `at` (ms) instead of letting go when the drain returns: a retry's backoff. */
  retryAt(at: number): void;
  /** Handed over by the kick that took the conversation for this worker, in this process: see `Lead`. */
  lead?: Lead;
}

/**
 * What a webhook of this process knows of the conversation its kick took for this worker (never from
 * Redis): its event, most likely the head, whose user is looked up with the head's read; and, when its
 * accept queued the only event, what the head's read would say (then there is no read). Settled before
 * the kick answers: the accept's answer comes first.
 */
export interface Lead {
  event: InboundEvent;
  head?: Promise<HeadRead | undefined>;
}

/** What a gateway asks of any of its workers: running, how much it holds, and a graceful stop. */
export interface QueueWorker {
  isRunning(): boolean;
  /** Jobs (or drains) it is running now: what a stop waits for. */
  inFlight(): number;
  close(): Promise<void>;
}

export interface KickWorkerOptions {
  store: KickQueueStore;
  /** The worker's connection; a duplicate of it blocks while the shard is idle. */
  connection: Connection;
  shard: number;
  concurrency: number;
  /** A drain's lease (ms), renewed every half of it while it runs; a dead worker's drains come due after it. */
  leaseMs: number;
  process: (kick: Kick) => Promise<void>;
  /**
   * Told of what a webhook of this process is about to kick (see `LocalTaker.prepare`), before its accept
   * is sent: `process` may start its first reads for it now, alongside the accept.
   */
  prepare?: (lead: Lead) => void;
  logger: Logger;
  /** The queue's name in logs. */
  queue: string;
}

/** The longest an idle worker blocks before it looks again (leases that ended, a lost wake-up token). */
const MAX_IDLE_MS = 5_000;
/** How long a worker waits before it tries Redis again after a failed take. */
const RETRY_TAKE_MS = 1_000;
/** How soon a drain that threw is tried again. */
const RETRY_FAILED_MS = 1_000;

/**
 * The conversation queue's worker. It takes up to `concurrency` conversations in one script call, drains
 * each, and lets go (one script call), or queues it again when it was kicked meanwhile. Idle, it blocks on the
 * shard's wake-up list (BLPOP on a connection of its own), so a kick is picked up without polling; it still
 * looks every few seconds, for leases that ended. No job objects, no per-kick bookkeeping beyond the lease.
 */
export class KickWorker implements QueueWorker {
  /** Prefix of this worker's take tokens: what it holds is found by it after an outage. */
  private readonly id = `w:${randomUUID()}:`;
  private seq = 0;
  /**
   * What it drains, by conversation: the take's token and when the drain is done. `settle`: a reservation
   * (`reserve`) whose kick has not answered yet, settled by `adopt` or `unreserve`. `again`: taken again
   * while being drained here, so drained once more, in turn, under the new take's token.
   */
  private readonly active = new Map<
    string,
    { token: string; done: Promise<void>; settle?: (drained: Promise<void>) => void; again?: true }
  >();
  /** Slots the take in flight asked for: a reservation does not take one of them. */
  private asking = 0;
  private readonly blocking: Connection;
  private running = true;
  private loop: Promise<void>;
  private slotFreed?: () => void;
  /** The take in flight: a hand-back after an outage waits for it, so it knows what the take gave. */
  private taking: Promise<unknown> = Promise.resolve();
  private readonly renewTimer: NodeJS.Timeout;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly logError: (reason: string) => void;

  constructor(private readonly opts: KickWorkerOptions) {
    this.blocking = opts.connection.duplicate();
    this.blocking.on('error', () => undefined); // the worker's own connection logs an outage once
    this.logError = throttled((m, meta) => opts.logger.error(m, meta), 'conversation worker error');
    this.renewTimer = setInterval(() => void this.renew(), Math.max(100, Math.floor(opts.leaseMs / 2)));
    this.renewTimer.unref();
    onReconnect(opts.connection, () => void this.handBack());
    this.loop = this.run();
  }

  isRunning(): boolean {
    return this.running;
  }

  /** The queue shard it takes from. */
  get shard(): number {
    return this.opts.shard;
  }

  /** How long a take (or a kick that takes for this worker) holds a conversation before it comes due again. */
  get leaseMs(): number {
    return this.opts.leaseMs;
  }

  inFlight(): number {
    return this.active.size;
  }

  /** Stops taking, lets the drains in flight finish (and let go), then closes its blocking connection. */
  async close(): Promise<void> {
    if (!this.running) return this.loop;
    this.running = false;
    this.blocking.disconnect();
    this.slotFreed?.();
    await this.loop;
    while (this.active.size > 0) await Promise.all([...this.active.values()].map((a) => a.done));
    clearInterval(this.renewTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
  }

  private async run(): Promise<void> {
    const { store, shard, leaseMs, concurrency } = this.opts;
    while (this.running) {
      const free = concurrency - this.active.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      const token = `${this.id}${++this.seq}`;
      let nextDueAt: number | undefined;
      try {
        this.asking = free;
        const taking = store.take(shard, Date.now(), leaseMs, free, token);
        this.taking = taking.catch(() => undefined);
        const taken = await taking.finally(() => (this.asking = 0));
        for (const cid of taken.cids) this.drain(cid, token);
        // All it asked for: more may be due. Fewer: nothing else was due, and the wake list says when.
        if (taken.cids.length === free) continue;
        nextDueAt = taken.nextDueAt;
      } catch (error) {
        if (!this.running) break;
        this.logError(error instanceof Error ? error.message : String(error));
        await new Promise((resolve) => setTimeout(resolve, RETRY_TAKE_MS));
        continue;
      }
      const wait = Math.min(MAX_IDLE_MS, nextDueAt !== undefined ? nextDueAt - Date.now() : MAX_IDLE_MS);
      if (wait <= 0) continue;
      try {
        await store.waitForWork(this.blocking, shard, wait);
      } catch (error) {
        if (!this.running) break;
        this.logError(error instanceof Error ? error.message : String(error));
        await new Promise((resolve) => setTimeout(resolve, RETRY_TAKE_MS));
      }
    }
  }

  /**
   * A slot for a conversation this process is about to kick (`KickQueueStore.kickAndTake`), with the token to
   * take it under; undefined when every slot is busy, or the worker is stopping or already draining it. The
   * slot counts as a drain (its lease is renewed, a hand-back leaves it alone) until `adopt` or `unreserve`.
   */
  reserve(cid: string): string | undefined {
    if (!this.hasRoom(cid)) return undefined;
    const token = `${this.id}${++this.seq}`;
    let settle!: (drained: Promise<void>) => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    this.active.set(cid, { token, done, settle });
    return token;
  }

  /** Whether `reserve` would give a slot for the conversation now (a free slot, and not drained here already). */
  hasRoom(cid: string): boolean {
    return this.running && !this.active.has(cid) && this.active.size + this.asking < this.opts.concurrency;
  }

  /** A webhook of this process is about to accept and kick `lead`, most likely for this worker: see `prepare`. */
  prepare(lead: Lead): void {
    this.opts.prepare?.(lead);
  }

  /** The kick took the reserved conversation: drain it here, as if a take had given it. `lead`: see `Kick`. */
  adopt(cid: string, token: string, lead?: Lead): void {
    const reservation = this.active.get(cid);
    if (!reservation?.settle || reservation.token !== token) return;
    this.drain(cid, token, lead); // the reservation is replaced by the drain, not queued behind
    reservation.settle(this.active.get(cid)!.done);
  }

  /**
   * The kick did not take it (queued or held elsewhere), or failed: the slot is free again. `heldBy`: the
   * take the kick found holding it. One of this worker's own that it does not drain (a failover put back
   * a take the promoted replica had not seen let go) would wait for its lease: it goes back to the queue.
   */
  unreserve(cid: string, token: string, heldBy?: string): void {
    const reservation = this.active.get(cid);
    // Not reserved under `token` any more: a take of this worker's gave it meanwhile, and drains it.
    if (!reservation?.settle || reservation.token !== token) return;
    reservation.settle(Promise.resolve());
    this.active.delete(cid);
    this.slotFreed?.();
    this.slotFreed = undefined;
    if (heldBy?.startsWith(this.id)) void this.handBack();
  }

  /**
   * The kick of a reservation failed, and Redis may have run it before its answer was lost: the
   * conversation would then be held under `token` with no drain here, until the lease lapsed. The slot is
   * free again at once; the take, if it landed, goes back to the queue (due now) as soon as Redis answers.
   */
  lost(cid: string, token: string): void {
    this.unreserve(cid, token);
    void this.handBack();
  }

  private drain(cid: string, token: string, lead?: Lead): void {
    const { store, shard, logger } = this.opts;
    const running = this.active.get(cid);
    if (running && !running.settle) {
      // Taken again while this worker drains it (a failover lost the lease's record, and a kick queued it):
      // never two drains of one conversation here. The take's lease is the one renewed now, and the drain
      // running goes round once more under it when it ends.
      running.token = token;
      running.again = true;
      return;
    }
    let retryAt: number | undefined;
    let released: 'queued' | 'done' | 'lost' | undefined;
    const kick: Kick = { cid, token, retryAt: (at) => void (retryAt = at), ...(lead ? { lead } : {}) };
    const done = (async () => {
      try {
        await this.opts.process(kick);
      } catch (error) {
        logger.error('conversation job failed', {
          conversation: cid,
          reason: error instanceof Error ? error.message : String(error),
          stack: error instanceof Error ? error.stack : undefined,
        });
        // Keep the conversation moving: whatever is left in its inbox is drained again shortly.
        retryAt = Date.now() + RETRY_FAILED_MS;
      }
      try {
        released = await store.release(shard, cid, token, Date.now(), retryAt);
        if (retryAt !== undefined) this.wakeAt(retryAt);
      } catch (error) {
        // Its lease ends on its own: another look (this worker's or another's) takes it then.
        this.logError(error instanceof Error ? error.message : String(error));
      }
    })().finally(() => {
      const holder = this.active.get(cid)!;
      this.active.delete(cid);
      if (holder.again) return this.drain(cid, holder.token);
      // Not held by this drain's take any more. A failover can put back an older take of this very worker
      // (a replica that missed the later ones): nobody drains under it, so it goes back to the queue now
      // rather than when its lease lapses.
      if (released === 'lost') void this.handBack();
      this.slotFreed?.();
      this.slotFreed = undefined;
    });
    this.active.set(cid, { token, done });
  }

  /** A retry comes due at `at`: a worker blocked on the shard is woken then, not at its next idle look. */
  private wakeAt(at: number): void {
    const timer = setTimeout(
      () => {
        this.retryTimers.delete(timer);
        if (this.running) this.opts.store.nudge(this.opts.shard).catch(() => undefined);
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.retryTimers.add(timer);
  }

  private async renew(): Promise<void> {
    const held = [...this.active.entries()].map(([cid, a]) => [cid, a.token] as [string, string]);
    try {
      await this.opts.store.renew(this.opts.shard, Date.now() + this.opts.leaseMs, held);
    } catch (error) {
      this.logError(error instanceof Error ? error.message : String(error));
    }
  }

  /**
   * After an outage: a take whose answer was lost left conversations held under this worker's tokens that it
   * is not draining. Left alone they would wait for their lease to end; they go back to the queue now.
   */
  private async handBack(until = Date.now() + this.opts.leaseMs): Promise<void> {
    const { store, shard, logger, queue } = this.opts;
    await this.taking; // a take resent after the reconnect: what it gave is being drained, not lost
    try {
      const jobs = await store.handBack(shard, Date.now(), this.id, [...this.active.keys()]);
      if (jobs > 0) logger.info('jobs handed back after a Redis outage', { queue, jobs });
    } catch (error) {
      // Tried again while Redis comes back; past the leases it could save, they lapse on their own.
      if (this.running && Date.now() + RETRY_TAKE_MS < until) {
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          void this.handBack(until);
        }, RETRY_TAKE_MS);
        timer.unref();
        this.retryTimers.add(timer);
        return;
      }
      logger.warn('could not check for jobs lost in a Redis outage; their locks will lapse', {
        queue,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
