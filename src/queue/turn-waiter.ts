// Lets a voice webhook wait for its turn's answer: one pub/sub connection per process, many waiters; a turn
// finished by a worker of this same process hands its answer over directly (no pub/sub hop, no read).
import type { Connection } from '../store/connections.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { TurnAnnouncements, turnRef } from '../store/turn-announcements.js';

/** Wakes one waiter: with the answer when it is known in process, else to read it from Redis. */
type Wake = (answer?: string) => void;

/** What a turn's wait gives: its answer, 'over' when the call is over, undefined when not ready in time. */
export type TurnAnswer = string | 'over' | undefined;

/** A wait begun before the turn's event was queued: whatever is announced from then on is heard. */
export interface ExpectedTurn {
  /**
   * Waits up to `ms` for the answer. `look`: read Redis first, for an answer that may be there already (a
   * duplicate webhook, a redirect); a turn whose event was queued after the wait began needs no look.
   */
  answer(ms: number, look: boolean): Promise<TurnAnswer>;
  /** Gives the wait up (its event was not queued). */
  cancel(): void;
}

export class TurnWaiter {
  private readonly waiters = new Map<string, Set<Wake>>();
  private readonly turns: TurnAnnouncements;
  /** Set once the subscription holds: a wait begun before it must look, as it may have missed an announcement. */
  private subscribed = false;

  constructor(
    subscriber: Connection,
    private readonly store: ConversationStore,
  ) {
    this.turns = new TurnAnnouncements(subscriber, store.keys, (ref) => this.wake(ref));
    void this.turns.ready.then(
      () => (this.subscribed = true),
      () => undefined,
    );
  }

  /**
   * A worker of this process committed the turn's answer: its waiters here have it at once. Only a
   * committed answer is handed over (the commit is fenced, so it is the turn's one answer); the commit's
   * announcement still reaches every other process.
   */
  answered(cid: string, turn: number, answer: string): void {
    this.wake(turnRef(cid, turn), answer);
  }

  private wake(ref: string, answer?: string): void {
    const set = this.waiters.get(ref);
    if (set) for (const wake of set) wake(answer);
  }

  /**
   * The answer to a voice turn of one call's conversation, waiting up to `ms` for the worker to finish it;
   * undefined if it did not, 'over' when the call is over (its answers are no longer given out).
   */
  wait(cid: string, turn: number, ms: number): Promise<TurnAnswer> {
    return this.expect(cid, turn).answer(ms, true);
  }

  /** Starts listening for a turn's answer now (see `ExpectedTurn`); call `answer` or `cancel` once. */
  expect(cid: string, turn: number): ExpectedTurn {
    const ref = turnRef(cid, turn);
    let wake!: Wake;
    const woken = new Promise<{ answer?: string }>((resolve) => (wake = (answer) => resolve({ answer })));
    let set = this.waiters.get(ref);
    if (!set) this.waiters.set(ref, (set = new Set()));
    set.add(wake);
    const heard = this.subscribed;
    const done = () => {
      set.delete(wake);
      if (set.size === 0 && this.waiters.get(ref) === set) this.waiters.delete(ref);
    };
    return {
      cancel: done,
      answer: async (ms, look) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await this.turns.ready;
          if (look || !heard) {
            // Subscribed first, then look: an answer published in between is not missed.
            const now = await Promise.race([this.store.turnAnswer(cid, turn), woken.then((w) => w.answer)]);
            if (now !== undefined) return now;
          }
          const timedOut = new Promise<'timeout'>(
            (resolve) => (timer = setTimeout(() => resolve('timeout'), ms)),
          );
          const outcome = await Promise.race([woken, timedOut]);
          if (outcome === 'timeout') return undefined;
          return outcome.answer ?? (await this.store.turnAnswer(cid, turn));
        } finally {
          clearTimeout(timer);
          done();
        }
      },
    };
  }

  async close(): Promise<void> {
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.turns.close();
  }
}
