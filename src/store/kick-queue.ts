// The conversation queue: "conversation X has work" kicks, one per conversation, taken under a lease.
import type { Connection } from './connections.js';
import type { Keys } from './keys.js';
import { Script } from './scripts.js';

/*
 * Per shard, three keys on one slot (`Keys.kicks`):
 *   due   — sorted set: a conversation with work, scored by when it may be taken (ms); while a worker
 *           drains it, by the end of that worker's lease, so a worker that dies lets it come due again;
 *   state — hash: `q` (queued, not taken) or the token of the take that holds it, with `+` appended when
 *           it was kicked again meanwhile (that kick is kept for after the holder finishes);
 *   wake  — list of wake-up tokens, one per conversation waiting; idle workers block on it (BLPOP).
 * A conversation is in `due` exactly when it is in `state`.
 */

/**
 * KEYS: due, state, wake. ARGV: cid, now (ms), token ('' for none), lease (ms). Queues the conversation
 * (1), or marks its holder to look again when it is held (0; also when already queued). With a token, a
 * conversation neither queued nor held is taken at once instead, held by the token until now + lease (2):
 * the kicking process drains it itself, with no wake-up and no take of a worker's. The same kick sent
 * again (a client resends what it had sent when its connection dropped) finds its own take: taken (2).
 * A kick with a token that finds the conversation held answers with the holder's token (marked as above).
 */
const KICK = new Script<[string, string, string, string, number, string, number], number | string>(
  3,
  `
local s = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[3] ~= '' and (s == ARGV[3] or s == ARGV[3] .. '+') then return 2 end
if not s then
  if ARGV[3] ~= '' then
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
    redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[4]), ARGV[1])
    return 2
  end
  redis.call('HSET', KEYS[2], ARGV[1], 'q')
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  redis.call('RPUSH', KEYS[3], '1')
  return 1
end
if s ~= 'q' and string.sub(s, -1) ~= '+' then redis.call('HSET', KEYS[2], ARGV[1], s .. '+') end
if ARGV[3] ~= '' and s ~= 'q' then return s end
return 0`,
);

/**
 * KEYS: due, state, wake. ARGV: now, lease (ms), how many at most, token. Takes the conversations due
 * (queued, or held under a lease that has ended), each now held by `token` until now + lease; trims the
 * wake list to what is still due. Returns the ids taken and the next due time ('' when nothing waits).
 */
const TAKE = new Script<[string, string, string, number, number, number, string], [string[], string]>(
  3,
  `
local now = tonumber(ARGV[1])
local cids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, cid in ipairs(cids) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), cid)
  redis.call('HSET', KEYS[2], cid, ARGV[4])
end
local left = redis.call('ZCOUNT', KEYS[1], '-inf', now)
if left == 0 then redis.call('DEL', KEYS[3]) else redis.call('LTRIM', KEYS[3], 0, left - 1) end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {cids, nxt[2] or ''}`,
);

/**
 * KEYS: due, state, wake. ARGV: cid, token, at (ms; '' = done), now (ms). The holder lets go: done, the conversation
 * leaves the queue, unless it was kicked meanwhile (then it is queued again, due now); with `at`, it is
 * queued again, due then (a retry's backoff). A token that no longer holds it (the lease ended and another
 * took it over) changes nothing. Returns 1 when queued again, 0 when gone, -1 when not held by `token`.
 */
const RELEASE = new Script<[string, string, string, string, string, string, string], number>(
  3,
  `
local s = redis.call('HGET', KEYS[2], ARGV[1])
if s ~= ARGV[2] and s ~= ARGV[2] .. '+' then return -1 end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], 'q')
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
if s == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], 'q')
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('RPUSH', KEYS[3], '1')
return 1`,
);

/** KEYS: due, state. ARGV: until (ms), then cid, token pairs: each lease still held by its token ends at `until`. */
const RENEW = new Script<[string, string, number, ...string[]], number>(
  2,
  `
local n = 0
for i = 2, #ARGV, 2 do
  local s = redis.call('HGET', KEYS[2], ARGV[i])
  if s == ARGV[i + 1] or s == ARGV[i + 1] .. '+' then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[i])
    n = n + 1
  end
end
return n`,
);

/**
 * KEYS: due, state, wake. ARGV: now, the token prefix of one worker, then the conversations it is draining.
 * Hands back what a take of that worker's gave it whose answer it never got (a connection that dropped):
 * held under its prefix and not being drained. Returns how many went back, due now.
 */
