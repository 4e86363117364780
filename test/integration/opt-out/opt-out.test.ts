// Opt-out per channel: SMS follows Twilio's list (and stays quiet where Twilio's Advanced Opt-Out speaks),
// WhatsApp opts out on STOP and UNSUBSCRIBE and confirms, CANCEL cancels a pending question, HELP after an
// opt-out is answered, START resumes. Real Redis, the fake Twilio API, signed webhooks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog/text.js';
import { NUMBERS } from '../../support/config.js';
import { botOn, gather, say, startDialogHarness, twiml, type DialogHarness } from '../dialog/helpers.js';

const HELP = 'Desk help: reply MENU to start over, STOP to opt out.';
const OPTED_OUT = "You won't get more messages. Reply START to come back.";
const OPTED_IN = 'You are subscribed again. Reply HELP for help.';
const CANCELLED = 'OK, cancelled. Reply MENU to start over.';
/** SMS numbers of the bots that declare what Twilio does for them. */
const ADVANCED = '+15005550021';
const HELP_TOO = '+15005550022';
const CANCEL_DECLARED = '+15005550023';

const FLOWS = `    help: "${HELP}"
    flows:
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
  botOn('desk', FLOWS, NUMBERS),
  botOn(
    'desk-aoo',
    `    keywords: { sms: { advancedOptOut: { confirms: true, answersHelp: false } } }\n${FLOWS}`,
    {
      sms: ADVANCED,
    },
  ),
  botOn('desk-aoo-help', `    keywords: { sms: { advancedOptOut: true } }\n${FLOWS}`, { sms: HELP_TOO }),
  botOn('desk-cancel', `    keywords: { sms: { cancel: [CANCEL] } }\n${FLOWS}`, { sms: CANCEL_DECLARED }),
].join('\n');

const MAIN = ['Welcome to the desk.', 'Reply 1 for hours or 2 for prices.'];

let h: DialogHarness;
beforeAll(async () => {
  h = await startDialogHarness({ bots: BOTS, label: 'opt-out' });
});
afterAll(async () => {
  await h?.close();
});

const optOutKey = (bot: string, identity: string) => h.keys.optOut(h.cid(bot, identity));

it('the texts are the engine defaults', () => {
  expect([TEXT.optedOut, TEXT.cancelled, TEXT.optedIn]).toEqual([OPTED_OUT, CANCELLED, OPTED_IN]);
});

describe('WhatsApp', () => {
  it('"cancel" while a question is pending cancels it and does not opt out: the next message is answered', async () => {
    const c = h.whatsapp();
    expect(await c.send('hi')).toEqual(MAIN);
    expect(await c.send('1')).toEqual(['Which day?']);
    expect(await c.send('cancel')).toEqual([CANCELLED]);
    expect(await h.redis.exists(optOutKey('desk', c.identity))).toBe(0);
    expect(await h.redis.exists(h.keys.state(h.cid('desk', c.identity)))).toBe(0);
    expect(await c.send('menu')).toEqual(MAIN);
    expect(await c.send('2')).toEqual(['Everything costs one dollar.']);
  });

  it('STOP opts out with the confirmation; then only HELP is answered; START resumes', async () => {
    const c = h.whatsapp();
    expect(await c.send('hi')).toEqual(MAIN);
    expect(await c.send('STOP')).toEqual([OPTED_OUT]);
    expect(await h.redis.get(optOutKey('desk', c.identity))).toBe('1');
    expect(await c.send('hello?')).toEqual([]);
    expect(await c.send('MENU')).toEqual([]);
    expect(await c.send('help')).toEqual([HELP]);
    expect(await c.send('START')).toEqual([OPTED_IN]);
    expect(await h.redis.exists(optOutKey('desk', c.identity))).toBe(0);
    expect(await c.send('hi')).toEqual(MAIN);
    expect(h.twilio.messagesTo(c.address).map((m) => m.body)).toEqual([
      ...MAIN,
      OPTED_OUT,
      HELP,
      OPTED_IN,
      ...MAIN,
    ]);
  });

  it.each(['END', 'quit', 'STOPALL', 'Yes'])('"%s" is an ordinary answer on WhatsApp', async (word) => {
    const c = h.whatsapp();
    await c.send('hi');
    await c.send('1');
    expect(await c.send(word)).toEqual([`We are open on ${word}.`]);
    expect(await h.redis.exists(optOutKey('desk', c.identity))).toBe(0);
  });

  it('"cancel" with no question pending is an ordinary message', async () => {
    const c = h.whatsapp();
    expect(await c.send('cancel')).toEqual(MAIN);
  });
});

describe('SMS', () => {
  it('"cancel" opts out (it is one of Twilio\'s opt-out keywords) and confirms', async () => {
    const c = h.sms();
    await c.send('hi');
    await c.send('1');
    expect(await c.send('cancel')).toEqual([OPTED_OUT]);
    expect(await h.redis.get(optOutKey('desk', c.identity))).toBe('1');
    expect(await c.send('Monday')).toEqual([]);
  });

  it('with the declaration that CANCEL is not an opt-out word at Twilio, "cancel" cancels the question', async () => {
    const c = h.sms(undefined, CANCEL_DECLARED);
    expect(await c.send('hi')).toEqual(MAIN);
    expect(await c.send('1')).toEqual(['Which day?']);
    expect(await c.send('CANCEL')).toEqual([CANCELLED]);
    expect(await h.redis.exists(optOutKey('desk-cancel', c.identity))).toBe(0);
    expect(await c.send('hi')).toEqual(MAIN);
    // Twilio saying it opted the number out wins: Switchboard's state agrees with Twilio's.
    expect(await c.send('cancel', { OptOutType: 'STOP' })).toEqual([OPTED_OUT]);
    expect(await h.redis.get(optOutKey('desk-cancel', c.identity))).toBe('1');
  });

  it('STOP, END and QUIT opt out with a confirmation when Advanced Opt-Out is not declared', async () => {
    for (const word of ['STOP', 'end', 'Quit']) {
      const c = h.sms();
      expect(await c.send(word)).toEqual([OPTED_OUT]);
      expect(h.twilio.messagesTo(c.address).map((m) => m.body)).toEqual([OPTED_OUT]);
      expect(await h.redis.get(optOutKey('desk', c.identity))).toBe('1');
    }
  });

  it('STOP opts out with no second confirmation when Advanced Opt-Out confirms; HELP is still answered', async () => {
    const c = h.sms(undefined, ADVANCED);
    expect(await c.send('hi')).toEqual(MAIN);
    expect(await c.send('STOP', { OptOutType: 'STOP' })).toEqual([]);
    expect(await h.redis.get(optOutKey('desk-aoo', c.identity))).toBe('1');
    expect(await c.send('1')).toEqual([]);
    expect(await c.send('HELP', { OptOutType: 'HELP' })).toEqual([HELP]);
    expect(await c.send('START', { OptOutType: 'START' })).toEqual([]);
    expect(await h.redis.exists(optOutKey('desk-aoo', c.identity))).toBe(0);
    expect(await c.send('hi')).toEqual(MAIN);
    expect(h.twilio.messagesTo(c.address).map((m) => m.body)).toEqual([...MAIN, HELP, ...MAIN]);
  });

  it('when Advanced Opt-Out answers HELP itself, HELP after opting out gets nothing from Switchboard', async () => {
    const c = h.sms(undefined, HELP_TOO);
    expect(await c.send('STOP', { OptOutType: 'STOP' })).toEqual([]);
    expect(await c.send('HELP', { OptOutType: 'HELP' })).toEqual([]);
    expect(await c.send('unstop', { OptOutType: 'START' })).toEqual([]);
    expect(await c.send('hi')).toEqual(MAIN);
    // In a conversation too, the question is asked again without a help text of Switchboard's own.
    expect(await c.send('info', { OptOutType: 'HELP' })).toEqual(['Reply 1 for hours or 2 for prices.']);
    expect(h.twilio.messagesTo(c.address).map((m) => m.body)).toEqual([
      ...MAIN,
      'Reply 1 for hours or 2 for prices.',
    ]);
  });

  it('HELP after opting out answers the help text; YES and START resume', async () => {
    const c = h.sms();
    expect(await c.send('STOP')).toEqual([OPTED_OUT]);
    expect(await c.send('Help')).toEqual([HELP]);
    expect(await c.send('INFO')).toEqual([HELP]);
    expect(await c.send('yes')).toEqual([OPTED_IN]);
    expect(await h.redis.exists(optOutKey('desk', c.identity))).toBe(0);
    expect(await c.send('hi')).toEqual(MAIN);
    // YES from an identity that has not opted out is an answer like any other.
    expect(await c.send('1')).toEqual(['Which day?']);
    expect(await c.send('yes')).toEqual(['We are open on yes.']);
  });
});

describe('voice', () => {
  const MAIN_AT = (turn: number) =>
    twiml(
      say('Welcome to the desk.'),
      gather(turn, 'Reply 1 for hours or 2 for prices.', { keypad: true, digits: 1 }),
    );

  it('saying "cancel" at a question cancels it and starts again at main; the caller is not opted out', async () => {
    const c = h.call();
    expect(await c.start()).toBe(MAIN_AT(1));
    expect(await c.press('1')).toBe(twiml(gather(2, 'Which day?', { keypad: false })));
    expect(await c.speak('Cancel.')).toBe(
      twiml(
        say("OK, cancelled. Let's start again."),
        say('Welcome to the desk.'),
        gather(3, 'Reply 1 for hours or 2 for prices.', { keypad: true, digits: 1 }),
      ),
    );
    expect(await h.redis.exists(h.keys.optOut(h.cid('desk', c.identity)))).toBe(0);
    expect(await c.press('2')).toBe(twiml(say('Everything costs one dollar.'), '<Hangup/>'));
  });
});
