// Every step (say, ask, request, switch, set, profile, goto, end) as scripted conversations on SMS, WhatsApp and voice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startFakeOperatorApi, type FakeOperatorApi } from '../../fakes/operator-api.js';
import { botYaml } from '../../support/config.js';
import { gather, HANGUP, say, startDialogHarness, twiml, type DialogHarness } from './helpers.js';

/** Said after a wrong answer, before the question again (the default `retry` text). */
const RETRY = "Sorry, that doesn't look right.";

function tourBot(api: string): string {
  return botYaml(
    'tour',
    `    flows:
      main:
        - say: "Tour on {{channel}}."
        - ask: { prompt: "Pick 1 to 7.", save: pick, keypad: true, digits: 1, pattern: "^[1-7]$", retries: 1, invalid: "That is not a choice. Goodbye." }
        - switch: { value: "{{pick}}", cases: { "1": saying, "2": asking, "3": calling, "4": branching, "5": setting, "6": profiling } }
        - say: "Choice {{pick}} has no flow of its own."
        - goto: jumping
      saying:
        - say: "You picked {{pick}} on {{channel}} from {{from}}."
        - say: "Second line for {{bot}}."
        - end: "Bye."
      asking:
        - ask: { prompt: "Your four digit code?", save: code, keypad: true, digits: 4, retries: 2, invalid: "Too many wrong codes. Goodbye." }
        - ask: { prompt: "Your three digit secret?", save: hidden, secret: true, pattern: "^[0-9]{3}$" }
        - ask: { prompt: "Your town?", save: town, pattern: "^[A-Za-z ]+$", timeout: 8 }
        - end: "Code {{code}}, town {{town}}. Bye."
      calling:
        - request: { method: GET, url: "${api}/v1/accounts/{{channel}}", save: { owner: "owner.name", balance: "balances[0].amount" } }
        - end: "{{owner}} has {{balance}}."
      branching:
        - ask: { prompt: "Press 1 for yes or 2 for no.", save: answer, keypad: true, digits: 1 }
        - switch: { value: "{{answer}}", cases: { "1": said-yes, "2": said-no }, default: said-neither }
      said-yes:
        - end: "You said yes."
      said-no:
        - end: "You said no."
      said-neither:
        - end: "You said neither."
      setting:
        - set: { label: "{{channel}}-{{pick}}", twice: "{{label}}{{label}}" }
        - end: "Label {{label}}, twice {{twice}}."
      profiling:
        - profile: { name: "What should we call you?", email: true }
        - end: "Thanks {{name}}, we will write to {{email}}."
      jumping:
        - goto: landing
      landing:
        - end: "Landed after two gotos."`,
  );
}

let api: FakeOperatorApi;
let h: DialogHarness;

beforeAll(async () => {
  api = await startFakeOperatorApi();
  for (const channel of ['sms', 'whatsapp', 'voice']) {
    api.route('GET', `/v1/accounts/${channel}`, (_req, res) =>
      sendJson(res, 200, {
        owner: { name: 'Ada Lovelace' },
        balances: [{ amount: '12.50' }, { amount: '0' }],
      }),
    );
  }
  h = await startDialogHarness({ bots: tourBot(api.url), allowHosts: ['127.0.0.1'], label: 'steps' });
});

afterAll(async () => {
  await h?.close();
  await api?.close();
});

