// Keywords on each channel: STOP (and OptOutType) silences all but HELP until START, HELP, MENU/RESET, and * on voice.
// The per-channel lists, CANCEL and Advanced Opt-Out are in test/integration/opt-out/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMBERS } from '../../support/config.js';
import { botOn, gather, say, startDialogHarness, twiml, type DialogHarness } from './helpers.js';

const HELP = 'Desk help: reply MENU to start over, STOP to opt out.';
const OPTED_IN = 'You are subscribed again. Reply HELP for help.';
const OPTED_OUT = "You won't get more messages. Reply START to come back.";
const NO_RESTART_VOICE = '+15005550011';

const FLOWS = `    flows:
      main:
        - say: "Welcome to the desk."
        - ask: { prompt: "Reply 1 for hours or 2 for prices.", save: pick, keypad: true, digits: 1 }
        - switch: { value: "{{pick}}", cases: { "1": hours, "2": prices } }
      hours:
        - ask: { prompt: "Which day?", save: day }
        - end: "We are open on {{day}}."
      prices:
        - end: "Everything costs one dollar."`;

const BOTS = [
  botOn('desk', `    help: "${HELP}"\n${FLOWS}`, NUMBERS),
  botOn('desk-no-restart', `    voice: { restartKey: "" }\n${FLOWS}`, { voice: NO_RESTART_VOICE }),
].join('\n');

const MAIN = ['Welcome to the desk.', 'Reply 1 for hours or 2 for prices.'];

let h: DialogHarness;
beforeAll(async () => {
  h = await startDialogHarness({ bots: BOTS, label: 'keywords' });
});
afterAll(async () => {
  await h?.close();
});

describe.each(['sms', 'whatsapp'] as const)('%s', (channel) => {
  const chat = () => (channel === 'sms' ? h.sms() : h.whatsapp());

  it('STOP ends the conversation and confirms; only HELP is answered until START, which opts back in', async () => {
    const c = chat();
    expect(await c.send('hi')).toEqual(MAIN);
    expect(await c.send('STOP')).toEqual([OPTED_OUT]);
    expect(await h.redis.exists(h.keys.state(h.cid('desk', c.identity)))).toBe(0);
    expect(await c.send('hello?')).toEqual([]);
    expect(await c.send('1')).toEqual([]);
    expect(await c.send('HELP')).toEqual([HELP]);
    expect(await c.send('MENU')).toEqual([]);
    expect(await c.send('start')).toEqual([OPTED_IN]);
    expect(await c.send('hi')).toEqual(MAIN);
    expect(h.twilio.messagesTo(c.address).map((m) => m.body)).toEqual([
      ...MAIN,
      OPTED_OUT,
      HELP,
      OPTED_IN,
      ...MAIN,
    ]);
  });

  const words =
    channel === 'sms'
      ? ['stopall', 'Unsubscribe', 'CANCEL', 'end', 'Quit', ' stop ']
      : ['Unsubscribe', ' stop '];
  const optIn = channel === 'sms' ? 'unstop' : 'Start';
  it.each(words)(`"%s" opts out too; ${optIn} opts back in`, async (word) => {
    const c = chat();
    expect(await c.send(word)).toEqual([OPTED_OUT]);
    expect(await c.send('hi')).toEqual([]);
    expect(await c.send(optIn)).toEqual([OPTED_IN]);
  });

  it('HELP says the bot help text and repeats the pending question, which is still answered next', async () => {
    const c = chat();
    expect(await c.send('help')).toEqual([HELP]);
    await c.send('hi');
    expect(await c.send('1')).toEqual(['Which day?']);
    expect(await c.send('HELP')).toEqual([HELP, 'Which day?']);
    expect(await c.send('Info')).toEqual([HELP, 'Which day?']);
    expect(await c.send('Monday')).toEqual(['We are open on Monday.']);
  });

  it('MENU and RESET start over at main, forgetting where the conversation was', async () => {
    const c = chat();
    await c.send('hi');
    expect(await c.send('1')).toEqual(['Which day?']);
    expect(await c.send('menu')).toEqual(MAIN);
    expect(await c.send('2')).toEqual(['Everything costs one dollar.']);
    await c.send('hi');
    await c.send('1');
    expect(await c.send('RESET')).toEqual(MAIN);
    expect(await c.send('1')).toEqual(['Which day?']);
  });

  it('a keyword inside a longer message is an answer, not a command', async () => {
    const c = chat();
    await c.send('hi');
    await c.send('1');
    expect(await c.send('stop by on Monday')).toEqual(['We are open on stop by on Monday.']);
  });
});

describe("Twilio's OptOutType (SMS)", () => {
  it('OptOutType=STOP opts out whatever the words, OptOutType=HELP is help, OptOutType=START opts in', async () => {
    const c = h.sms();
    expect(await c.send('hi')).toEqual(MAIN);
    expect(await c.send('AIDE', { OptOutType: 'HELP' })).toEqual([
      HELP,
      'Reply 1 for hours or 2 for prices.',
    ]);
    expect(await c.send('ARRET', { OptOutType: 'STOP' })).toEqual([OPTED_OUT]);
    expect(await c.send('hello?')).toEqual([]);
    expect(await c.send('REPRENDRE', { OptOutType: 'START' })).toEqual([OPTED_IN]);
    expect(await c.send('hi')).toEqual(MAIN);
  });
});

describe('voice', () => {
  const MAIN_AT = (turn: number) =>
    twiml(
      say('Welcome to the desk.'),
      gather(turn, 'Reply 1 for hours or 2 for prices.', { keypad: true, digits: 1 }),
    );

  it('* at any prompt starts over at main', async () => {
    const c = h.call();
    expect(await c.start()).toBe(MAIN_AT(1));
    expect(await c.press('*')).toBe(MAIN_AT(2));
    expect(await c.press('1')).toBe(twiml(gather(3, 'Which day?', { keypad: false })));
    expect(await c.press('*')).toBe(MAIN_AT(4));
    expect(await c.press('2')).toBe(twiml(say('Everything costs one dollar.'), '<Hangup/>'));
  });

  it('with restartKey "" the star key is an ordinary answer', async () => {
    const c = h.call(undefined, NO_RESTART_VOICE);
    await c.start();
    await c.press('1');
    expect(await c.press('*')).toBe(twiml(say('We are open on *.'), '<Hangup/>'));
  });
});
