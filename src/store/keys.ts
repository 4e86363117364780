// Every Redis key name Switchboard uses, in one place.
import { createHash } from 'node:crypto';
import type { KeyNaming } from './key-naming.js';

/**
 * Seconds an inbound SMS or WhatsApp message's MessageSid is remembered. Twilio's message webhooks carry
 * no timestamp, so this window is all that keeps a captured, signed webhook from being replayed into the
 * conversation; it matches how long a user's history keeps a message (90 days). Cost: about 165 bytes
 * of Redis per message, some 15 MB per 1,000 messages a day.
 */
export const MESSAGE_SEEN_TTL = 90 * 86_400;
/**
 * Seconds a sent reply's MessageSid is remembered for its status callback: Twilio stops trying to
 * deliver after at most 10 hours, and a carrier's late report comes within a day or two.
 */
export const SENT_TTL = 3 * 86_400;
/** The member of a conversation's dedupe set that holds its last inbound time (no provider id starts with `@`). */
export const LAST_INBOUND_MARK = '@in';
/** Seconds the last inbound time is kept: past the 24-hour window, after which it says nothing. */
export const LAST_INBOUND_TTL = 86_400 + 3600;
/** Seconds an unhandled inbox or outbox lives without activity: far beyond any retry schedule. */
export const MAILBOX_TTL = 86_400;
/** Seconds a voice turn's rendered answer is kept for the webhook (and its redirects) to pick up. */
export const TURN_RESULT_TTL = 300;

/**
 * Seconds a voice call is remembered after its first event: events of an ended call, or of one older than
 * a call can last, are refused for this long, so a captured call replayed within it changes nothing.
 */
export const CALL_MEMORY_TTL = 30 * 86_400;
/** Milliseconds a call can last: Twilio's longest time limit (24 hours). Later events of it are refused. */
export const MAX_CALL_MS = 86_400_000;
/**
 * Seconds a voice event's CallSid and turn are remembered: longer than a call can last, so that a replay is
 * refused by its dedupe mark until the age limit refuses it, with an hour for gateways whose clocks disagree
 * (the age counts from the first event's time as the gateway that took it saw it).
 */
export const CALL_SEEN_TTL = MAX_CALL_MS / 1000 + 3600;

/** Where the key-naming key is kept, sealed (see `loadKeyNaming`): read before any other key can be named. */
export function keyNamingRecord(prefix: string): string {
  return `${prefix}:meta:names`;
}

/** The conversation id of earlier versions (an unkeyed hash): only to find and move data written then. */
export function legacyConversationId(botId: string, identity: string): string {
  return createHash('sha256').update(`${botId}\n${identity}`).digest('base64url').slice(0, 22);
}

/** Set once a start-up found nothing left under the unkeyed names of earlier versions (see `migrateLegacyNames`). */
export function legacyNamesDone(prefix: string): string {
  return `${prefix}:meta:legacy-names`;
}

/**
 * Key names. Every key of one conversation carries the conversation id as a Redis Cluster hash tag, so
 * the scripts that touch several of them run on one node; the queues carry their own tags. A call's
 * conversation (`caller.call`) is tagged with its caller's id: its keys sit next to the caller's opt-out.
 */
export class Keys {
  constructor(
    readonly prefix: string,
    readonly naming: KeyNaming,
  ) {}

  /** A short, stable id for the conversation between a bot and a channel identity: a keyed hash, no phone number in it. */
  conversationId(botId: string, identity: string): string {
    return this.naming.hash('conversation', botId, identity);
  }

  /**
   * The conversation of one voice call: the caller's conversation id, a dot, and one for the CallSid. Its
   * dialog state, inbox and turn answers are the call's own; its opt-out is the caller's.
   */
  callConversationId(botId: string, identity: string, callSid: string): string {
    return `${this.conversationId(botId, identity)}.${this.conversationId(botId, `call\n${callSid}`)}`;
  }

  private conv(cid: string): string {
    const dot = cid.indexOf('.');
    return dot < 0 ? `${this.prefix}:c:{${cid}}` : `${this.prefix}:c:{${cid.slice(0, dot)}}${cid.slice(dot)}`;
  }

  /** A SCAN pattern matching every key under the prefix. */
  everything(): string {
    return `${this.prefix}:*`;
  }

  /** A SCAN pattern matching every conversation key (of every conversation and call). */
  conversationKeysPattern(): string {
    return `${this.prefix}:c:{*`;
  }

  /** A SCAN pattern matching every dedupe set (`seen`, of conversations and calls) and proactive message mark (`queued`). */
  everySeen(): string {
    return `${this.prefix}:c:*:seen*`;
  }

