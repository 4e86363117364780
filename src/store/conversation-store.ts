// Redis access for conversations: inboxes, dialog state, outboxes and voice turn answers.
import { randomBytes } from 'node:crypto';
import type { Connection } from './connections.js';
import { FixedWindowLimiter } from './rate-limiter.js';
import { Script } from './scripts.js';
import { turnRef } from './turn-announcements.js';
import type { Channel, ChoiceOption, InboundEvent } from '../core/events.js';
import type { DialogState } from '../core/dialog.js';
import type { DataCipher, SealedPlace } from './cipher.js';
import {
  CALL_MEMORY_TTL,
  CALL_SEEN_TTL,
  Keys,
  LAST_INBOUND_MARK,
  LAST_INBOUND_TTL,
  MAILBOX_TTL,
  MAX_CALL_MS,
  MESSAGE_SEEN_TTL,
  SENT_TTL,
  TURN_RESULT_TTL,
} from './keys.js';
import { places } from './places.js';
import { NO_REPLICAS, writeDurably, type Durability } from './durability.js';

/**
 * Where an accept finds what the head's read (HEAD) would say, when asked (`asked` '1') and the event it
 * queued is the only one: the state, the outbox and the opt-out flag (all of the conversation's slot).
 */
interface Peek {
  asked: string;
  state: string;
  outbox: string;
  optOut: string;
}

/** HEAD's reads after the inbox head, as a Lua list's items: the state, the outbox's length, the opt-out flag. */
const headReads = (keys: Omit<Peek, 'asked'>) =>
  `redis.call('GET', ${keys.state}), redis.call('LLEN', ${keys.outbox}), redis.call('EXISTS', ${keys.optOut})`;

/**
 * Accept an event once: remember its provider id (ARGV at `id`) in the conversation's dedupe set (KEYS[1],
 * scored by when its window of ARGV[1] seconds ends, counted from ARGV at `now`, in ms; members whose window
 * ended are trimmed first, and the set expires with its newest member) and append it to the inbox. ARGV[4]
 * '1' (durable acceptance): a copy seen before touches the set, so that the WAIT that follows also covers
 * the first copy's write, which may not have reached a replica yet. `onNew` runs for a new event only.
 * The key at `legacy` is the id's mark as earlier versions wrote it (`Keys.legacySeen`): one there is a
 * duplicate too.
 */
const accept = (id: string, now: string, legacy: string, peek: Peek, onNew = '') => `
local now = tonumber(${now})
local window = tonumber(ARGV[1]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('EXISTS', ${legacy}) == 0 and redis.call('ZADD', KEYS[1], 'NX', now + window, ${id}) == 1 then
  redis.call('PEXPIRE', KEYS[1], window)
  local queued = redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3])${onNew}
  if ${peek.asked} == '1' and queued == 1 then
    return {1, ${headReads(peek)}}
  end
  return 1
end
if ARGV[4] == '1' then redis.call('PEXPIRE', KEYS[1], window) end
return 0`;

/**
 * Accept an SMS or WhatsApp event once (as `accept`); a new message from the user (ARGV[5], its time in ms)
 * also restarts the WhatsApp window: the dedupe set's member ARGV[9] is scored by that time plus ARGV[6]
 * seconds, when it stops saying anything (see `Keys.lastInbound`). KEYS: seen, inbox, legacy seen, state,
 * outbox, opt-out; ARGV[7]: the time it was received (ms), ARGV[8]: its provider id, ARGV[10]: '1' to be
 * told the head's read with the event's 1 (`Peek`).
 */
const ACCEPT_MESSAGE = accept(
  'ARGV[8]',
  'ARGV[7]',
  'KEYS[3]',
  { asked: 'ARGV[10]', state: 'KEYS[4]', outbox: 'KEYS[5]', optOut: 'KEYS[6]' },
  `
  if ARGV[5] ~= '' then redis.call('ZADD', KEYS[1], tonumber(ARGV[5]) + tonumber(ARGV[6]) * 1000, ARGV[9]) end`,
);

