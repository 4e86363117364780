// Redis access for conversations: inboxes, dialog state, outboxes and voice turn answers.
import { randomBytes } from 'node:crypto';
import type { Connection } from './connections.js';
import { FixedWindowLimiter } from './rate-limiter.js';
import { Script } from './scripts.js';
import { turnRef } from './turn-announcements.js';
import type { Channel, InboundEvent } from '../core/events.js';
import type { DialogState } from '../core/dialog.js';
import type { DataCipher, SealedPlace } from './cipher.js';
import {
  CALL_MEMORY_TTL,
  CALL_SEEN_TTL,
  Keys,
  MAILBOX_TTL,
  MAX_CALL_MS,
  MESSAGE_SEEN_TTL,
  SENT_TTL,
  TURN_RESULT_TTL,
} from './keys.js';
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
 * Accept a voice event once (as ACCEPT, after the call's check), and only while its call is live: a call
 * is known from its first webhook (turn 0) on, for CALL_MEMORY_TTL; once Twilio reports it over, or it is
 * older than a call can last, its events are refused. Returns 1 (new), 0 (duplicate), -1 (the call is
 * over), -2 (no such call here).
 * KEYS: seen, inbox, call
 * ARGV: seenTtl, event, inboxTtl, durable (as ACCEPT), kind ('start', 'turn' or 'end'), now (ms), callTtl,
 *       maxCallMs
 */
const ACCEPT_CALL =
  `
local at = redis.call('HGET', KEYS[3], 'at')
if at then
  if redis.call('HEXISTS', KEYS[3], 'ended') == 1 then return -1 end
  if tonumber(ARGV[6]) - tonumber(at) > tonumber(ARGV[8]) then return -1 end
elseif ARGV[5] ~= 'start' then
  return -2
else
  redis.call('HSET', KEYS[3], 'at', ARGV[6])
  redis.call('EXPIRE', KEYS[3], ARGV[7])
end
if ARGV[5] == 'end' then redis.call('HSET', KEYS[3], 'ended', '1') end` + ACCEPT;

/** A voice turn's answer, unless its call is over or never started here (-1). KEYS: turn, call */
const TURN_ANSWER = `
if redis.call('EXISTS', KEYS[2]) == 0 or redis.call('HEXISTS', KEYS[2], 'ended') == 1 then return -1 end
return redis.call('GET', KEYS[1])`;

/**
 * Commit a handled turn, only if its event is still at the head of the inbox (so a turn taken over by
 * another worker is committed once): pop it, keep or drop the state, queue the replies, publish a voice
 * answer. Returns the next event, or false. The same commit sent again (its answer was lost with the
 * connection, and the client resent it) finds its own id and answers as it did the first time.
 * KEYS: inbox, state, outbox, attempts, turn, optout, lastCommit
 * ARGV: head, eventId, state ('' to drop), stateTtl, turnAnswer ('' for none), turnTtl, channel, turnRef,
 *       optOut ('1' set, '0' clear, '' unchanged), commitId, reply...
 */
const COMMIT = `
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then
  if redis.call('GET', KEYS[7]) == ARGV[10] then return redis.call('LINDEX', KEYS[1], 0) or false end
  return -1
end
redis.call('LPOP', KEYS[1])
redis.call('SET', KEYS[7], ARGV[10], 'EX', ${MAILBOX_TTL})
if ARGV[9] == '1' then redis.call('SET', KEYS[6], '1') elseif ARGV[9] == '0' then redis.call('DEL', KEYS[6]) end
redis.call('HDEL', KEYS[4], ARGV[2])
if ARGV[3] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) end
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[5], ARGV[5], 'EX', ARGV[6])
  redis.call('PUBLISH', ARGV[7], ARGV[8])
end
if #ARGV > 10 then
  for i = 11, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
  redis.call('EXPIRE', KEYS[3], ${MAILBOX_TTL})
end
return redis.call('LINDEX', KEYS[1], 0) or false`;

/** Remove the head of a list if it is the given item; returns the next head, or false (-1 if it was not the head). */
const POP_IF_HEAD = `
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return -1 end
redis.call('LPOP', KEYS[1])
if ARGV[2] ~= '' then redis.call('HDEL', KEYS[2], ARGV[2]) end
return redis.call('LINDEX', KEYS[1], 0) or false`;

/**
 * Take (or keep) the outbox for a send job and read its head, in one round trip. The claim is a lease
 * named by the job's lock token: held by another job, the answer is -2 and the milliseconds it has left.
 * KEYS: claim, outbox  ARGV: token, leaseMs
 */
const CLAIM_OUTBOX = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {-2, redis.call('PTTL', KEYS[1])} end
local head = redis.call('LINDEX', KEYS[2], 0)
if head then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) elseif holder then redis.call('DEL', KEYS[1]) end
return {1, head or false}`;

/**
 * Pop a handled reply, fenced by the claim: -2 when another job holds the outbox now (nothing popped), -1
 * when the reply is no longer the head. Renews the lease while replies remain, drops it with the last.
 * A reply Twilio accepted has its MessageSid remembered for the status callback first, whatever else
 * happens: the message did go out.
 * KEYS: outbox, attempts, claim, sent ('' key unused)  ARGV: head, replyId, token, leaseMs, sentTtl ('' for none)
 */
const POP_REPLY = `
if ARGV[5] ~= '' then redis.call('SET', KEYS[4], '1', 'EX', ARGV[5]) end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[3] then return -2 end
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return -1 end
redis.call('LPOP', KEYS[1])
if ARGV[2] ~= '' then redis.call('HDEL', KEYS[2], ARGV[2]) end
local nextHead = redis.call('LINDEX', KEYS[1], 0)
if nextHead then
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
  return nextHead