describe.each(['sms', 'whatsapp'] as const)('%s', (channel) => {
  const chat = () => (channel === 'sms' ? h.sms() : h.whatsapp());
  const MENU = [`Tour on ${channel}.`, 'Pick 1 to 7.'];

  it('say: sends each text, rendered with the flow variables, channel, from and bot', async () => {
    const c = chat();
    expect(await c.send('hi')).toEqual(MENU);
    expect(await c.send('1')).toEqual([
      `You picked 1 on ${channel} from ${channel}:${c.from}.`,
      'Second line for tour.',
      'Bye.',
    ]);
  });

  it('ask: keypad with digits, a secret with a pattern and a typed answer are stored and used', async () => {
    const c = chat();
    await c.send('hi');
    expect(await c.send('2')).toEqual(['Your four digit code?']);
    expect(await c.send('1234')).toEqual(['Your three digit secret?']);
    expect(await c.send('042')).toEqual(['Your town?']);
    expect(await c.send('Leeds')).toEqual(['Code 1234, town Leeds. Bye.']);
    expect(await h.redis.exists(h.keys.state(h.cid('tour', c.identity)))).toBe(0);
  });

  it('ask: wrong answers are asked again until retries run out, then the invalid text ends the flow', async () => {
    const c = chat();
    await c.send('hi');
    await c.send('2');
    expect(await c.send('12')).toEqual([RETRY, 'Your four digit code?']); // digits: 4
    expect(await c.send('abcd')).toEqual([RETRY, 'Your four digit code?']); // keypad: digits only
    expect(await c.send('99')).toEqual(['Too many wrong codes. Goodbye.']);
    expect(await h.redis.exists(h.keys.state(h.cid('tour', c.identity)))).toBe(0);
  });

  it('ask: a pattern miss re-prompts; retries: 1 allows one miss only', async () => {
    const c = chat();
    await c.send('hi');
    expect(await c.send('9')).toEqual([RETRY, 'Pick 1 to 7.']);
    expect(await c.send('8')).toEqual(['That is not a choice. Goodbye.']);
    // The conversation is over: the next message starts again at main.
    expect(await c.send('1')).toEqual(MENU);
  });

  it('request: the answer is saved by path (object and array item) and used in the reply', async () => {
    const before = api.requests.length;
    const c = chat();
    await c.send('hi');
    expect(await c.send('3')).toEqual(['Ada Lovelace has 12.50.']);
    const received = api.requests.slice(before);
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([`GET /v1/accounts/${channel}`]);
  });

  it('switch: a matching case, the default, and no match without a default (carry on)', async () => {
    const yes = chat();
    await yes.send('hi');
    expect(await yes.send('4')).toEqual(['Press 1 for yes or 2 for no.']);
    expect(await yes.send('1')).toEqual(['You said yes.']);

    const neither = chat();
    await neither.send('hi');
    await neither.send('4');
    expect(await neither.send('3')).toEqual(['You said neither.']);

    const none = chat();
    await none.send('hi');
    expect(await none.send('7')).toEqual(['Choice 7 has no flow of its own.', 'Landed after two gotos.']);
  });

  it('set: variables are rendered in order, a later one seeing an earlier one', async () => {
    const c = chat();
    await c.send('hi');
    expect(await c.send('5')).toEqual([`Label ${channel}-5, twice ${channel}-5${channel}-5.`]);
  });

  it('profile: asks the name (configured prompt) and the email (default prompt), re-asking a bad email', async () => {
    const c = chat();
    await c.send('hi');
    expect(await c.send('6')).toEqual(['What should we call you?']);
    expect(await c.send('Ada')).toEqual(['What is your email address?']);
    expect(await c.send('not an email')).toEqual([
      "That doesn't look like an email address.",
      'What is your email address?',
    ]);
    expect(await c.send('ada@example.com')).toEqual(['Thanks Ada, we will write to ada@example.com.']);
  });

  it('goto and end: a chain of gotos lands, end says its text and ends; the next message starts main', async () => {
    const c = chat();
    await c.send('hi');
    expect(await c.send('7')).toEqual(['Choice 7 has no flow of its own.', 'Landed after two gotos.']);
    expect(await h.redis.exists(h.keys.state(h.cid('tour', c.identity)))).toBe(0);
    expect(await c.send('hello again')).toEqual(MENU);
  });
});