/**
 * Accept a voice event once (as `accept`, after the call's check), and only while its call is live: a call
 * is known from its first webhook (turn 0) on, for CALL_MEMORY_TTL; once Twilio reports it over, or it is
 * older than a call can last, its events are refused. Returns 1 (new), 0 (duplicate), -1 (the call is
 * over), -2 (no such call here).
 * KEYS: seen, inbox, call, legacy seen, state, outbox, opt-out
 * ARGV: seenTtl, event, inboxTtl, durable (as `accept`), kind ('start', 'turn' or 'end'), now (ms), callTtl,
 *       maxCallMs, provider id, '1' to be told the head's read with the 1 (`Peek`)
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
if ARGV[5] == 'end' then redis.call('HSET', KEYS[3], 'ended', '1') end` +
  accept('ARGV[9]', 'ARGV[6]', 'KEYS[4]', {
    asked: 'ARGV[10]',
    state: 'KEYS[5]',
    outbox: 'KEYS[6]',
    optOut: 'KEYS[7]',
  });

/** A voice turn's answer, unless its call is over or never started here (-1). KEYS: turn, call */
const TURN_ANSWER = `
if redis.call('EXISTS', KEYS[2]) == 0 or redis.call('HEXISTS', KEYS[2], 'ended') == 1 then return -1 end
return redis.call('GET', KEYS[1])`;

/** Dead letters kept, newest first: the oldest go beyond it. */
export const DEAD_LETTER_CAP = 10_000;

/**
 * How long a conversation stays in its workspace's live index after its last commit, whatever its
 * session timeout: the bound that keeps the index from growing (its entries are trimmed by score, and the
 * index itself expires when the workspace has been silent that long).
 */
export const LIVE_RETENTION_MS = 30 * 86_400_000;

/**
 * The live index's update, as a Lua fragment over the names given: `summary` '' removes the conversation
 * (it ended), else it is scored by `at` (ms) with its sealed summary. Each write trims a few entries older
 * than the retention, more than one commit adds, so the index stays bounded.
 */
function liveIndexLua(index: string, summaries: string, member: string, at: string, summary: string): string {
  return `
if ${summary} == '' then
  redis.call('ZREM', ${index}, ${member})
  redis.call('HDEL', ${summaries}, ${member})
else
  redis.call('ZADD', ${index}, ${at}, ${member})
  redis.call('HSET', ${summaries}, ${member}, ${summary})
end
for _, old in ipairs(redis.call('ZRANGEBYSCORE', ${index}, '-inf', tonumber(${at}) - ${LIVE_RETENTION_MS}, 'LIMIT', 0, 20)) do
  redis.call('ZREM', ${index}, old)
  redis.call('HDEL', ${summaries}, old)
end
redis.call('PEXPIRE', ${index}, ${LIVE_RETENTION_MS})
redis.call('PEXPIRE', ${summaries}, ${LIVE_RETENTION_MS})`;
}

/**
 * On a Redis Cluster the index is in its workspace's slot, not the conversation's, so a script cannot
 * write both: the index is written by this one after the commit. KEYS: index, summaries. ARGV: cid, at, summary.
 */
const UPDATE_LIVE = liveIndexLua('KEYS[1]', 'KEYS[2]', 'ARGV[1]', 'ARGV[2]', 'ARGV[3]');

/** A page of the live index, newest first, with each entry's summary. KEYS: index, summaries. ARGV: max score, offset, count. */
const READ_LIVE = `
local items = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', ARGV[2], ARGV[3])
local out = {}
for i = 1, #items, 2 do
  out[#out + 1] = items[i]
  out[#out + 1] = items[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], items[i]) or ''
end
return out`;

/** Lua: take (or keep) the outbox's claim for `token`, a lease of `lease` ms, and answer as CLAIM_OUTBOX. */
const claimOutboxLua = (claim: string, outbox: string, token: string, lease: string) => `
local holder = redis.call('GET', ${claim})
if holder and holder ~= ${token} then return {-2, redis.call('PTTL', ${claim})} end
local head = redis.call('LINDEX', ${outbox}, 0)
if head then redis.call('SET', ${claim}, ${token}, 'PX', ${lease}) elseif holder then redis.call('DEL', ${claim}) end
return {1, head or false}`;

