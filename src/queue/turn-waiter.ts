// Lets a voice webhook wait for its turn's answer: one pub/sub connection per process, many waiters.
import type { Connection } from '../store/connections.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { TurnAnnouncements, turnRef } from '../store/turn-announcements.js';

export class TurnWaiter {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly turns: TurnAnnouncements;

  constructor(
    subscriber: Connection,
    private readonly store: ConversationStore,
  ) {
    this.turns = new TurnAnnouncements(subscriber, store.keys, (ref) => {
      const set = this.waiters.get(ref);
      if (set) for (const wake of set) wake();
    });
  }

  /**
   * The answer to a voice turn of one call's conversation, waiting up to `ms` for the worker to finish it;
   * undefined if it did not, 'over' when the call is over (its answers are no longer given out).
   */
  async wait(cid: string, turn: number, ms: number): Promise<string | 'over' | undefined> {
    const ref = turnRef(cid, turn);
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    let set = this.waiters.get(ref);
    if (!set) this.waiters.set(ref, (set = new Set()));
    set.add(wake);
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.turns.ready;
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
    this.turns.close();
  }
}
