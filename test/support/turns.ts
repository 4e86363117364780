// The turns a gateway's workers finish, from the product's own hook (`gateway.turns`): what tests await
// instead of a log line.
import type { FinishedTurn } from '../../src/queue/conversation-worker.js';
import type { Gateway } from '../../src/main/gateway.js';
import { Recorder } from './recorder.js';

export type { FinishedTurn };

export class TurnRecorder extends Recorder<FinishedTurn> {
  constructor(name = 'turns') {
    super(name, 'turn');
  }

  /** Records every turn `gateway` finishes from now on. */
  follow(gateway: Gateway): void {
    gateway.turns.on('turn', (turn) => this.add(turn));
  }

  /** Turns finished so far, oldest first (only those with this outcome, when given). */
  finished(outcome?: FinishedTurn['outcome']): FinishedTurn[] {
    return this.items.filter((t) => outcome === undefined || t.outcome === outcome);
  }

  /** The turn of one provider id once finished, whichever its outcome. */
  turn(eventId: string, timeoutMs?: number): Promise<FinishedTurn> {
    return this.waitFor((t) => t.eventId === eventId, `finished: ${eventId}`, timeoutMs);
  }

  /** The turn of one provider id once handled; fails at once if it was dead-lettered. */
  async handled(eventId: string, timeoutMs?: number): Promise<FinishedTurn> {
    const turn = await this.turn(eventId, timeoutMs);
    if (turn.outcome !== 'handled')
      throw new Error(`turn ${eventId} was dead-lettered: ${String(turn.reason)}`);
    return turn;
  }

  /** Resolves once `count` turns were handled. */
  handledCount(count: number, timeoutMs?: number): Promise<FinishedTurn> {
    return this.waitFor(() => this.finished('handled').length >= count, `${count} handled`, timeoutMs);
  }
}