/**
 * Commit a handled turn, only if its event is still at the head of the inbox (so a turn taken over by
 * another worker is committed once): pop it, keep or drop the state, queue the replies, publish a voice
 * answer, and keep the workspace's live index (on a single node; see UPDATE_LIVE): no round trip of its
 * own. With a claim token, it then claims the outbox for the turn's own send, as CLAIM_OUTBOX does: no
 * round trip of its own either. Returns {the next event or false, the claim's answer or false}, or -1 when
 * the event is no longer the head. The same commit sent again (its answer was lost with the connection,
 * and the client resent it) finds its own id and answers as it did the first time.
 * KEYS: inbox, state, outbox, attempts, turn, optout, lastCommit, live index, live summaries, outbox claim
 * ARGV: head, eventId, state ('' to drop), stateTtl, turnAnswer ('' for none), turnTtl, channel, turnRef,
 *       optOut ('1' set, '0' clear, '' unchanged), commitId, live member ('' to leave the index alone),
 *       live at (ms), live summary ('' to remove), claim token ('' for none), claim lease (ms), reply...
 */
const COMMIT = `
local function claim()
  if ARGV[14] == '' then return false end${claimOutboxLua('KEYS[10]', 'KEYS[3]', 'ARGV[14]', 'ARGV[15]')}
end
local heads = redis.call('LRANGE', KEYS[1], 0, 1)
if heads[1] ~= ARGV[1] then
  if redis.call('GET', KEYS[7]) == ARGV[10] then return {heads[1] or false, claim()} end
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
if ARGV[11] ~= '' then${liveIndexLua('KEYS[8]', 'KEYS[9]', 'ARGV[11]', 'ARGV[12]', 'ARGV[13]')}
end
if #ARGV > 15 then
  redis.call('RPUSH', KEYS[3], unpack(ARGV, 16))
  redis.call('EXPIRE', KEYS[3], ${MAILBOX_TTL})
end
return {heads[2] or false, claim()}`;

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
const CLAIM_OUTBOX = claimOutboxLua('KEYS[1]', 'KEYS[2]', 'ARGV[1]', 'ARGV[2]');

/**
 * Pop a handled reply, fenced by the claim: -2 when another job holds the outbox now (nothing popped), -1
 * when the reply is no longer the head. Renews the lease while replies remain, drops it with the last.
 * A reply Twilio accepted has its MessageSid remembered for the status callback first, whatever else
 * happens: the message did go out.
 * The remembered value is the reply's proactive message id (ARGV[6]), or '1'.
 * KEYS: outbox, attempts, claim, sent ('' key unused)  ARGV: head, replyId, token, leaseMs, sentTtl ('' for none), message
 */
const POP_REPLY = `
if ARGV[5] ~= '' then redis.call('SET', KEYS[4], ARGV[6], 'EX', ARGV[5]) end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[3] then return -2 end
local heads = redis.call('LRANGE', KEYS[1], 0, 1)
if heads[1] ~= ARGV[1] then return -1 end
redis.call('LPOP', KEYS[1])
if ARGV[2] ~= '' then redis.call('HDEL', KEYS[2], ARGV[2]) end
local nextHead = heads[2]
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

/** Put a dead-lettered event back at the tail of its inbox, its attempts forgotten. KEYS: inbox, attempts. ARGV: event, eventId. */
const REQUEUE = `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ${MAILBOX_TTL})
redis.call('HDEL', KEYS[2], ARGV[2])
return redis.call('LLEN', KEYS[1])`;

/**
 * What a turn starts from, read in one command: the inbox's head, the state, the outbox's length and the
 * opt-out mark. A script rather than a pipeline of four: ioredis's CPU per command, not Redis's, is what
 * a read this small costs. Read only. KEYS: inbox, state, outbox, optout
 */
const HEAD = `
return {redis.call('LINDEX', KEYS[1], 0), ${headReads({ state: 'KEYS[2]', outbox: 'KEYS[3]', optOut: 'KEYS[4]' })}}`;

/** What a drain reads first (`head`), or what an accept saw right after it queued the only event (its `peek`). */
export interface HeadRead {
  /** The oldest unhandled event, sealed as queued (what the commit is fenced by). */
  raw: string | null;
  state: DialogState | null;
  /** Replies in the outbox: a turn whose worker died before sending them. */
  pendingReplies: number;
  optedOut: boolean;
}

/** Count one more failed attempt at an item and return the count. */
const COUNT_ATTEMPT = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ${MAILBOX_TTL})
return n`;

