// Redis access for conversations: inboxes, dialog state, outboxes and voice turn answers.
import { installScripts } from './scripts.js';
import type { Redis } from 'ioredis';
import type { InboundEvent } from '../core/events.js';
import type { DialogState } from '../core/dialog.js';
import type { DataCipher, SealedPlace } from './cipher.js';
import { Keys, MAILBOX_TTL, SEEN_TTL, TURN_RESULT_TTL } from './keys.js';
import { places } from './places.js';
import { NO_REPLICAS, writeDurably, type Durability } from './durability.js';

/**
 * Accept an event once: remember its provider id and append it to the conversation's inbox. ARGV[4]
 * '1' (durable acceptance): a copy seen before is touched, so that the WAIT that follows also covers
 * the first copy's write, which may not have reached a replica yet.
 */
const ACCEPT = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return 1
end
if ARGV[4] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 0`;

/**
 * Commit a handled turn, only if its event is still at the head of the inbox (so a turn taken over by
 * another worker is committed once): pop it, keep or drop the state, queue the replies, publish a voice
 * answer. Returns the next event, or false.
 * KEYS: inbox, state, outbox, attempts, turn, optout
 * ARGV: head, eventId, state ('' to drop), stateTtl, turnAnswer ('' for none), turnTtl, channel, turnRef,
 *       optOut ('1' set, '0' clear, '' unchanged), reply...
 */
const COMMIT = `
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return -1 end
redis.call('LPOP', KEYS[1])
if ARGV[9] == '1' then redis.call('SET', KEYS[6], '1') elseif ARGV[9] == '0' then redis.call('DEL', KEYS[6]) end
redis.call('HDEL', KEYS[4], ARGV[2])
if ARGV[3] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) end
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[5], ARGV[5], 'EX', ARGV[6])
  redis.call('PUBLISH', ARGV[7], ARGV[8])
end
if #ARGV > 9 then
  for i = 10, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
  redis.call('EXPIRE', KEYS[3], ${MAILBOX_TTL})
end
return redis.call('LINDEX', KEYS[1], 0) or false`;

/** Remove the head of a list if it is the given item; returns the next head, or false (-1 if it was not the head). */
const POP_IF_HEAD = `
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return -1 end
redis.call('LPOP', KEYS[1])
if ARGV[2] ~= '' then redis.call('HDEL', KEYS[2], ARGV[2]) end
return redis.call('LINDEX', KEYS[1], 0) or false`;

/** Count one more failed attempt at an item and return the count. */
const COUNT_ATTEMPT = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ${MAILBOX_TTL})
return n`;

interface ScriptedRedis extends Redis {
  sbAccept(
    seen: string,
    inbox: string,
    seenTtl: number,
    event: string,
    inboxTtl: number,
    durable: '0' | '1',
  ): Promise<number>;
  sbCommit(...args: (string | number)[]): Promise<string | number | null>;
  sbPopIfHead(list: string, attempts: string, head: string, itemId: string): Promise<string | number | null>;
  sbCountAttempt(attempts: string, itemId: string): Promise<number>;
}

/** Installs our scripts on a connection (idempotent; ioredis caches them by SHA). */
export function withScripts(redis: Redis): ScriptedRedis {
  return installScripts<ScriptedRedis>(redis, {
    sbAccept: { keys: 2, lua: ACCEPT },
    sbCommit: { keys: 6, lua: COMMIT },
    sbPopIfHead: { keys: 2, lua: POP_IF_HEAD },
    sbCountAttempt: { keys: 1, lua: COUNT_ATTEMPT },
  });
}

/** A reply waiting in a conversation's outbox. */
export interface OutboxItem {
  id: string;
  botId: string;
  channel: 'sms' | 'whatsapp';
  accountSid: string;
  from: string;
  to: string;
  body: string;
  /** When the user last wrote (ms): WhatsApp allows free-form replies for 24 hours after. */
  windowStart: number;
  /** The conversation, for logs and events. */
  cid: string;
}

