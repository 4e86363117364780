// Outbound calls we placed: what each will run when it is answered, sealed, by its CallSid, until it ends.
import type { DataCipher } from './cipher.js';
import type { Connection } from './connections.js';
import { MAX_CALL_MS, type Keys } from './keys.js';
import { places } from './places.js';

/**
 * What an outbound call runs when Twilio asks for its TwiML: the bot, the flow and its variables, and the
 * message left on an answering machine. Kept sealed (variables may be personal), a day at most: a call
 * rings for at most a few minutes and lasts at most Twilio's 24 hours.
 */
export interface OutboundCallPlan {
  bot: string;
  /** The number called (E.164): the identity the flow runs for. */
  to: string;
  flow: string;
  vars: Record<string, string>;
  /** Said to an answering machine before hanging up (with answering-machine detection). */
  machineMessage?: string;
}

export const OUTBOUND_CALL_TTL = MAX_CALL_MS / 1000 + 3600;

export class OutboundCalls {
  constructor(
    private readonly redis: Connection,
    private readonly keys: Keys,
    private readonly cipher: DataCipher,
  ) {}

  async remember(callSid: string, plan: OutboundCallPlan): Promise<void> {
    const sealed = this.cipher.seal(JSON.stringify(plan), places.outboundCall(callSid));
    await this.redis.set(this.keys.outboundCall(callSid), sealed, 'EX', OUTBOUND_CALL_TTL);
  }

  /** The plan of a call we placed; undefined for a call we did not place (or one long over). */
  async plan(callSid: string): Promise<OutboundCallPlan | undefined> {
    const sealed = await this.redis.get(this.keys.outboundCall(callSid));
    if (sealed === null) return undefined;
    const opened = this.cipher.open(sealed, places.outboundCall(callSid));
    return opened === undefined ? undefined : (JSON.parse(opened) as OutboundCallPlan);
  }

  async forget(callSid: string): Promise<void> {
    await this.redis.del(this.keys.outboundCall(callSid));
  }
}