type Arg = string | number;
/** An accept script's answer: 1, 0 or below; or, asked to peek, [1, state, outbox length, opted out]. */
type AcceptAnswer = number | [1, string | null, number, number];
/** CLAIM_OUTBOX's answer: [1, the outbox's head or null] when claimed, [-2, ms left] when another holds it. */
type ClaimAnswer = [number, string | number | null];

function outboxClaimOf([status, value]: ClaimAnswer): OutboxClaim {
  if (status === -2) return { held: true, retryInMs: Math.max(1, Number(value)) };
  return { held: false, head: typeof value === 'string' ? value : null };
}

/** The conversation scripts: keys first, then arguments (see each script's KEYS and ARGV). */
const scripts = {
  accept: new Script<
    [
      seen: string,
      inbox: string,
      legacySeen: string,
      state: string,
      outbox: string,
      optOut: string,
      seenTtl: number,
      event: string,
      inboxTtl: number,
      durable: '0' | '1',
      inboundAt: number | '',
      lastInboundTtl: number,
      receivedAt: number,
      eventId: string,
      lastInboundMark: string,
      peek: '0' | '1',
    ],
    AcceptAnswer
  >(6, ACCEPT_MESSAGE),
  commit: new Script<Arg[], number | [string | null, ClaimAnswer | null]>(10, COMMIT),
  updateLive: new Script<
    [index: string, summaries: string, cid: string, at: number, summary: string],
    number
  >(2, UPDATE_LIVE),
  readLive: new Script<
    [index: string, summaries: string, max: string, offset: number, count: number],
    string[]
  >(2, READ_LIVE),
  requeue: new Script<[inbox: string, attempts: string, event: string, eventId: string], number>(2, REQUEUE),
  popIfHead: new Script<
    [list: string, attempts: string, head: string, itemId: string],
    string | number | null
  >(2, POP_IF_HEAD),
  head: new Script<
    [inbox: string, state: string, outbox: string, optOut: string],
    [string | null, string | null, number, number]
  >(4, HEAD),
  countAttempt: new Script<[attempts: string, itemId: string], number>(1, COUNT_ATTEMPT),
  forgetDeadLetters: new Script<[deadLetters: string, ...cids: string[]], number>(1, FORGET_DEAD_LETTERS),
  acceptCall: new Script<Arg[], AcceptAnswer>(7, ACCEPT_CALL),
  turnAnswer: new Script<[turn: string, call: string], string | number | null>(2, TURN_ANSWER),
  claimOutbox: new Script<[claim: string, outbox: string, token: string, leaseMs: number], ClaimAnswer>(
    2,
    CLAIM_OUTBOX,
  ),
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
      message: string,
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
  /**
   * A `choose` question: its bare prompt and options, for a channel that shows them its own way (WhatsApp
   * buttons or a list). `body` is the prompt with the options numbered, what any text channel sends.
   */
  choice?: { prompt: string; options: ChoiceOption[]; button?: string };
  /** proactive: a WhatsApp template, sent as ContentSid + ContentVariables (JSON) outside the window. */
  template?: { contentSid: string; variables?: Record<string, string> };
  /** proactive: the operator-visible message id (`GET /v1/messages/{id}`), for status tracking. */
  message?: string;
  /** An operator-initiated send (a proactive message): paced as bulk (it takes only free slots; replies go first). */
  bulk?: true;
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
  /** Who the conversation is with, for its workspace's live index (left alone without it). */
  live?: LiveConversationOf;
  /** Claim the outbox for the turn's own send of its replies, as `claimOutbox` does, in the same call. */
  claim?: { token: string; leaseMs: number };
}

/** What the live index knows of a conversation beyond its dialog state. */
export interface LiveConversationOf {
  workspace: string;
  botId: string;
  channel: Channel;
  /** The channel identity (`sms:+1…`): sealed in the index. */
  identity: string;
  /** When the turn was handled (ms): the entry's score. */
  at: number;
}