  /** The conversation (its hash tag: the caller's id for a call) a key found by that pattern belongs to. */
  conversationOfKey(key: string): string | undefined {
    return /:c:\{([^}]+)\}/.exec(key)?.[1];
  }

  /** The keys of the channel identity itself, shared by all of its calls. */
  private caller(cid: string): string {
    const dot = cid.indexOf('.');
    return `${this.prefix}:c:{${dot < 0 ? cid : cid.slice(0, dot)}}`;
  }

  /** The conversation's inbound events, oldest first (sealed). */
  inbox(cid: string): string {
    return `${this.conv(cid)}:in`;
  }

  /** The dialog state (sealed). */
  state(cid: string): string {
    return `${this.conv(cid)}:state`;
  }

  /**
   * The provider ids accepted for this conversation within their dedupe window: one sorted set per
   * conversation (member: the id; score: when its window ends, in ms), trimmed by the accept script and
   * expiring with its newest member, so no key per message is left behind.
   */
  seen(cid: string): string {
    return `${this.conv(cid)}:seen`;
  }

  /**
   * A provider id's dedupe mark as versions before the dedupe set wrote it (a key per id, kept 90 days):
   * still consulted by the accept scripts, so that a copy or replay of a message an older gateway took
   * during a rolling upgrade, or in the 90 days before it, stays a duplicate. Nothing writes it any more.
   */
  legacySeen(cid: string, providerId: string): string {
    return `${this.conv(cid)}:seen:${providerId}`;
  }

  /** The last inbound time as versions before the dedupe set kept it (read as a fallback for a day). */
  legacyLastInbound(cid: string): string {
    return `${this.conv(cid)}:lastin`;
  }

  /**
   * Beside the provider ids in `seen`: when the identity last wrote to this bot, kept a little past
   * WhatsApp's 24-hour window as the member `LAST_INBOUND_MARK` scored by the end of that keeping (see
   * `LAST_INBOUND_TTL`). Set by the accept script of every inbound message, read by proactive sends to tell
   * whether the window is open.
   */
  lastInbound(cid: string): { key: string; member: string } {
    return { key: this.seen(cid), member: LAST_INBOUND_MARK };
  }

  /** A proactive message already queued into this conversation's outbox (its id), for its record's life. */
  queued(cid: string, message: string): string {
    return `${this.conv(cid)}:seen:msg:${message}`;
  }

  /**
   * A reply Twilio accepted, until a status callback settles it: only a message we sent can be reported
   * as failed, and only once.
   */
  sent(cid: string, messageSid: string): string {
    return `${this.conv(cid)}:sent:${messageSid}`;
  }

  /** Replies waiting to be sent through Twilio's REST API, in order. */
  outbox(cid: string): string {
    return `${this.conv(cid)}:out`;
  }

  /** Which send job holds the outbox (its lock token, with a lease): only the holder sends and pops. */
  outboxClaim(cid: string): string {
    return `${this.conv(cid)}:out:claim`;
  }

  /**
   * The id of the conversation's last commit: a commit sent again after its answer was lost (a
   * reconnect, a failover) recognises that it landed, and its worker carries on as the one that won.
   */
  lastCommit(cid: string): string {
    return `${this.conv(cid)}:commit`;
  }

  /** Failed attempts per inbound event id and per reply id. */
  attempts(cid: string): string {
    return `${this.conv(cid)}:att`;
  }

  /** Set while the channel identity has opted out of this bot (kept until it opts back in). */
  optOut(cid: string): string {
    return `${this.caller(cid)}:optout`;
  }

  /**
   * Messages counted in the current minute, for the per-identity rate limit: a hash of their ids (earlier
   * versions kept a set under `:rate:`; the new name keeps the two types apart during a rolling upgrade).
   */
  rate(cid: string, minute: number): string {
    return `${this.caller(cid)}:hits:${minute}`;
  }

  /** A voice call's first event time (`at`) and, once Twilio reported it over, `ended`. */
  call(cid: string): string {
    return `${this.conv(cid)}:call`;
  }

  /** The rendered answer to one voice turn. */
  turn(cid: string, turn: number): string {
    return `${this.conv(cid)}:turn:${turn}`;
  }

  /** The pub/sub channel on which finished voice turns are announced. */
  turnsChannel(): string {
    return `${this.prefix}:turns`;
  }

  /** Turns that kept failing, set aside with their reason (capped list). */
  deadLetters(): string {
    return `${this.prefix}:dead`;
  }

  /** A workspace's tag in key names: a keyed hash, so a workspace id never has to fit a key's syntax. */
  private workspaceTag(workspace: string): string {
    return this.naming.hash('workspace', workspace);
  }

  /**
   * A workspace's active conversations: conversation id scored by its last commit (ms), kept by the
   * commit script (see `ConversationStore.commit`), its entries trimmed by score.
   */
  liveConversations(workspace: string): string {
    return `${this.prefix}:live:{${this.workspaceTag(workspace)}}`;
  }

  /** Beside `liveConversations`, in its slot: conversation id → sealed summary (bot, identity, flow, step, waiting). */
  liveConversationSummaries(workspace: string): string {
    return `${this.liveConversations(workspace)}:sum`;
  }

  /** A workspace's audit log of operator API changes (a capped stream). */
  auditLog(workspace: string): string {
    return `${this.prefix}:audit:{${this.workspaceTag(workspace)}}`;
  }

  /** Beside `auditLog`, in its slot: who each user named in it is (sealed, by the user's opaque reference). */
  auditLogNames(workspace: string): string {
    return `${this.auditLog(workspace)}:names`;
  }

  /**
   * An operator API Idempotency-Key of a workspace (by its keyed hash): the hash of the first request's body
   * and its answer, for 24 hours (see `IdempotencyStore`).
   */
  idempotency(workspace: string, idempotencyKey: string): string {
    const tag = this.workspaceTag(workspace);
    return `${this.prefix}:idem:{${tag}}:${this.naming.hash('idempotency', workspace, idempotencyKey)}`;
  }

  /** A proactive message's record (its workspace, conversation, status), by its id (see `MessageStore`). */
  message(id: string): string {
    return `${this.prefix}:msg:{${id}}`;
  }

  /**
   * The send pace of one sender (our number, or `whatsapp:+…`): a hash of the next free slot, the bulk
   * queue's next come-back time and a slow-down after Twilio's 14107. Named by a keyed hash: no number.
   */
  pace(sender: string): string {
    return `${this.prefix}:pace:{${this.naming.hash('sender', sender)}}`;
  }

  /** What an outbound call we placed will run (sealed), by its CallSid's keyed hash, until it ends. */
  outboundCall(callSid: string): string {
    return `${this.prefix}:ocall:{${this.naming.hash('outbound-call', callSid)}}`;
  }

  /** Sandbox mode: what would have been sent to one address. */
  sandboxOutbox(to: string): string {
    return `${this.prefix}:sandbox:outbox:${to}`;
  }

  /**
   * The SID of a WhatsApp content resource (buttons or a list) Twilio created for one account, by a keyed
   * hash of the account and what the resource shows (see `ContentSidStore`).
   */
  contentSid(accountSid: string, content: string): string {
    return `${this.prefix}:content:${this.naming.hash('content', accountSid, content)}`;
  }

  // --- sign-in links (see `RedisSignInStore`) ---

  /**
   * A sign-in session's id: the keyed hash of its link code, so the link's code finds its session and the
   * id (kept in the dialog state, named in the `signin` event) gives the code to no one.
   */
  signInSessionId(code: string): string {
    return this.naming.hash('sign-in', code);
  }

  /** A sign-in session (a hash: its status, deadlines, hashes and sealed values), tagged by its id. */
  signInSession(session: string): string {
    return `${this.prefix}:si:{${session}}`;
  }

  /** Which session a provider round trip's `state` belongs to, by the state's keyed hash (never the state). */
  signInState(stateHash: string): string {
    return `${this.prefix}:sis:{${stateHash}}`;
  }

  /** A keyed hash of one of a sign-in's secrets (the state, the browser key, the binding code). */
  signInHash(kind: 'state' | 'browser' | 'binding', ...parts: string[]): string {
    return this.naming.hash(`sign-in-${kind}`, ...parts);
  }

  /** A SCAN pattern matching every sign-in session (`signInSession`). */
  everySignInSession(): string {
    return `${this.prefix}:si:{*`;
  }

  /** A SCAN pattern matching every sign-in state pointer (`signInState`). */
  everySignInState(): string {
    return `${this.prefix}:sis:{*`;
  }

  /** BullMQ prefix of a conversation queue shard (with its own hash tag). */
  conversationQueuePrefix(shard: number): string {
    return `${this.prefix}:{conv${shard}}`;
  }

  /**
   * A conversation queue shard's kicks (`src/store/kick-queue.ts`): `due` (sorted set, conversation id scored
   * by when it may be taken, or its lease's end while a worker drains it), `state` (hash, conversation id to
   * `q` or its holder's token) and `wake` (list of tokens blocked workers wait on). One hash tag: one slot.
   */
  kicks(shard: number, part: 'due' | 'state' | 'wake'): string {
    return `${this.conversationQueuePrefix(shard)}:kicks:${part}`;
  }

  /** BullMQ prefix of a send queue shard. */
  sendQueuePrefix(shard: number): string {
    return `${this.prefix}:{send${shard}}`;
  }
}

/** BullMQ's lock key of a job (its own key builder's job key, plus the suffix its scripts use). */
export function bullmqJobLock(jobKey: string): string {
  return `${jobKey}:lock`;
}

/** A BullMQ queue's own key (`wait`, `active`, `delayed`…), as BullMQ names it under a queue prefix. */
export function bullmqQueueKey(queuePrefix: string, queue: string, part: string): string {
  return `${queuePrefix}:${queue}:${part}`;
}