export interface CommitInput {
  cid: string;
  head: string;
  eventId: string;
  state: DialogState | null;
  stateTtlSeconds: number;
  replies: OutboxItem[];
  voiceTurn?: { turn: number; answer: string };
  /** true: the identity opted out; false: opted back in; undefined: unchanged. */
  optOut?: boolean;
}

/** Result of a conditional update: `lost` when another worker already did it. */
export type Committed = { lost: true } | { lost: false; next: string | null };

export class ConversationStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    readonly keys: Keys,
    private readonly cipher: DataCipher,
    private readonly durability: Durability = NO_REPLICAS,
  ) {
    this.redis = withScripts(redis);
  }

  /**
   * Queues an inbound event unless its provider id was seen before; true when it is new. With replica
   * durability it returns only once that many replicas hold the write, and throws `DurabilityError`
   * when they do not within the timeout.
   */
  async accept(cid: string, event: InboundEvent): Promise<boolean> {
    const sealed = this.cipher.seal(JSON.stringify(event), places.conversation(cid, 'inbox'));
    const durable = this.durability.replicas > 0 ? '1' : '0';
    const inbox = this.keys.inbox(cid);
    const added = await writeDurably(this.redis, this.durability, inbox, () =>
      this.redis.sbAccept(this.keys.seen(cid, event.id), inbox, SEEN_TTL, sealed, MAILBOX_TTL, durable),
    );
    return added === 1;
  }

  /** The oldest unhandled event (raw, to commit against) and the dialog state, in one round trip. */
  async head(
    cid: string,
  ): Promise<{ raw: string | null; state: DialogState | null; pendingReplies: number; optedOut: boolean }> {
    const replies = (await this.redis
      .pipeline()
      .lindex(this.keys.inbox(cid), 0)
      .get(this.keys.state(cid))
      .llen(this.keys.outbox(cid))
      .exists(this.keys.optOut(cid))
      .exec()) as [Error | null, unknown][];
    for (const [error] of replies) if (error) throw error;
    const raw = replies[0]![1] as string | null;
    const state = replies[1]![1] as string | null;
    return {
      raw,
      state: state ? this.openJson<DialogState>(state, places.conversation(cid, 'state')) : null,
      pendingReplies: Number(replies[2]![1]),
      optedOut: Number(replies[3]![1]) === 1,
    };
  }

  async state(cid: string): Promise<DialogState | null> {
    const raw = await this.redis.get(this.keys.state(cid));
    return raw ? this.openJson<DialogState>(raw, places.conversation(cid, 'state')) : null;
  }

  openEvent(cid: string, raw: string): InboundEvent | undefined {
    return this.openJson<InboundEvent>(raw, places.conversation(cid, 'inbox')) ?? undefined;
  }

  /** With replica durability, returns once a replica holds the commit, or the wait for one has failed. */
  async commit(input: CommitInput): Promise<Committed> {
    const { cid } = input;
    const turn = input.voiceTurn;
    const args = [
      this.keys.inbox(cid),
      this.keys.state(cid),
      this.keys.outbox(cid),
      this.keys.attempts(cid),
      this.keys.turn(cid, turn?.turn ?? 0),
      this.keys.optOut(cid),
      input.head,
      input.eventId,
      input.state ? this.cipher.seal(JSON.stringify(input.state), places.conversation(cid, 'state')) : '',
      Math.max(1, input.stateTtlSeconds),
      turn ? this.cipher.seal(turn.answer, places.turn(cid, turn.turn)) : '',
      TURN_RESULT_TTL,
      this.keys.turnsChannel(),
      turn ? `${cid}:${turn.turn}` : '',
      input.optOut === undefined ? '' : input.optOut ? '1' : '0',
      ...input.replies.map((r) => this.cipher.seal(JSON.stringify(r), places.conversation(cid, 'outbox'))),
    ];
    const result = await writeDurably(
      this.redis,
      this.durability,
      this.keys.inbox(cid),
      () => this.redis.sbCommit(...args),
      { strict: false },
    );
    if (result === -1) return { lost: true };
    return { lost: false, next: typeof result === 'string' ? result : null };
  }

  /** Removes the head event without handling it (dead-lettering); returns the next one. */
  async dropHead(cid: string, head: string, eventId: string): Promise<Committed> {
    return this.popIfHead(this.keys.inbox(cid), this.keys.attempts(cid), head, eventId);
  }

  async countAttempt(cid: string, itemId: string): Promise<number> {
    return this.redis.sbCountAttempt(this.keys.attempts(cid), itemId);
  }

  /** The oldest reply waiting to be sent. */
  async outboxHead(cid: string): Promise<string | null> {
    return this.redis.lindex(this.keys.outbox(cid), 0);
  }

  openReply(cid: string, raw: string): OutboxItem | undefined {
    return this.openJson<OutboxItem>(raw, places.conversation(cid, 'outbox')) ?? undefined;
  }

  async popReply(cid: string, head: string, replyId: string): Promise<Committed> {
    return this.popIfHead(this.keys.outbox(cid), this.keys.attempts(cid), head, replyId);
  }

  async outboxLength(cid: string): Promise<number> {
    return this.redis.llen(this.keys.outbox(cid));
  }

  /** The answer to a voice turn, if the worker has finished it. */
  async turnAnswer(cid: string, turn: number): Promise<string | undefined> {
    const raw = await this.redis.get(this.keys.turn(cid, turn));
    return raw ? this.cipher.open(raw, places.turn(cid, turn)) : undefined;
  }

  /** Forgets a conversation entirely (the user was erased): state, pending events and replies, opt-out. */
  async forget(cid: string): Promise<void> {
    const k = this.keys;
    await this.redis.del(k.inbox(cid), k.state(cid), k.outbox(cid), k.attempts(cid), k.optOut(cid));
  }

  /** Counts a message against the identity's per-minute limit; returns the count in this minute. */
  async countMessage(cid: string, event: { id: string; receivedAt: number }): Promise<number> {
    // A set of message ids, not a counter: a turn run again after a crash is not counted twice.
    const key = this.keys.rate(cid, Math.floor(event.receivedAt / 60_000));
    const replies = (await this.redis.multi().sadd(key, event.id).expire(key, 120).scard(key).exec()) as [
      Error | null,
      number,
    ][];
    return Number(replies[2]![1]);
  }

  /** Stores and announces the answer to a voice turn outside a commit (an apology after dead-lettering). */
  async publishTurn(cid: string, turn: number, answer: string): Promise<void> {
    const sealed = this.cipher.seal(answer, places.turn(cid, turn));
    await this.redis
      .multi()
      .set(this.keys.turn(cid, turn), sealed, 'EX', TURN_RESULT_TTL)
      .publish(this.keys.turnsChannel(), `${cid}:${turn}`)
      .exec();
  }

  /** Sets a failed event aside with its reason; capped so it cannot grow without bound. */
  async deadLetter(entry: { cid: string; eventId: string; reason: string; at: number; sealedEvent: string }) {
    const key = this.keys.deadLetters();
    await this.redis.multi().lpush(key, JSON.stringify(entry)).ltrim(key, 0, 9_999).exec();
  }

  private async popIfHead(list: string, attempts: string, head: string, itemId: string): Promise<Committed> {
    const result = await writeDurably(
      this.redis,
      this.durability,
      list,
      () => this.redis.sbPopIfHead(list, attempts, head, itemId),
      { strict: false },
    );
    if (result === -1) return { lost: true };
    return { lost: false, next: typeof result === 'string' ? result : null };
  }

  private openJson<T>(sealed: string, place: SealedPlace): T | null {
    const plain = this.cipher.open(sealed, place);
    if (plain === undefined) return null;
    try {
      return JSON.parse(plain) as T;
    } catch {
      return null;
    }
  }
}