/** A conversation of the live index: who, where in its flows, and what it waits for; never its variables. */
export interface LiveConversation {
  cid: string;
  botId: string;
  channel: Channel;
  identity: string;
  flow: string;
  step: number;
  /** The pending kind (`ask`, `credential`, `signin`…), or null when nothing is awaited. */
  waiting: string | null;
  updatedAt: number;
  /** When the session ends without an answer (ms): past it the conversation is no longer listed. */
  expiresAt: number;
}

/** Where a listing of live conversations resumes: after this entry (score, then id, descending). */
export interface LiveCursor {
  at: number;
  cid: string;
}

interface SealedSummary {
  b: string;
  c: Channel;
  i: string;
  f: string;
  s: number;
  w: string | null;
  e: number;
}

/**
 * Result of a conditional update: `lost` when another worker already did it. `liveIndexFailed`: on a
 * cluster, the live index's own write after a commit failed (the commit stands).
 */
export type Committed =
  { lost: true } | { lost: false; next: string | null; liveIndexFailed?: Error; outbox?: OutboxClaim };

/** A send job's hold on an outbox: `held` says how long another job's claim has left. */
export type OutboxClaim = { held: false; head: string | null } | { held: true; retryInMs: number };

/** A fenced pop: `fenced` when another job holds the outbox now, and this one must stop sending. */
export type PoppedReply = Committed | { fenced: true };

