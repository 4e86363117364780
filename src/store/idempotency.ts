// Operator API Idempotency-Keys: the first request with a key does the work, a repeat within 24 hours gets
// its answer again. Kept per workspace under the key's keyed hash, with a hash of the body (never the body:
// it may carry a phone number or a message) and the answer, which names no one.
import { createHash, randomBytes } from 'node:crypto';
import type { Connection } from './connections.js';
import type { Keys } from './keys.js';
import { Script } from './scripts.js';

/** How long a key's answer is kept (seconds). */
export const IDEMPOTENCY_TTL_SECONDS = 86_400;

/** Take the key if no one holds it; else what it holds. KEYS: record. ARGV: claim, leaseMs */
const CLAIM = `
local found = redis.call('GET', KEYS[1])
if found then return found end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`;

/** Replace this very claim (not one that lapsed and was taken again) with the answer. KEYS: record. ARGV: claim, answer, ttl */
const COMPLETE = `
local found = redis.call('GET', KEYS[1])
if found and found ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

/** Give the key up if this claim still holds it. KEYS: record. ARGV: claim */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

const scripts = {
  claim: new Script<[record: string, claim: string, leaseMs: number], string | null>(1, CLAIM),
  complete: new Script<[record: string, claim: string, answer: string, ttl: number], number>(1, COMPLETE),
  release: new Script<[record: string, claim: string], number>(1, RELEASE),
};

/** A held key: what completes or releases it. */
export interface IdempotencyClaim {
  record: string;
  value: string;
  bodyHash: string;
}

/** A stored answer: status and JSON body, as first given. */
export interface StoredAnswer {
  status: number;
  body: string;
}

export type Claimed =
  | { state: 'new'; claim: IdempotencyClaim }
  | { state: 'pending'; sameBody: boolean }
  | ({ state: 'done'; sameBody: boolean } & StoredAnswer);

interface Record {
  /** The body's hash. */
  h: string;
  /** A claim's token, while the first request is at work. */
  t?: string;
  s?: number;
  b?: string;
}

export class IdempotencyStore {
  constructor(
    private readonly redis: Connection,
    private readonly keys: Keys,
  ) {}

  /**
   * Takes `key` for a request with this body for `leaseMs` (the time the work may take; a crash lets it go
   * then), or says what the key holds: another request at work, or an answer.
   */
  async claim(workspace: string, key: string, body: string, leaseMs: number): Promise<Claimed> {
    const record = this.keys.idempotency(workspace, key);
    // Salted with the key's keyed name: without the data key, the hash tells nothing of a short body.
    const bodyHash = createHash('sha256').update(`${record}\n${body}`).digest('base64url');
    const value = JSON.stringify({ h: bodyHash, t: randomBytes(9).toString('base64url') } satisfies Record);
    const found = await scripts.claim.run(this.redis, record, value, leaseMs);
    if (found === null) return { state: 'new', claim: { record, value, bodyHash } };
    const held = parse(found);
    const sameBody = held?.h === bodyHash;
    if (held?.s !== undefined && held.b !== undefined) {
      return { state: 'done', sameBody, status: held.s, body: held.b };
    }
    return { state: 'pending', sameBody };
  }

  /** Keeps the answer for 24 hours; false when the claim had lapsed and another request took the key. */
  async complete(claim: IdempotencyClaim, answer: StoredAnswer): Promise<boolean> {
    const value = JSON.stringify({ h: claim.bodyHash, s: answer.status, b: answer.body } satisfies Record);
    return (
      (await scripts.complete.run(this.redis, claim.record, claim.value, value, IDEMPOTENCY_TTL_SECONDS)) ===
      1
    );
  }

  /** Lets the key go (the work failed before it was done): the client's retry does it again. */
  async release(claim: IdempotencyClaim): Promise<void> {
    await scripts.release.run(this.redis, claim.record, claim.value);
  }
}

function parse(raw: string): Record | undefined {
  try {
    const value = JSON.parse(raw) as Record;
    return typeof value === 'object' && value !== null && typeof value.h === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