describe('voice', () => {
  const MENU_TWIML = twiml(say('Tour on voice.'), gather(1, 'Pick 1 to 7.', { keypad: true, digits: 1 }));

  it('say: the first prompts of a call, then Say elements and a hang-up at the end', async () => {
    const c = h.call();
    // Written out once in full; the other tests use the builders in helpers.ts.
    expect(await c.start()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response>' +
        '<Say voice="Polly.Joanna" language="en-US">Tour on voice.</Say>' +
        '<Gather input="dtmf" numDigits="1" finishOnKey="#" timeout="5" ' +
        'action="https://switchboard.test/webhooks/voice/gather?turn=1" method="POST" actionOnEmptyResult="true">' +
        '<Say voice="Polly.Joanna" language="en-US">Pick 1 to 7.</Say></Gather></Response>',
    );
    expect(await c.press('1')).toBe(
      twiml(
        say(`You picked 1 on voice from voice:${c.from}.`),
        say('Second line for tour.'),
        say('Bye.'),
        HANGUP,
      ),
    );
  });

  it('ask: keypad digits; a secret is keypad-only; a typed ask gathers speech with its own timeout', async () => {
    const c = h.call();
    expect(await c.start()).toBe(MENU_TWIML);
    expect(await c.press('2')).toBe(twiml(gather(2, 'Your four digit code?', { keypad: true, digits: 4 })));
    // secret without keypad: no speech on a secret, so the Gather takes keys only.
    expect(await c.press('1234')).toBe(twiml(gather(3, 'Your three digit secret?', { keypad: true })));
    expect(await c.press('042')).toBe(twiml(gather(4, 'Your town?', { keypad: false, timeout: 8 })));
    expect(await c.speak('Leeds')).toBe(twiml(say('Code 1234, town Leeds. Bye.'), HANGUP));
  });

  it('ask: no input and wrong keys re-prompt until retries run out, then the invalid text and a hang-up', async () => {
    const c = h.call();
    await c.start();
    await c.press('2');
    expect(await c.press('')).toBe(twiml(gather(3, 'Your four digit code?', { keypad: true, digits: 4 })));
    expect(await c.press('12')).toBe(
      twiml(say(RETRY), gather(4, 'Your four digit code?', { keypad: true, digits: 4 })),
    );
    expect(await c.press('99')).toBe(twiml(say('Too many wrong codes. Goodbye.'), HANGUP));
  });

  it('ask: a pattern miss re-prompts the menu; the second miss ends the call', async () => {
    const c = h.call();
    await c.start();
    expect(await c.press('9')).toBe(
      twiml(say(RETRY), gather(2, 'Pick 1 to 7.', { keypad: true, digits: 1 })),
    );
    expect(await c.press('8')).toBe(twiml(say('That is not a choice. Goodbye.'), HANGUP));
  });

  it('request: the saved answer is spoken', async () => {
    const before = api.requests.length;
    const c = h.call();
    await c.start();
    expect(await c.press('3')).toBe(twiml(say('Ada Lovelace has 12.50.'), HANGUP));
    expect(api.requests.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/accounts/voice']);
  });

  it('switch: a case, the default, and no match without a default', async () => {
    const yes = h.call();
    await yes.start();
    expect(await yes.press('4')).toBe(
      twiml(gather(2, 'Press 1 for yes or 2 for no.', { keypad: true, digits: 1 })),
    );
    expect(await yes.press('2')).toBe(twiml(say('You said no.'), HANGUP));

    const neither = h.call();
    await neither.start();
    await neither.press('4');
    expect(await neither.press('5')).toBe(twiml(say('You said neither.'), HANGUP));

    const none = h.call();
    await none.start();
    expect(await none.press('7')).toBe(
      twiml(say('Choice 7 has no flow of its own.'), say('Landed after two gotos.'), HANGUP),
    );
  });

  it('set: variables rendered in order', async () => {
    const c = h.call();
    await c.start();
    expect(await c.press('5')).toBe(twiml(say('Label voice-5, twice voice-5voice-5.'), HANGUP));
  });

  it('profile: name and email are gathered as speech', async () => {
    const c = h.call();
    await c.start();
    expect(await c.press('6')).toBe(twiml(gather(2, 'What should we call you?', { keypad: false })));
    expect(await c.speak('Ada')).toBe(twiml(gather(3, 'What is your email address?', { keypad: false })));
    expect(await c.speak('ada@example.com')).toBe(
      twiml(say('Thanks Ada, we will write to ada@example.com.'), HANGUP),
    );
  });

  it('goto and end: the call hangs up after the end text; a new call starts at main', async () => {
    const c = h.call();
    await c.start();
    expect(await c.press('7')).toBe(
      twiml(say('Choice 7 has no flow of its own.'), say('Landed after two gotos.'), HANGUP),
    );
    expect(await h.redis.exists(h.keys.state(h.callCid('tour', c)))).toBe(0);
    const again = h.call(c.from);
    expect(await again.start()).toBe(MENU_TWIML);
  });
});