const HAND_BACK = new Script<[string, string, string, number, string, ...string[]], number>(
  3,
  `
local running = {}
for i = 3, #ARGV do running[ARGV[i]] = true end
local prefix = ARGV[2]
local entries = redis.call('HGETALL', KEYS[2])
local n = 0
for i = 1, #entries, 2 do
  local cid, s = entries[i], entries[i + 1]
  if string.sub(s, 1, #prefix) == prefix and not running[cid] then
    redis.call('HSET', KEYS[2], cid, 'q')
    redis.call('ZADD', KEYS[1], ARGV[1], cid)
    redis.call('RPUSH', KEYS[3], '1')
    n = n + 1
  end
end
return n`,
);

/** The SHAs of the take and kick scripts (a test cuts the connection right after Redis ran one). */
export const TAKE_SHA = TAKE.sha;
export const KICK_SHA = KICK.sha;

/** A take's answer: the conversations now held, and when the next one waiting comes due (ms), if any. */
export interface Taken {
  cids: string[];
  nextDueAt?: number;
}

/** The Redis side of the conversation queue: a shard's kicks, takes, leases and releases, one script each. */
export class KickQueueStore {
  constructor(
    private readonly redis: Connection,
    private readonly keys: Keys,
  ) {}

  private three(shard: number): [string, string, string] {
    return [this.keys.kicks(shard, 'due'), this.keys.kicks(shard, 'state'), this.keys.kicks(shard, 'wake')];
  }

  /** Says the conversation has work (due now); true when it was not queued or held already. */
  async kick(shard: number, cid: string, now: number, redis: Connection = this.redis): Promise<boolean> {
    return (await KICK.run(redis, ...this.three(shard), cid, now, '', 0)) === 1;
  }

  /**
   * Says the conversation has work and takes it under `token` for `leaseMs` when nobody queued or holds it:
   * taken (the caller drains it and lets go, as after a take), or not: queued already (the worker that
   * takes it finds the work), or held, with the holder's token (the holder finds it).
   */
  async kickAndTake(
    shard: number,
    cid: string,
    now: number,
    token: string,
    leaseMs: number,
  ): Promise<{ taken: true } | { taken: false; heldBy?: string }> {
    const answer = await KICK.run(this.redis, ...this.three(shard), cid, now, token, leaseMs);
    if (answer === 2) return { taken: true };
    return typeof answer === 'string' ? { taken: false, heldBy: answer } : { taken: false };
  }

  async take(shard: number, now: number, leaseMs: number, max: number, token: string): Promise<Taken> {
    const [cids, next] = await TAKE.run(this.redis, ...this.three(shard), now, leaseMs, max, token);
    return { cids, ...(next !== '' ? { nextDueAt: Number(next) } : {}) };
  }

  /** Done with it; `retryAt` (ms) queues it again for then. See RELEASE. */
  async release(
    shard: number,
    cid: string,
    token: string,
    now: number,
    retryAt?: number,
  ): Promise<'queued' | 'done' | 'lost'> {
    const answer = await RELEASE.run(
      this.redis,
      ...this.three(shard),
      cid,
      token,
      retryAt === undefined ? '' : String(retryAt),
      String(now),
    );
    return answer === 1 ? 'queued' : answer === 0 ? 'done' : 'lost';
  }

  /** Extends the leases still held by their tokens to `until` (ms). */
  async renew(shard: number, until: number, held: [cid: string, token: string][]): Promise<void> {
    if (held.length === 0) return;
    const [due, state] = this.three(shard);
    await RENEW.run(this.redis, due, state, until, ...held.flat());
  }

  /** See HAND_BACK: what takes under `prefix` gave that is not among the conversations `running`. */
  async handBack(shard: number, now: number, prefix: string, running: string[]): Promise<number> {
    return HAND_BACK.run(this.redis, ...this.three(shard), now, prefix, ...running);
  }

  /** One more wake-up token: a worker blocked on the shard looks again (a retry that came due). */
  async nudge(shard: number): Promise<void> {
    await this.redis.rpush(this.keys.kicks(shard, 'wake'), '1');
  }

  /** Blocks (on a connection of its own) until a wake-up token or `timeoutMs`; true when woken. */
  async waitForWork(blocking: Connection, shard: number, timeoutMs: number): Promise<boolean> {
    const answer = await blocking.blpop(this.keys.kicks(shard, 'wake'), Math.max(0.01, timeoutMs / 1000));
    return answer !== null;
  }

  /** Conversations queued or held, and how long the one due longest ago has been waiting (ms; 0 when none). */
  async depth(shard: number, now: number): Promise<{ count: number; oldestWaitingMs: number }> {
    const due = this.keys.kicks(shard, 'due');
    const [count, oldest] = await Promise.all([
      this.redis.zcard(due),
      this.redis.zrangebyscore(due, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1),
    ]);
    return { count, oldestWaitingMs: oldest[1] !== undefined ? Math.max(0, now - Number(oldest[1])) : 0 };
  }
}
