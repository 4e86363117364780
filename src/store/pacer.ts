// Send pacing per sender number, shared by every worker process: one Lua script call per send.
import type { Connection } from './connections.js';
import type { Keys } from './keys.js';
import { Script } from './scripts.js';

/**
 * A GCRA-like schedule held in one hash per sender, timed by Redis's own clock (`TIME`), so every worker
 * process and host agrees on it:
 *
 * - `t`: the next free slot (ms). A send takes the slot and moves it one interval on.
 * - A **reply** (someone is talking to the bot) always reserves the next slot, and may go up to
 *   `aheadMs` before it (Twilio queues what it accepts at the sender's rate, so a short run of replies
 *   costs nothing); beyond that it waits for its slot.
 * - A **bulk** send only takes a slot that is free now. Otherwise it reserves nothing: it is told when to
 *   come back, and `b` (the bulk line) spreads the come-backs one interval apart, so a backlog of 10,000
 *   wakes one job per slot instead of all of them at every slot, and never holds slots a reply needs.
 *   A job that finds its slot taken when it comes back (a reply took it) goes to the end of the line.
 * - A slot taken late by less than an interval keeps the grid (`t + interval`, not `now + interval`), so
 *   the promotion delay of delayed jobs does not lower the rate; sends are then at least
 *   `interval - lateness` apart, and any window of a second holds at most one send more than the rate.
 * - `s` and `u`: after Twilio's 14107 (the sender's rate exceeded), the interval is multiplied by `s`
 *   until `u`.
 *
 * Returns `{wait, now}`: 0 to send now, otherwise the milliseconds to wait (a reply's reserved slot, or a
 * bulk send's come-back time).
 */
const TAKE = `
local key = KEYS[1]
local interval = tonumber(ARGV[1])
local bulk = ARGV[2] == '1'
local ahead = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local v = redis.call('HMGET', key, 't', 'b', 's', 'u')
local tat = tonumber(v[1]) or 0
local line = tonumber(v[2]) or 0
local slowUntil = tonumber(v[4]) or 0
if slowUntil > now then interval = interval * (tonumber(v[3]) or 1) end
local grace = math.min(25, interval / 8)
local wait = 0
if bulk then
  if tat - now <= grace then
    -- Taken late by less than an interval: keep the grid, so promotion delays do not lower the rate.
    if now - tat < interval then tat = tat + interval else tat = now + interval end
  else
    if line < tat then line = tat end
    wait = line - now
    line = line + interval
  end
else
  local slot = math.max(tat, now)
  wait = math.max(0, slot - now - ahead)
  tat = slot + interval
end
redis.call('HSET', key, 't', tat, 'b', line)
redis.call('PEXPIRE', key, math.max(tat, line, slowUntil) - now + 60000)
return {wait, now}
`;

/** After Twilio's 14107: the interval times `factor` until `until`, and the next slot one such interval on. */
const SLOW = `
local key = KEYS[1]
local interval = tonumber(ARGV[1])
local factor = tonumber(ARGV[2])
local forMs = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local v = redis.call('HMGET', key, 't', 's', 'u')
local tat = tonumber(v[1]) or 0
local slow = tonumber(v[2]) or 1
if (tonumber(v[3]) or 0) <= now then slow = 1 end
slow = math.min(slow * factor, 64)
local nextSlot = math.max(tat, now) + interval * slow
redis.call('HSET', key, 't', nextSlot, 's', slow, 'u', now + forMs)
redis.call('PEXPIRE', key, math.max(nextSlot, now + forMs) - now + 60000)
return slow
`;

const scripts = {
  take: new Script<[string, number, string, number], [number, number]>(1, TAKE),
  slow: new Script<[string, number, number, number], number>(1, SLOW),
};

/** What a send is: an answer to someone talking to the bot now, or part of an operator's bulk. */
export type SendKind = 'reply' | 'bulk';

export class SendPacer {
  constructor(
    private readonly redis: Connection,
    private readonly keys: Keys,
  ) {}

  /**
   * Takes a slot for one send from `sender` at `intervalMs` between sends; resolves with the
   * milliseconds to wait first (0: now). `aheadMs`: how far ahead of its slot a reply may go.
   */
  async take(sender: string, intervalMs: number, kind: SendKind, aheadMs: number): Promise<number> {
    const [wait] = await scripts.take.run(
      this.redis,
      this.keys.pace(sender),
      intervalMs,
      kind === 'bulk' ? '1' : '0',
      aheadMs,
    );
    return Number(wait);
  }

  /**
   * Twilio said the sender sends too fast (14107): its interval is multiplied by `factor` (compounding,
   * at most 64 times) for `forMs`, and its next slot is pushed one slowed interval on. Returns the factor.
   */
  async slowDown(sender: string, intervalMs: number, factor = 2, forMs = 60_000): Promise<number> {
    return Number(await scripts.slow.run(this.redis, this.keys.pace(sender), intervalMs, factor, forMs));
  }
}