end
redis.call('DEL', KEYS[3])
return false`;

/** Give the outbox up if this job holds it. KEYS: claim  ARGV: token */
const RELEASE_OUTBOX = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Remove the dead letters of some conversations (a user was erased): entries whose conversation id, or the
 * caller half of a call's id (`caller.call`), is one of ARGV. The list is capped, and erasure is rare.
 * KEYS: dead letters. Returns how many were removed.
 */
const FORGET_DEAD_LETTERS = `
local wanted = {}
for i = 1, #ARGV do wanted[ARGV[i]] = true end
local removed = 0
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local ok, entry = pcall(cjson.decode, item)
  if ok and type(entry) == 'table' and type(entry.cid) == 'string' then
    local caller = string.match(entry.cid, '^([^.]+)%.') or entry.cid
    if wanted[entry.cid] or wanted[caller] then removed = removed + redis.call('LREM', KEYS[1], 0, item) end
  end
end
return removed`;

/** Count one more failed attempt at an item and return the count. */
const COUNT_ATTEMPT = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ${MAILBOX_TTL})
return n`;

type Arg = string | number;

/** The conversation scripts: keys first, then arguments (see each script's KEYS and ARGV). */
const scripts = {
  accept: new Script<
    [seen: string, inbox: string, seenTtl: number, event: string, inboxTtl: number, durable: '0' | '1'],
    number
  >(2, ACCEPT),
  commit: new Script<Arg[], string | number | null>(7, COMMIT),
  popIfHead: new Script<
    [list: string, attempts: string, head: string, itemId: string],
    string | number | null
  >(2, POP_IF_HEAD),
  countAttempt: new Script<[attempts: string, itemId: string], number>(1, COUNT_ATTEMPT),
  forgetDeadLetters: new Script<[deadLetters: string, ...cids: string[]], number>(1, FORGET_DEAD_LETTERS),
  acceptCall: new Script<Arg[], number>(3, ACCEPT_CALL),
  turnAnswer: new Script<[turn: string, call: string], string | number | null>(2, TURN_ANSWER),
  claimOutbox: new Script<
    [claim: string, outbox: string, token: string, leaseMs: number],
    [number, string | number | null]
  >(2, CLAIM_OUTBOX),
  popReply: new Script<
    [
      outbox: string,
      attempts: string,
      claim: string,
      sent: string,
      head: string,
      replyId: string,
      token: string,
      leaseMs: number,
      sentTtl: number | '',
    ],
    string | number | null
  >(4, POP_REPLY),
  releaseOutbox: new Script<[claim: string, token: string], number>(1, RELEASE_OUTBOX),
};

/** What became of a voice event: queued, a duplicate, or refused because its call is over or unknown here. */
export type CallAccepted = 'new' | 'duplicate' | 'ended' | 'unknown';

