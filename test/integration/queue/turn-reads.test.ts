// What a turn reads, and in what order, seen by Redis itself (MONITOR): a message's turn asks for its user
// (the engine's, for a conversation's start, and its history's) before its rate counter's hit, so the two
// travel together, and reads it once; a call's turn, handed over by its webhook's kick in this process,
// asks for the caller before it reads the conversation's head.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../support/clock.js';
import { monitorRedis, type RedisMonitor } from '../../support/redis-monitor.js';
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

describe('a turn’s reads', () => {
  it('a message asks for its user before its rate counter’s hit, and reads it once for the turn and its history', async () => {
    const ana = h.sms('+12025550161');
    const isUserRead = (c: string) => c.startsWith('hmget i:{');
    const isRateHit = (c: string) => /^evalsha c:\{[^}]+\}:hits:\d+$/.test(c);
    const isHistory = (c: string) => /^evalsha i:\{[^}]+\}:hist$/.test(c);
    for (const [text, reply] of [
      ['hello', 'Your name?'],
      ['Ana', 'Your city, Ana?'],
    ]) {
      clock.advance(1000);
      // The history's write is the turn's last read or write of the user: it is after the commit.
      const turn = await commandsOf(() => ana.send(text!), isHistory);
      expect(turn.replies).toEqual([reply]);
      const userRead = turn.commands.findIndex(isUserRead);
      expect(userRead).toBeGreaterThanOrEqual(0);
      expect(userRead).toBeLessThan(turn.commands.findIndex(isRateHit));
      expect(turn.commands.filter(isUserRead)).toHaveLength(1);
    }
  });

  it('a call’s turn, kicked in this process, asks for the caller before the head, and reads them once', async () => {
    const call = h.call('+12025550162');
    const isUserRead = (c: string) => c.startsWith('hmget i:{');
    // The head's read and the commit both name the call's inbox first; the head's comes first.
    const isInbox = (c: string) => /^evalsha c:\{[^}]+\}\.[^:]+:in$/.test(c);
    const isHistory = (c: string) => /^evalsha i:\{[^}]+\}:hist$/.test(c);
    const turn = await commandsOf(async () => [await call.start()], isHistory);
    expect(turn.replies[0]).toContain('Your four digit code?');
    const userRead = turn.commands.findIndex(isUserRead);
    expect(userRead).toBeGreaterThanOrEqual(0);
    expect(userRead).toBeLessThan(turn.commands.findIndex(isInbox));
    expect(turn.commands.filter(isUserRead)).toHaveLength(1);
  });
});
