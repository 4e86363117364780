// What a turn reads, and in what order, seen by Redis itself (MONITOR): a message's turn asks for its user
// (the engine's, for a conversation's start, and its history's) before its rate counter's hit, so the two
// travel together, and reads it once; a turn handed over by its webhook's kick in this process does not
// read the conversation's head when the accept queued nothing before it (the accept's answer says it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../../src/core/events.js';
import { manualClock } from '../../support/clock.js';
import { ACCOUNT_SID } from '../../support/config.js';
import { monitorRedis, type RedisMonitor } from '../../support/redis-monitor.js';
import { newSid } from '../../support/webhooks.js';
import { botOn, NUMBERS, startDialogHarness, type DialogHarness } from '../dialog/helpers.js';

const DESK = botOn(
  'desk',
  `    sessionTimeout: 600
    flows:
      main:
        - ask: { prompt: "Your name?", save: name }
        - ask: { prompt: "Your city, {{name}}?", save: city }
        - end: "Thanks."`,
  { sms: NUMBERS.sms },
);
const LINE = botOn(
  'line',
  `    flows:
      main:
        - ask: { prompt: "Your four digit code?", save: code, keypad: true, digits: 4 }
        - end: "Thanks."`,
  { voice: NUMBERS.voice },
);

const clock = manualClock();
let h: DialogHarness;
let monitor: RedisMonitor;
/** What the monitor is recording into, and the command that ends the recording. */
let recording: { commands: string[]; last: (command: string) => boolean; done: () => void } | undefined;

beforeAll(async () => {
  h = await startDialogHarness({ bots: `${DESK}\n${LINE}`, label: 'turn-reads', clock });
  monitor = await monitorRedis(h.processEnv.REDIS_URL!, ({ args, source }) => {
    if (!recording || source === 'lua') return;
    const command = args[0]!.toLowerCase();
    // EVALSHA sha numkeys key…: its first key names it.
    const key = command === 'evalsha' ? args[3] : args[1];
    if (!key?.startsWith(h.prefix)) return;
    const named = `${command} ${key.slice(h.prefix.length + 1)}`;
    recording.commands.push(named);
    if (recording.last(named)) recording.done();
  });
}, 60_000);
afterAll(async () => {
  monitor?.close();
  await h?.close();
});

/**
 * The commands Redis ran for one message (not those scripts run inside), as `command key`, in the order
 * it ran them, up to the one `last` names.
 */
async function commandsOf(
  send: () => Promise<string[]>,
  last: (command: string) => boolean,
): Promise<{ replies: string[]; commands: string[] }> {
  const commands: string[] = [];
  const ended = new Promise<void>((done) => (recording = { commands, last, done }));
  const replies = await send();
  await ended;
  recording = undefined;
  return { replies, commands };
}

const isUserRead = (c: string) => c.startsWith('hmget i:{');
const isRateHit = (c: string) => /^evalsha c:\{[^}]+\}:hits:\d+$/.test(c);
const isHistory = (c: string) => /^evalsha i:\{[^}]+\}:hist$/.test(c);
/** The head's read (HEAD) and the commit are the scripts that name the conversation's inbox first. */
const isInbox = (c: string) => /^evalsha c:\{[^}]+\}(\.[^:]+)?:in$/.test(c);
/** The conversation queue's release (or a kick): the shard's due set is its first key. */
const isQueue = (c: string) => /^evalsha \{conv\d+\}:kicks:due$/.test(c);
/**
 * Until the release after the `n`th history write (a turn's last write of its user, after its commit):
 * the drain is over, so the next message's kick finds the conversation free.
 */
const drainedAfter = (n: number) => {
  let histories = 0;
  return (c: string) => (isHistory(c) ? (++histories, false) : histories === n && isQueue(c));
};

describe('a turn’s reads', () => {
  it('a message: its user asked for before the rate counter’s hit and read once, its head not read (the accept told it)', async () => {
    const ana = h.sms('+12025550161');
    for (const [text, reply] of [
      ['hello', 'Your name?'],
      ['Ana', 'Your city, Ana?'],
    ]) {
      clock.advance(1000);
      const turn = await commandsOf(() => ana.send(text!), drainedAfter(1));
      expect(turn.replies).toEqual([reply]);
      const userRead = turn.commands.findIndex(isUserRead);
      expect(userRead).toBeGreaterThanOrEqual(0);
      expect(userRead).toBeLessThan(turn.commands.findIndex(isRateHit));
      expect(turn.commands.filter(isUserRead)).toHaveLength(1);
      // The accept (its first key is the dedupe set) said what the head's read would: only the commit.
      expect(turn.commands.filter(isInbox)).toHaveLength(1);
    }
  });

  it('a call’s turn, kicked in this process: the caller read once, before the commit, and no read of the head', async () => {
    const call = h.call('+12025550162');
    const turn = await commandsOf(async () => [await call.start()], drainedAfter(1));
    expect(turn.replies[0]).toContain('Your four digit code?');
    const userRead = turn.commands.findIndex(isUserRead);
    expect(userRead).toBeGreaterThanOrEqual(0);
    expect(userRead).toBeLessThan(turn.commands.findIndex(isInbox));
    expect(turn.commands.filter(isUserRead)).toHaveLength(1);
    expect(turn.commands.filter(isInbox)).toHaveLength(1);
  });

  it('an event queued behind another: the worker reads the head, and the older turn runs first', async () => {
    const bo = h.sms('+12025550163');
    clock.advance(1000);
    const older: InboundEvent = {
      id: newSid(),
      kind: 'message',
      botId: 'desk',
      channel: 'sms',
      identity: bo.identity,
      from: bo.from,
      to: NUMBERS.sms,
      provider: { accountSid: ACCOUNT_SID },
      text: 'Bo',
      receivedAt: clock.now(),
    };
    // Queued with no kick, as a webhook whose kick has not gone out yet leaves it.
    expect(await h.store.accept(h.cid('desk', bo.identity), older)).toBe(true);
    const turns = await commandsOf(async () => {
      expect((await bo.post('Paris')).status).toBe(200);
      const replies = await h.twilio.waitForMessages(bo.address, 2);
      return replies.map((m) => m.body ?? '');
    }, drainedAfter(2));
    expect(turns.replies).toEqual(['Your name?', 'Your city, Paris?']);
    // The head's read, the older turn's commit, the newer turn's commit.
    expect(turns.commands.filter(isInbox)).toHaveLength(3);
  });
});