/** A reply waiting in a conversation's outbox. */
export interface OutboxItem {
  id: string;
  botId: string;
  channel: Channel;
  accountSid: string;
  from: string;
  to: string;
  body: string;
  /** When the user last wrote (ms): WhatsApp allows free-form replies for 24 hours after. */
  windowStart: number;
  /** The conversation, for logs and events. */
  cid: string;
  /** The W3C trace context of the turn that made the reply (tracing on): its send continues the trace. */
  traceparent?: string;
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

/** A send job's hold on an outbox: `held` says how long another job's claim has left. */
export type OutboxClaim = { held: false; head: string | null } | { held: true; retryInMs: number };

/** A fenced pop: `fenced` when another job holds the outbox now, and this one must stop sending. */
export type PoppedReply = Committed | { fenced: true };

export class ConversationStore {
  /** The per-identity message limit's counts. */
  private readonly messages: FixedWindowLimiter;

  constructor(
    private readonly redis: Connection,
    readonly keys: Keys,
    private readonly cipher: DataCipher,
    private readonly durability: Durability = NO_REPLICAS,
  ) {
    // Kept two minutes: a turn handled late still finds its minute's count.
    this.messages = new FixedWindowLimiter(redis, { keepMs: 120_000 });
  }

  /**
   * Queues an SMS or WhatsApp message unless its MessageSid was seen before (voice: `acceptCall`); true
   * when it is new. With replica
   * durability it returns only once that many replicas hold the write, and throws `DurabilityError`
   * when they do not within the timeout.
   */
  async accept(cid: string, event: InboundEvent): Promise<boolean> {
    const sealed = this.cipher.seal(JSON.stringify(event), places.conversation(cid, 'inbox'));
    const durable = this.durability.replicas > 0 ? '1' : '0';
    const inbox = this.keys.inbox(cid);
    const added = await writeDurably(this.redis, this.durability, inbox, () =>
      scripts.accept.run(
        this.redis,
        this.keys.seen(cid, event.id),
        inbox,
        MESSAGE_SEEN_TTL,
        sealed,
        MAILBOX_TTL,
        durable,
      ),
    );
    return added === 1;
  }

  /** Queues a voice event of a call's conversation (see `callConversationId`) while the call is live. */
  async acceptCall(cid: string, event: InboundEvent): Promise<CallAccepted> {
    const kind = event.kind === 'call.start' ? 'start' : event.kind === 'call.end' ? 'end' : 'turn';
    const inbox = this.keys.inbox(cid);
    const result = await writeDurably(this.redis, this.durability, inbox, () =>
      scripts.acceptCall.run(
        this.redis,
        this.keys.seen(cid, event.id),
        inbox,
        this.keys.call(cid),
        CALL_SEEN_TTL,
        this.cipher.seal(JSON.stringify(event), places.conversation(cid, 'inbox')),
        MAILBOX_TTL,
        this.durability.replicas > 0 ? '1' : '0',
        kind,
        event.receivedAt,
        CALL_MEMORY_TTL,
        MAX_CALL_MS,
      ),
    );
    return result === 1 ? 'new' : result === 0 ? 'duplicate' : result === -1 ? 'ended' : 'unknown';
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
      this.keys.lastCommit(cid),
      input.head,
      input.eventId,
      input.state ? this.cipher.seal(JSON.stringify(input.state), places.conversation(cid, 'state')) : '',
      Math.max(1, input.stateTtlSeconds),
      turn ? this.cipher.seal(turn.answer, places.turn(cid, turn.turn)) : '',
      TURN_RESULT_TTL,
      this.keys.turnsChannel(),
      turn ? turnRef(cid, turn.turn) : '',
      input.optOut === undefined ? '' : input.optOut ? '1' : '0',
      // Unique to this call: only a resend of this very command carries it.
      randomBytes(12).toString('base64url'),
      ...input.replies.map((r) => this.cipher.seal(JSON.stringify(r), places.conversation(cid, 'outbox'))),
    ];
    const result = await writeDurably(
      this.redis,
      this.durability,
      this.keys.inbox(cid),
      () => scripts.commit.run(this.redis, ...args),
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
    return scripts.countAttempt.run(this.redis, this.keys.attempts(cid), itemId);
  }

  /**
   * Claims the outbox for the send job with lock token `token` (a lease of `leaseMs`, renewed at every
   * pop) and returns its oldest reply, unless another job holds it.
   */
  async claimOutbox(cid: string, token: string, leaseMs: number): Promise<OutboxClaim> {
    const [status, value] = await scripts.claimOutbox.run(
      this.redis,
      this.keys.outboxClaim(cid),
      this.keys.outbox(cid),
      token,
      leaseMs,
    );
    if (status === -2) return { held: true, retryInMs: Math.max(1, Number(value)) };
    return { held: false, head: typeof value === 'string' ? value : null };
  }