/** A live conversation as the operator sees it, from its sealed summary in the workspace's index. */
function liveOf(cid: string, summary: SealedSummary, updatedAt: number): LiveConversation {
  return {
    cid,
    botId: summary.b,
    channel: summary.c,
    identity: summary.i,
    flow: summary.f,
    step: summary.s,
    waiting: summary.w,
    updatedAt,
    expiresAt: summary.e,
  };
}

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
  async accept(
    cid: string,
    event: InboundEvent,
    peek?: (head: HeadRead) => void,
    /** Told when Redis had lost the script: what was sent right behind the accept ran before it. */
    reloaded?: () => void,
  ): Promise<boolean> {
    const sealed = this.cipher.seal(JSON.stringify(event), places.conversation(cid, 'inbox'));
    const durable = this.durability.replicas > 0 ? '1' : '0';
    const inbox = this.keys.inbox(cid);
    const answer = await writeDurably(this.redis, this.durability, inbox, () =>
      scripts.accept.runAndTell(
        this.redis,
        reloaded,
        this.keys.seen(cid),
        inbox,
        this.keys.legacySeen(cid, event.id),
        this.keys.state(cid),
        this.keys.outbox(cid),
        this.keys.optOut(cid),
        MESSAGE_SEEN_TTL,
        sealed,
        MAILBOX_TTL,
        durable,
        event.kind === 'message' ? event.receivedAt : '',
        LAST_INBOUND_TTL,
        event.receivedAt,
        event.id,
        LAST_INBOUND_MARK,
        peek ? '1' : '0',
      ),
    );
    return this.accepted(cid, sealed, answer, peek) === 1;
  }

  /**
   * An accept script's answer as a number (1 new, 0 duplicate, below 0 refused); a new event that is the
   * only one queued, when `peek` asked for it, comes with what the head's read would have said.
   */
  private accepted(
    cid: string,
    sealed: string,
    answer: AcceptAnswer,
    peek?: (head: HeadRead) => void,
  ): number {
    if (typeof answer === 'number') return answer;
    const [, state, pending, optedOut] = answer;
    peek?.(this.headRead(cid, sealed, state, pending, optedOut));
    return 1;
  }

  private headRead(
    cid: string,
    raw: string | null,
    state: string | null,
    pending: number | string,
    optedOut: number | string,
  ): HeadRead {
    return {
      raw,
      state: state ? this.openJson<DialogState>(state, places.conversation(cid, 'state')) : null,
      pendingReplies: Number(pending),
      optedOut: Number(optedOut) === 1,
    };
  }

  /**
   * Whether a command sent right behind `accept` (or, for `call`, `acceptCall`) most likely runs after it in
   * Redis: false until this connection has run the script once (its first use is refused NOSCRIPT and sent
   * again, behind anything sent meanwhile). A Redis that lost its scripts since does the same: the accept's
   * `reloaded` says so.
   */
  acceptInOrder(call: boolean): boolean {
    return (call ? scripts.acceptCall : scripts.accept).ranBefore(this.redis);
  }

  /**
   * Queues a voice event of a call's conversation (see `callConversationId`) while the call is live.
   * `peek` and `reloaded`: as `accept`'s.
   */
  async acceptCall(
    cid: string,
    event: InboundEvent,
    peek?: (head: HeadRead) => void,
    reloaded?: () => void,
  ): Promise<CallAccepted> {
    const kind = event.kind === 'call.start' ? 'start' : event.kind === 'call.end' ? 'end' : 'turn';
    const inbox = this.keys.inbox(cid);
    const sealed = this.cipher.seal(JSON.stringify(event), places.conversation(cid, 'inbox'));
    const answer = await writeDurably(this.redis, this.durability, inbox, () =>
      scripts.acceptCall.runAndTell(
        this.redis,
        reloaded,
        this.keys.seen(cid),
        inbox,
        this.keys.call(cid),
        this.keys.legacySeen(cid, event.id),
        this.keys.state(cid),
        this.keys.outbox(cid),
        this.keys.optOut(cid),
        CALL_SEEN_TTL,
        sealed,
        MAILBOX_TTL,
        this.durability.replicas > 0 ? '1' : '0',
        kind,
        event.receivedAt,
        CALL_MEMORY_TTL,
        MAX_CALL_MS,
        event.id,
        peek ? '1' : '0',
      ),
    );
    const result = this.accepted(cid, sealed, answer, peek);
    return result === 1 ? 'new' : result === 0 ? 'duplicate' : result === -1 ? 'ended' : 'unknown';
  }

  /** The oldest unhandled event (raw, to commit against) and the dialog state, in one round trip. */
  async head(cid: string): Promise<HeadRead> {
    const [raw, state, pending, optedOut] = await scripts.head.run(
      this.redis,
      this.keys.inbox(cid),
      this.keys.state(cid),
      this.keys.outbox(cid),
      this.keys.optOut(cid),
    );
    return this.headRead(cid, raw, state, pending, optedOut);
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
    const live = this.liveArgs(input);
    const args = [
      this.keys.inbox(cid),
      this.keys.state(cid),
      this.keys.outbox(cid),
      this.keys.attempts(cid),
      this.keys.turn(cid, turn?.turn ?? 0),
      this.keys.optOut(cid),
      this.keys.lastCommit(cid),
      ...live.keys,
      this.keys.outboxClaim(cid),
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
      ...live.args,
      input.claim?.token ?? '',
      input.claim?.leaseMs ?? 0,
      ...input.replies.map((r) => this.cipher.seal(JSON.stringify(r), places.conversation(cid, 'outbox'))),
    ];
    const result = await writeDurably(
      this.redis,
      this.durability,
      this.keys.inbox(cid),
      () => scripts.commit.run(this.redis, ...args),
      { strict: false },
    );
    if (typeof result === 'number') return { lost: true };
    const next = result[0];
    const outbox = result[1] ? { outbox: outboxClaimOf(result[1]) } : {};
    if (live.afterwards) {
      // The turn is committed whatever becomes of the index (the next commit writes it again): say so, go on.
      const failed = await live.afterwards().then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      );
      if (failed) return { lost: false, next, liveIndexFailed: failed, ...outbox };
    }
    return { lost: false, next, ...outbox };
  }

  /**
   * The live index's part of a commit: keys and arguments inside the commit script on a single node; on a
   * cluster (another slot) placeholder keys of the conversation's slot, and a write of its own afterwards.
   */
  private liveArgs(input: CommitInput): { keys: string[]; args: Arg[]; afterwards?: () => Promise<unknown> } {
    const { cid, live } = input;
    const none = { keys: [this.keys.inbox(cid), this.keys.inbox(cid)], args: ['', 0, ''] };
    if (!live) return none;
    const state = input.state;
    const summary = state
      ? this.cipher.seal(
          JSON.stringify({
            b: live.botId,
            c: live.channel,
            i: live.identity,
            f: state.flow,
            s: state.step,
            w: state.pending?.kind ?? null,
            e: Math.max(state.expiresAt, Number(state.pending?.keepUntil ?? 0)),
          } satisfies SealedSummary),
          places.liveSummary(live.workspace, cid),
        )
      : '';
    const index = this.keys.liveConversations(live.workspace);
    const summaries = this.keys.liveConversationSummaries(live.workspace);
    if (this.redis.isCluster) {
      return {
        ...none,
        afterwards: () => scripts.updateLive.run(this.redis, index, summaries, cid, live.at, summary),
      };
    }
    return { keys: [index, summaries], args: [cid, live.at, summary] };
  }

  /**
   * A page of a workspace's live conversations, most recently active first, after `cursor`: those whose
   * state still exists and whose session has not ended by `now`, that `keep` accepts. `more` says whether
   * another page has any.
   */
  async liveConversations(
    workspace: string,
    options: { now: number; limit: number; cursor?: LiveCursor; keep: (c: LiveConversation) => boolean },
  ): Promise<{ conversations: LiveConversation[]; more: boolean }> {
    const index = this.keys.liveConversations(workspace);
    const summaries = this.keys.liveConversationSummaries(workspace);
    const found: LiveConversation[] = [];
    const batch = Math.max(200, options.limit + 1);
    const max = options.cursor ? String(options.cursor.at) : '+inf';
    for (let offset = 0; ; offset += batch) {
      const flat = await scripts.readLive.run(this.redis, index, summaries, max, offset, batch);
      const entries: { cid: string; at: number; sealed: string }[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) {
        entries.push({ cid: flat[i]!, at: Number(flat[i + 1]), sealed: flat[i + 2]! });
      }
      const after = options.cursor;
      const candidates = entries.filter((e) => !after || e.at < after.at || e.cid < after.cid);
      const exists = await Promise.all(candidates.map((e) => this.redis.exists(this.keys.state(e.cid))));
      for (const [i, entry] of candidates.entries()) {
        if (exists[i] !== 1) continue; // ended without a commit to say so (erased, expired)
        const summary = this.openJson<SealedSummary>(entry.sealed, places.liveSummary(workspace, entry.cid));
        if (!summary || summary.e <= options.now) continue;
        const conversation = liveOf(entry.cid, summary, entry.at);
        if (!options.keep(conversation)) continue;
        if (found.length === options.limit) return { conversations: found, more: true };
        found.push(conversation);
      }
      if (entries.length < batch) return { conversations: found, more: false };
    }
  }

  /**
   * One conversation of a workspace's live index with its dialog state (one round trip, pipelined), or undefined when the
   * workspace has no such conversation: how the operator API finds a conversation by id (handoff).
   */
  async liveConversation(
    workspace: string,
    cid: string,
  ): Promise<{ conversation: LiveConversation; state: DialogState | null } | undefined> {
    // Two slots on a cluster: two commands, sent together (the web connection pipelines them).
    const [sealed, rawState] = await Promise.all([
      this.redis.hget(this.keys.liveConversationSummaries(workspace), cid),
      this.redis.get(this.keys.state(cid)),
    ]);
    const summary = sealed ? this.openJson<SealedSummary>(sealed, places.liveSummary(workspace, cid)) : null;
    if (!summary) return undefined;
    const conversation = liveOf(cid, summary, 0);
    const state = rawState ? this.openJson<DialogState>(rawState, places.conversation(cid, 'state')) : null;
    return { conversation, state };
  }

  /** Removes conversations, and the calls of those that are callers, from a workspace's live index (erasure). */
  async forgetLive(workspace: string, cids: Iterable<string>): Promise<void> {
    const index = this.keys.liveConversations(workspace);
    const summaries = this.keys.liveConversationSummaries(workspace);
    const gone: string[] = [];
    for (const cid of cids) {
      gone.push(cid);
      let cursor = '0';
      do {
        const [next, found] = await this.redis.zscan(index, cursor, 'MATCH', `${cid}.*`, 'COUNT', 500);
        cursor = next;
        for (let i = 0; i < found.length; i += 2) gone.push(found[i]!);
      } while (cursor !== '0');
    }
    if (gone.length === 0) return;
    await this.redis
      .multi()
      .zrem(index, ...gone)
      .hdel(summaries, ...gone)
      .exec();
  }

  /** Puts a dead-lettered event (sealed, as it was) back at the tail of its inbox, with fresh attempts. */
  async requeue(cid: string, sealedEvent: string, eventId: string): Promise<void> {
    await scripts.requeue.run(
      this.redis,
      this.keys.inbox(cid),
      this.keys.attempts(cid),
      sealedEvent,
      eventId,
    );
  }

  /** Which of these conversations have opted out (one round trip per conversation, sent together). */
  async optedOut(cids: string[]): Promise<boolean[]> {
    const found = await Promise.all(cids.map((cid) => this.redis.exists(this.keys.optOut(cid))));
    return found.map((n) => n === 1);
  }

  /** Opts conversations back in (the operator cleared an opt-out); returns how many were opted out. */
  async clearOptOuts(cids: string[]): Promise<number> {
    const removed = await Promise.all(cids.map((cid) => this.redis.del(this.keys.optOut(cid))));
    return removed.reduce((a, b) => a + b, 0);
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
    return outboxClaimOf(
      await scripts.claimOutbox.run(
        this.redis,
        this.keys.outboxClaim(cid),
        this.keys.outbox(cid),
        token,
        leaseMs,
      ),
    );
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
    /** The reply's proactive message id: what its status callbacks update. */
    message?: string,
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
          message ?? '1',
        ),
      { strict: false },
    );
    if (result === -2) return { fenced: true };
    if (result === -1) return { lost: true };
    return { lost: false, next: typeof result === 'string' ? result : null };
  }

  /**
   * Appends replies to a conversation's outbox outside a turn (an operator's send), sealed as a commit
   * seals them; the caller kicks the send queue.
   */
  async enqueueReplies(cid: string, items: OutboxItem[]): Promise<void> {
    const sealed = items.map((r) => this.cipher.seal(JSON.stringify(r), places.conversation(cid, 'outbox')));
    await this.redis
      .multi()
      .rpush(this.keys.outbox(cid), ...sealed)
      .expire(this.keys.outbox(cid), MAILBOX_TTL)
      .exec();
  }

  async outboxLength(cid: string): Promise<number> {
    return this.redis.llen(this.keys.outbox(cid));
  }

  /**
   * Settles a sent reply's status callback: true the first time, false for a MessageSid we never sent or
   * one already reported (it is forgotten as it is reported).
   */
  async settleSent(cid: string, messageSid: string): Promise<boolean> {
    return (await this.takeSent(cid, messageSid)) !== null;
  }

  /**
   * A sent reply's remembered value ('1', or its proactive message id), forgotten (`take`) or kept; null
   * for a MessageSid we never sent or one already settled.
   */
  async takeSent(cid: string, messageSid: string): Promise<string | null> {
    return this.redis.getdel(this.keys.sent(cid, messageSid));
  }

  async peekSent(cid: string, messageSid: string): Promise<string | null> {
    return this.redis.get(this.keys.sent(cid, messageSid));
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
      k.seen(cid),
      k.legacyLastInbound(cid),
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

  /**
   * Sets a failed event aside with its reason, under a new id (see `DeadLetters`); capped so it cannot
   * grow without bound. Returns the id.
   */
  async deadLetter(entry: {
    cid: string;
    eventId: string;
    reason: string;
    at: number;
    sealedEvent: string;
    /** The bot's workspace and the bot, when the event could be opened: the operator API lists by workspace. */
    workspace?: string;
    botId?: string;
  }): Promise<string> {
    const key = this.keys.deadLetters();
    const { workspace, botId, ...rest } = entry;
    const id = randomBytes(9).toString('base64url');
    const stored = { id, ...(workspace ? { ws: workspace } : {}), ...(botId ? { bot: botId } : {}), ...rest };
    await this.redis
      .multi()
      .lpush(key, JSON.stringify(stored))
      .ltrim(key, 0, DEAD_LETTER_CAP - 1)
      .exec();
    return id;
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
