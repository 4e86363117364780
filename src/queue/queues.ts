// The BullMQ queues: one job per conversation (or outbox) with pending work, never one per message.
import { Queue } from 'bullmq';
import type { Connection } from '../store/connections.js';
import { createHash } from 'node:crypto';
import type { Keys } from '../store/keys.js';
import type { QueueSnapshot } from '../metrics.js';
import { KickQueueStore } from '../store/kick-queue.js';
import type { Lead } from './kick-worker.js';

export const CONVERSATION_QUEUE = 'conversations';
export const SEND_QUEUE = 'replies';

/** Which shard a conversation lives on: stable, so all its work meets on one queue. */
export function shardOf(cid: string, shards: number): number {
  if (shards <= 1) return 0;
  return createHash('sha1').update(cid).digest().readUInt32BE(0) % shards;
}

export interface KickData {
  cid: string;
  /** An operator's bulk send: a lower priority than replies, and its own deduplication. */
  bulk?: true;
  /** A reply's slot in its sender's pace, reserved before the job was delayed to it: not taken again. */
  slot?: { reply: string; at: number };
}

/**
 * Entries BullMQ keeps in a queue's events stream (its default is 10,000, some 2 MB a queue). Nothing of
 * ours reads the stream (no QueueEvents: voice turns are announced by pub/sub), so it is kept short; BullMQ
 * trims it approximately, to whole stream nodes (100 entries by Redis's default).
 */
export const QUEUE_EVENTS_KEPT = 100;

/**
 * A worker of this process that drains what the process kicks when it has a free slot (see
 * `KickQueueStore.kickAndTake`): its reservation, then the conversation handed over or the slot given back.
 */
export interface LocalTaker {
  readonly leaseMs: number;
  hasRoom(cid: string): boolean;
  /** A webhook is about to accept and kick `lead` (see `Queues.takesHere`). */
  prepare(lead: Lead): void;
  reserve(cid: string): string | undefined;
  adopt(cid: string, token: string, lead?: Lead): void;
  /** `heldBy`: the token the kick found holding the conversation (see `KickWorker.unreserve`). */
  unreserve(cid: string, token: string, heldBy?: string): void;
  /** The kick failed: it may have taken the conversation all the same (its answer lost). See `KickWorker.lost`. */
  lost(cid: string, token: string): void;
}

/** BullMQ priority of a bulk kick: after every reply kick (those have none and are taken first). */
export const BULK_PRIORITY = 10;

/**
 * Producers for both queues. A "kick" says "this conversation has work": deduplicated by conversation
 * id while one waits, and kept for after the drain running (keepLastIfActive), so one worker at a
 * time drains a conversation, in order, and an event that arrives mid-drain is never left behind.
 * Conversation kicks go to Switchboard's own queue (`src/store/kick-queue.ts`: one script call a kick);
 * send kicks, which need delays and priorities and are rare (a bulk send, a paced or retried reply), to BullMQ.
 */
export class Queues {
  readonly kicks: KickQueueStore;
  readonly sends: Queue<KickData>[];

  /** `jobs`: the connection BullMQ's send queue uses (see `openStores`); by default `connection`. */
  constructor(
    connection: Connection,
    readonly keys: Keys,
    readonly shards: number,
    jobs: Connection = connection,
  ) {
    this.kicks = new KickQueueStore(connection, keys);
    this.sends = Array.from(
      { length: shards },
      (_, shard) =>
        new Queue<KickData>(SEND_QUEUE, {
          connection: jobs,
          prefix: keys.sendQueuePrefix(shard),
          streams: { events: { maxLen: QUEUE_EVENTS_KEPT } },
        }),
    );
    // Without a listener BullMQ prints connection errors raw to stderr; the connection's own listener
    // (src/main/gateway.ts) logs an outage once, as JSON, and a failed add surfaces as a 503.
    for (const queue of this.sends) queue.on('error', () => undefined);
  }

  private readonly takers = new Map<number, LocalTaker>();

  /**
   * In a process that runs workers too: a kick of a conversation nobody queued or holds, while the shard's
   * worker has a free slot, takes it for that worker in the same script call. No wake-up, no take: two
   * round trips fewer before the turn starts, and a voice answer that never waits on another process.
   */
  takeLocally(shard: number, taker: LocalTaker): void {
    this.takers.set(shard, taker);
  }

