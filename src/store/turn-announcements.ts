// Finished voice turns, announced over pub/sub: one subscriber connection per process, listened to by the voice webhook.
import type { Connection } from './connections.js';
import type { Keys } from './keys.js';

/** How a finished turn is named on the channel (and by whoever waits for it). */
export function turnRef(cid: string, turn: number): string {
  return `${cid}:${turn}`;
}

export class TurnAnnouncements {
  /** Settles once the subscription holds: a turn announced before it is not heard. */
  readonly ready: Promise<unknown>;

  constructor(
    private readonly subscriber: Connection,
    keys: Keys,
    onTurn: (ref: string) => void,
  ) {
    this.subscriber.on('message', (_channel: string, ref: string) => onTurn(ref));
    this.ready = this.subscriber.subscribe(keys.turnsChannel());
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