  /** Gives the outbox up (a send job that stops early: a retry later, an error). */
  async releaseOutbox(cid: string, token: string): Promise<void> {
    await scripts.releaseOutbox.run(this.redis, this.keys.outboxClaim(cid), token);
  }

  openReply(cid: string, raw: string): OutboxItem | undefined {
    return this.openJson<OutboxItem>(raw, places.conversation(cid, 'outbox')) ?? undefined;
  }

  /** Pops a handled reply if `token` still holds the outbox (`sentSid`, when Twilio accepted it, is kept for its status callback); returns the next reply to send. */
  async popReply(
    cid: string,
    head: string,
    replyId: string,
    token: string,
    leaseMs: number,
    sentSid?: string,
  ): Promise<PoppedReply> {
    const k = this.keys;
    const result = await writeDurably(
      this.redis,
      this.durability,
      k.outbox(cid),
      () =>
        scripts.popReply.run(
          this.redis,
          k.outbox(cid),
          k.attempts(cid),
          k.outboxClaim(cid),
          sentSid ? k.sent(cid, sentSid) : k.outboxClaim(cid),
          head,
          replyId,
          token,
          leaseMs,
          sentSid ? SENT_TTL : '',
        ),
      { strict: false },
    );
    if (result === -2) return { fenced: true };
    if (result === -1) return { lost: true };
    return { lost: false, next: typeof result === 'string' ? result : null };
  }

  async outboxLength(cid: string): Promise<number> {
    return this.redis.llen(this.keys.outbox(cid));
  }

  /**
   * Settles a sent reply's status callback: true the first time, false for a MessageSid we never sent or
   * one already reported (it is forgotten as it is reported).
   */
  async settleSent(cid: string, messageSid: string): Promise<boolean> {
    return (await this.redis.getdel(this.keys.sent(cid, messageSid))) !== null;
  }

  /** The answer to a voice turn, if the worker has finished it; 'over' for a call that is over or unknown. */
  async turnAnswer(cid: string, turn: number): Promise<string | 'over' | undefined> {
    const raw = await scripts.turnAnswer.run(this.redis, this.keys.turn(cid, turn), this.keys.call(cid));
    if (raw === -1) return 'over';
    return typeof raw === 'string' ? this.cipher.open(raw, places.turn(cid, turn)) : undefined;
  }

  /** Forgets a conversation entirely (the user was erased): state, pending events and replies, opt-out. */
  async forget(cid: string): Promise<void> {
    const k = this.keys;
    await this.redis.del(
      k.inbox(cid),
      k.state(cid),
      k.outbox(cid),
      k.attempts(cid),
      k.optOut(cid),
      k.lastCommit(cid),
    );
  }

  /** Counts a message against the identity's per-minute limit; returns the count in this minute. */
  async countMessage(cid: string, event: { id: string; receivedAt: number }): Promise<number> {
    // Counted by message id: a turn run again after a crash is not counted twice.
    const { count } = await this.messages.hit(
      (minute) => this.keys.rate(cid, minute),
      event.receivedAt,
      event.id,
    );
    return count;
  }

  /** Stores and announces the answer to a voice turn outside a commit (an apology after dead-lettering). */
  async publishTurn(cid: string, turn: number, answer: string): Promise<void> {
    const sealed = this.cipher.seal(answer, places.turn(cid, turn));
    await this.redis
      .multi()
      .set(this.keys.turn(cid, turn), sealed, 'EX', TURN_RESULT_TTL)
      .publish(this.keys.turnsChannel(), turnRef(cid, turn))
      .exec();
  }

  /** Sets a failed event aside with its reason; capped so it cannot grow without bound. */
  async deadLetter(entry: { cid: string; eventId: string; reason: string; at: number; sealedEvent: string }) {
    const key = this.keys.deadLetters();
    await this.redis.multi().lpush(key, JSON.stringify(entry)).ltrim(key, 0, 9_999).exec();
  }

  /** Removes the dead letters of these conversations and of their calls (erasure); returns how many. */
  async forgetDeadLetters(cids: Iterable<string>): Promise<number> {
    const list = [...cids];
    if (list.length === 0) return 0;
    return scripts.forgetDeadLetters.run(this.redis, this.keys.deadLetters(), ...list);
  }

  private async popIfHead(list: string, attempts: string, head: string, itemId: string): Promise<Committed> {
    const result = await writeDurably(
      this.redis,
      this.durability,
      list,
      () => scripts.popIfHead.run(this.redis, list, attempts, head, itemId),
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
