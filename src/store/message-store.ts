// Proactive messages (POST /v1/messages): their records and statuses, their place in the recipient's
// outbox, and what the API reads of the recipient first (opt-out, when they last wrote).
import type { Channel } from '../core/events.js';
import type { DataCipher } from './cipher.js';
import type { Connection } from './connections.js';
import type { OutboxItem } from './conversation-store.js';
import { LAST_INBOUND_TTL, MAILBOX_TTL, type Keys } from './keys.js';
import { places } from './places.js';
import { Script } from './scripts.js';

/** How long a message's record is kept (seconds): past Twilio's last status callback. */
export const MESSAGE_RECORD_TTL = 30 * 86_400;

/** A message's statuses in the order they may follow one another; `failed` ends it. */
export const MESSAGE_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface MessageRecord {
  id: string;
  workspace: string;
  botId: string;
  channel: Channel;
  /** The recipient's conversation (an opaque id: the record names no phone number). */
  cid: string;
  status: MessageStatus;
  /** Twilio's error code of a failed message. */
  errorCode: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Write the record unless it exists (a retried request finds its own). KEYS: record. ARGV: ttl, field, value… */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`;

/**
 * Put a message at the tail of its conversation's outbox once (by its id). KEYS: mark, outbox.
 * ARGV: markTtl, item, outboxTtl
 */
const ENQUEUE = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1`;

/**
 * Move a message's status forward (callbacks arrive out of order: `delivered` before `sent` is kept):
 * returns the record when it changed, else false. KEYS: record. ARGV: status, rank, errorCode, at
 */
const ADVANCE = `
local rank = tonumber(redis.call('HGET', KEYS[1], 'r'))
if not rank or tonumber(ARGV[2]) <= rank then return false end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'r', ARGV[2], 'u', ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'e', ARGV[3]) end
return redis.call('HGETALL', KEYS[1])`;

const scripts = {
  create: new Script<[record: string, ttl: number, ...fields: string[]], number>(1, CREATE),
  enqueue: new Script<
    [mark: string, outbox: string, markTtl: number, item: string, outboxTtl: number],
    number
  >(2, ENQUEUE),
  advance: new Script<
    [record: string, status: string, rank: number, errorCode: string, at: number],
    string[] | null
  >(1, ADVANCE),
};

const rankOf = (status: MessageStatus) => MESSAGE_STATUSES.indexOf(status);

function recordOf(id: string, flat: string[] | Record<string, string>): MessageRecord | undefined {
  const h: Record<string, string> = {};
  if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  else Object.assign(h, flat);
  if (!h.w || !h.c || !h.s) return undefined;
  return {
    id,
    workspace: h.w,
    botId: h.b ?? '',
    channel: h.ch as Channel,
    cid: h.c,
    status: h.s as MessageStatus,
    errorCode: h.e ?? null,
    createdAt: Number(h.ca),
    updatedAt: Number(h.u),
  };
}

export class MessageStore {
  constructor(
    private readonly redis: Connection,
    readonly keys: Keys,
    private readonly cipher: DataCipher,
  ) {}

  /** Whether the recipient opted out of the bot, and when they last wrote to it (ms), in one round trip. */
  async recipient(cid: string): Promise<{ optedOut: boolean; lastInbound: number | undefined }> {
    const replies = (await this.redis
      .pipeline()
      .exists(this.keys.optOut(cid))
      .zscore(this.keys.lastInbound(cid).key, this.keys.lastInbound(cid).member)
      .get(this.keys.legacyLastInbound(cid))
      .exec()) as [Error | null, unknown][];
    for (const [error] of replies) if (error) throw error;
    // Scored by when it stops saying anything: the time itself is that much earlier. An earlier version's
    // plain time (its key lives a day) counts until then.
    const kept = replies[1]![1] as string | null;
    const legacy = replies[2]![1] as string | null;
    const times = [kept === null ? NaN : Number(kept) - LAST_INBOUND_TTL * 1000, Number(legacy ?? NaN)];
    const last = Math.max(...times.filter(Number.isFinite));
    return { optedOut: Number(replies[0]![1]) === 1, lastInbound: Number.isFinite(last) ? last : undefined };
  }

  /** Records a new message as queued (a retry of the same message leaves its record as it is). */
  async create(record: Omit<MessageRecord, 'status' | 'errorCode' | 'updatedAt'>): Promise<void> {
    await scripts.create.run(
      this.redis,
      this.keys.message(record.id),
      MESSAGE_RECORD_TTL,
      ...['w', record.workspace, 'b', record.botId, 'ch', record.channel, 'c', record.cid],
      ...[
        's',
        'queued',
        'r',
        String(rankOf('queued')),
        'ca',
        String(record.createdAt),
        'u',
        String(record.createdAt),
      ],
    );
  }

  /** Queues the message at the tail of its conversation's outbox (sealed), once. */
  async enqueue(item: OutboxItem & { message: string }): Promise<boolean> {
    const sealed = this.cipher.seal(JSON.stringify(item), places.conversation(item.cid, 'outbox'));
    const added = await scripts.enqueue.run(
      this.redis,
      this.keys.queued(item.cid, item.message),
      this.keys.outbox(item.cid),
      MESSAGE_RECORD_TTL,
      sealed,
      MAILBOX_TTL,
    );
    return added === 1;
  }

  async get(id: string): Promise<MessageRecord | undefined> {
    const flat = await this.redis.hgetall(this.keys.message(id));
    return recordOf(id, flat);
  }

  /** Moves the status forward; the record when it changed (to report), else undefined. */
  async advance(
    id: string,
    status: MessageStatus,
    at: number,
    errorCode?: string,
  ): Promise<MessageRecord | undefined> {
    const flat = await scripts.advance.run(
      this.redis,
      this.keys.message(id),
      status,
      rankOf(status),
      errorCode ?? '',
      at,
    );
    return flat ? recordOf(id, flat) : undefined;
  }
}

/** A Twilio message status as one of ours (`undelivered` is a failure; `accepted`, `sending` are still queued). */
export function messageStatusOf(twilioStatus: string): MessageStatus | undefined {
  switch (twilioStatus) {
    case 'sent':
    case 'delivered':
    case 'read':
    case 'failed':
      return twilioStatus;
    case 'undelivered':
      return 'failed';
    default:
      return undefined;
  }
}