  /**
   * Whether a kick of the conversation sent now would most likely take it for this process's worker (see
   * `takeLocally`): its worker has a free slot. Under load a kick queues it instead. `lead`: what the
   * webhook is about to accept and kick, told to that worker at once when it would take it, so that the
   * turn's first reads leave alongside the accept.
   */
  takesHere(cid: string, lead?: Lead): boolean {
    const taker = this.takers.get(shardOf(cid, this.shards));
    if (!taker?.hasRoom(cid)) return false;
    if (lead) taker.prepare(lead);
    return true;
  }

  /** `lead`: what the kick hands this process's worker when it takes the conversation for it (see `Lead`). */
  async kickConversation(cid: string, lead?: Lead): Promise<void> {
    const shard = shardOf(cid, this.shards);
    const taker = this.takers.get(shard);
    const token = taker?.reserve(cid);
    if (!taker || token === undefined) {
      await this.kicks.kick(shard, cid, Date.now());
      return;
    }
    let kicked: Awaited<ReturnType<KickQueueStore['kickAndTake']>>;
    try {
      kicked = await this.kicks.kickAndTake(shard, cid, Date.now(), token, taker.leaseMs);
    } catch (error) {
      taker.lost(cid, token);
      throw error;
    }
    if (kicked.taken) taker.adopt(cid, token, lead);
    else taker.unreserve(cid, token, kicked.heldBy);
  }

  /**
   * Says the conversation's outbox has work. `bulk`: an operator-initiated send, run at a lower priority
   * and deduplicated apart from reply kicks, so a reply's kick is never folded into a bulk job waiting
   * its turn (both then drain the same outbox, one at a time by its claim).
   */
  async kickSend(
    cid: string,
    opts: { bulk?: boolean; delayMs?: number; slot?: KickData['slot'] } = {},
  ): Promise<void> {
    const data: KickData = {
      cid,
      ...(opts.bulk === true ? { bulk: true } : {}),
      ...(opts.slot ? { slot: opts.slot } : {}),
    };
    await this.kick(this.sends[shardOf(cid, this.shards)]!, data, opts.delayMs);
  }

  private async kick(queue: Queue<KickData>, data: KickData, delayMs = 0): Promise<void> {
    const bulk = data.bulk === true;
    await queue.add('kick', data, {
      deduplication: { id: bulk ? `${data.cid}:bulk` : data.cid, keepLastIfActive: true },
      ...(bulk ? { priority: BULK_PRIORITY } : {}),
      ...(delayMs > 0 ? { delay: delayMs } : {}),
      removeOnComplete: true,
      removeOnFail: { age: 86_400 },
    });
  }

  /**
   * Jobs waiting or running per queue kind, and how long the oldest job no worker has started yet has
   * waited (for /metrics; `now` in ms). Delayed jobs (a retry's backoff) wait on purpose and are not counted.
   */
  async depth(now: number = Date.now()): Promise<QueueSnapshot> {
    const count = async (queues: Queue[]) =>
      (
        await Promise.all(queues.map((q) => q.getJobCounts('wait', 'active', 'delayed', 'prioritized')))
      ).reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
    const oldest = async (queues: Queue[]) => {
      // The wait list is pushed on the left and taken from the right: the first in ascending order is the oldest.
      const heads = await Promise.all(queues.map((q) => q.getJobs(['wait'], 0, 0, true)));
      const since = Math.min(...heads.flat().map((job) => job.timestamp));
      return Number.isFinite(since) ? Math.max(0, (now - since) / 1000) : 0;
    };
    const [kicks, sends, oldestSend] = await Promise.all([
      Promise.all(Array.from({ length: this.shards }, (_, shard) => this.kicks.depth(shard, now))),
      count(this.sends),
      oldest(this.sends),
    ]);
    return {
      conversations: kicks.reduce((sum, k) => sum + k.count, 0),
      sends,
      oldestWaitingSeconds: {
        conversations: Math.max(0, ...kicks.map((k) => k.oldestWaitingMs)) / 1000,
        sends: oldestSend,
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.sends.map((q) => q.close()));
  }
}
