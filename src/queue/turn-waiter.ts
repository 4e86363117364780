// Lets a voice webhook wait for its turn's answer: one pub/sub connection per process, many waiters.
import type { Redis } from 'ioredis';
import type { ConversationStore } from '../store/conversation-store.js';

export class TurnWaiter {
  private readonly waiters = new Map<string, Set<() => void>>();
  private ready: Promise<unknown>;

  constructor(
    private readonly subscriber: Redis,
    private readonly store: ConversationStore,
  ) {
    this.subscriber.on('message', (_channel: string, ref: string) => {
      const set = this.waiters.get(ref);
      if (set) for (const wake of set) wake();
    });
    this.ready = this.subscriber.subscribe(store.keys.turnsChannel());
  }

  /**
   * The answer to a voice turn of one call's conversation, waiting up to `ms` for the worker to finish it;
   * undefined if it did not, 'over' when the call is over (its answers are no longer given out).
   */
  async wait(cid: string, turn: number, ms: number): Promise<string | 'over' | undefined> {
    const ref = `${cid}:${turn}`;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    let set = this.waiters.get(ref);
    if (!set) this.waiters.set(ref, (set = new Set()));
    set.add(wake);
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.ready;
      // Subscribed first, then look: an answer published in between is not missed.
      const now = await this.store.turnAnswer(cid, turn);
      if (now !== undefined) return now;
      const timedOut = new Promise<'timeout'>(
        (resolve) => (timer = setTimeout(() => resolve('timeout'), ms)),
      );
      if ((await Promise.race([woken, timedOut])) === 'timeout') return undefined;
      return await this.store.turnAnswer(cid, turn);
    } finally {
      clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0) this.waiters.delete(ref);
    }
  }

  async close(): Promise<void> {
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.subscriber.disconnect();
  }
}
