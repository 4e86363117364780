// Things as they happen (log lines, finished turns), kept in order, with waits that resolve on the thing
// itself, never on a timer.
import { EventEmitter } from 'node:events';

export class Recorder<T> {
  readonly items: T[] = [];
  private readonly events = new EventEmitter();

  /** `noun` names what is recorded in timeout errors ("log line", "turn"). */
  constructor(
    readonly name: string,
    private readonly noun: string,
  ) {
    this.events.setMaxListeners(0);
  }

  add(item: T): void {
    this.items.push(item);
    this.events.emit('item', item);
  }

  /** Resolves with the first item (already seen or still to come) that matches; rejects on timeout. */
  waitFor(predicate: (item: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
    const seen = this.items.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const stop = this.onItem((item) => {
        if (!predicate(item)) return;
        cleanup();
        resolve(item);
      });
      const timer = setTimeout(() => {
        cleanup();
        const tail = this.items
          .slice(-15)
          .map((i) => `  ${JSON.stringify(i)}`)
          .join('\n');
        reject(
          new Error(`${this.name}: no ${this.noun} "${what}" within ${timeoutMs} ms; last ones:\n${tail}`),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        stop();
      };
    });
  }

  /** Calls `listener` with every item from now on; returns a function that stops it. */
  onItem(listener: (item: T) => void): () => void {
    this.events.on('item', listener);
    return () => this.events.off('item', listener);
  }
}

/**
 * Resolves once `check` holds over several recorders (checked now and after every new item of any of
 * them), e.g. "150 turns handled across three workers"; rejects on timeout.
 */
export function waitForAll(
  recorders: Recorder<unknown>[],
  check: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const stops = recorders.map((r) =>
      r.onItem(() => {
        if (!check()) return;
        cleanup();
        resolve();
      }),
    );
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${recorders.map((r) => r.name).join(', ')}: not within ${timeoutMs} ms: ${what}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      for (const stop of stops) stop();
    };
  });
}
