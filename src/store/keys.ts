// Every Redis key name Switchboard uses, in one place.
import { createHash } from 'node:crypto';
import type { KeyNaming } from './key-naming.js';

/** Seconds a provider id is remembered for deduplication (Twilio retries within hours, not days). */
export const SEEN_TTL = 86_400;
/** Seconds an unhandled inbox or outbox lives without activity: far beyond any retry schedule. */
export const MAILBOX_TTL = 86_400;
/** Seconds a voice turn's rendered answer is kept for the webhook (and its redirects) to pick up. */
export const TURN_RESULT_TTL = 300;

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
 * the scripts that touch several of them run on one node; the queues carry their own tags.
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

  private conv(cid: string): string {
    return `${this.prefix}:c:{${cid}}`;
  }

  /** The conversation's inbound events, oldest first (sealed). */
  inbox(cid: string): string {
    return `${this.conv(cid)}:in`;
  }

  /** The dialog state (sealed). */
  state(cid: string): string {
    return `${this.conv(cid)}:state`;
  }

  /** A provider id already accepted for this conversation. */
  seen(cid: string, providerId: string): string {
    return `${this.conv(cid)}:seen:${providerId}`;
  }

  /** Replies waiting to be sent through Twilio's REST API, in order. */
  outbox(cid: string): string {
    return `${this.conv(cid)}:out`;
  }

  /** Failed attempts per inbound event id and per reply id. */
  attempts(cid: string): string {
    return `${this.conv(cid)}:att`;
  }

  /** Set while the channel identity has opted out of this bot (kept until it opts back in). */
  optOut(cid: string): string {
    return `${this.conv(cid)}:optout`;
  }

  /** Messages counted in the current minute, for the per-identity rate limit. */
  rate(cid: string, minute: number): string {
    return `${this.conv(cid)}:rate:${minute}`;
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

  /** Sandbox mode: what would have been sent to one address. */
  sandboxOutbox(to: string): string {
    return `${this.prefix}:sandbox:outbox:${to}`;
  }

  /** BullMQ prefix of a conversation queue shard (with its own hash tag). */
  conversationQueuePrefix(shard: number): string {
    return `${this.prefix}:{conv${shard}}`;
  }

  /** BullMQ prefix of a send queue shard. */
  sendQueuePrefix(shard: number): string {
    return `${this.prefix}:{send${shard}}`;
  }
}
