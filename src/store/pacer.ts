// Send pacing per sender number, shared by every worker process: one Lua script call per send.
import type { Connection } from './connections.js';
import type { Keys } from './keys.js';
import { Script } from './scripts.js';

/**
 * A GCRA-like schedule held in one hash per sender, timed by Redis's own clock (`TIME`), so every worker
 * process and host agrees on it:
 *
 * - `t`: the next free slot (ms). A send takes the slot (`max(t, now)`) and moves `t` one interval on,
 *   so sends are at least an interval apart by Redis's clock.
 * - A **reply** (someone is talking to the bot) always reserves the next slot, and may go up to
 *   `aheadMs` before it (Twilio queues what it accepts at the sender's rate, so a short run of replies
 *   costs nothing); beyond that it waits for its slot.
 * - A **bulk** send reserves a slot only when it is free now or within the horizon (an interval, at most
 *   500 ms), and then waits for it in its job. Otherwise it reserves nothing: it is told when to come
 *   back, and `b` (the bulk line) spreads the come-backs one interval apart, half a horizon before each
 *   slot (so a job promoted from BullMQ's delayed set a little late still finds its slot). A backlog of
 *   10,000 therefore wakes one job per slot, holds at most the next slot, and never the slots a reply
 *   needs. A job that finds its slot taken (a reply took it) goes to the end of the line.
 * - `s` and `u`: after Twilio's 14107 (the sender's rate exceeded), the interval is multiplied by `s`
 *   until `u`.
 *
 * Returns `{wait, reserved}`: the milliseconds to wait, and whether a slot is reserved at the end of the
 * wait (send then) or not (come back then and ask again).
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
local horizon = math.min(interval, 500)
local wait = 0
local reserved = 1
if bulk and tat - now > horizon then
  if line < tat then line = tat end
  wait = line - now - horizon / 2
  line = line + interval
  reserved = 0
else
  local slot = math.max(tat, now)
  if bulk then wait = slot - now else wait = math.max(0, slot - now - ahead) end
  tat = slot + interval
end
redis.call('HSET', key, 't', tat, 'b', line)
redis.call('PEXPIRE', key, math.ceil(math.max(tat, line, slowUntil) - now) + 60000)
return {math.ceil(wait), reserved}
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
   * Takes a slot for one send from `sender` at `intervalMs` between sends: how long to wait, and whether
   * to send then (`reserved`) or ask again then. `aheadMs`: how far ahead of its slot a reply may go.
   */
  async take(
    sender: string,
    intervalMs: number,
    kind: SendKind,
    aheadMs: number,
  ): Promise<{ waitMs: number; reserved: boolean }> {
    const [wait, reserved] = await scripts.take.run(
      this.redis,
      this.keys.pace(sender),
      intervalMs,
      kind === 'bulk' ? '1' : '0',
      aheadMs,
    );
    return { waitMs: Math.max(0, Number(wait)), reserved: Number(reserved) === 1 };
  }

  /**
   * Twilio said the sender sends too fast (14107): its interval is multiplied by `factor` (compounding,
   * at most 64 times) for `forMs`, and its next slot is pushed one slowed interval on. Returns the factor.
   */
  async slowDown(sender: string, intervalMs: number, factor = 2, forMs = 60_000): Promise<number> {
    return Number(await scripts.slow.run(this.redis, this.keys.pace(sender), intervalMs, factor, forMs));
  }
}
