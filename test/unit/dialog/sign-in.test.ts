// The sign-in link dialog on its own: the link, the binding code, the signin event, a call's hold and fallback.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BotSchema, type BotConfig } from '../../../src/config/index.js';
import { DialogEngine, awaitsSecret } from '../../../src/core/dialog.js';
import type { Channel } from '../../../src/core/events.js';
import type { Clock } from '../../../src/core/ports.js';
import { Templates } from '../../../src/core/templates.js';
import { Conversation } from './support/conversation.js';
import { FakeServices, json } from './support/fake-services.js';

let now = 1_700_000_000_000;
const clock: Clock = { now: () => now, sleep: async () => undefined };
const engine = new DialogEngine({ templates: new Templates(), clock });

// The component is a login as written; the fake services say it signs in by link (the engine only asks them).
const BOT: BotConfig = BotSchema.parse({
  workspace: 'w',
  ...(parse(`
auth:
  bank-link:
    type: login
    url: https://bank.example/token
    fields: [{ name: username, prompt: "Username?" }]
flows:
  main:
    - request:
        url: https://bank.example/balance
        headers: { Authorization: "Bearer {{authtoken}}" }
        auth: bank-link
        save: { balance: balance }
    - end: "Your balance is {{balance}}."
  pin:
    - end: "Let's use your PIN instead."
`) as object),
});

const TEXTS = {
  link: (session: string) => `Sign in here: https://gw.example/s/code-${session}`,
  typeCode: "You're signed in on the page. To finish, type here the 6-digit code it shows.",
  enterCode: "You're signed in. Enter the 6-digit code shown on the page.",
  waiting: 'Open the link I sent to sign in; it works for 10 minutes. Reply MENU to start over.',
  texted: "I've sent you a sign-in link by text message. Open it on your phone and stay on the line.",
  signedIn: "You're signed in.",
};

/** The gateway's own event: the browser side of `session` ended. */
function signedIn(c: Conversation, session: string, status: 'completed' | 'failed' = 'completed') {
  return c.say('', { kind: 'signin', signIn: { session, status } });
}

/** A conversation whose clock is the test's `now`. */
const conversation = (channel: Channel = 'whatsapp') =>
  new Conversation(engine, BOT, channel, new FakeServices({ now: () => now }), () => now);

function linkConversation(opts: { binding: boolean; channel?: Channel; fallbackFlow?: string }) {
  const c = conversation(opts.channel);
  c.services.signIn.components.set('bank-link', {
    binding: opts.binding,
    holdSeconds: 60,
    ...(opts.fallbackFlow ? { fallbackFlow: opts.fallbackFlow } : {}),
  });
  c.services.answers.push(json(200, { balance: '12.50 USD' }));
  return c;
}

describe('a sign-in link', () => {
  it('is sent as a secret reply; the binding code typed after the browser finished answers the question', async () => {
    const c = linkConversation({ binding: true });
    const first = await c.send('balance');
    expect(first.output.replies).toEqual([{ text: TEXTS.link('S1'), secret: true }]);
    expect(c.state?.pending).toMatchObject({ kind: 'signin', component: 'bank-link', session: 'S1' });
    // Waiting for a binding code is waiting for a secret.
    expect(awaitsSecret(BOT, c.state)).toBe(true);

    expect(await c.say('hello?')).toEqual([TEXTS.waiting]);
    c.services.signIn.complete('S1', 'bank:alice', 'at-alice');
    expect(await signedIn(c, 'S1')).toEqual([TEXTS.typeCode]);
    expect(await c.say('654321')).toEqual(["Sorry, that code doesn't match. 2 tries left."]);
    expect(await c.say('123 456')).toEqual([TEXTS.signedIn, 'Your balance is 12.50 USD.']);
    expect(c.services.calls.map((call) => call.headers?.Authorization)).toEqual(['Bearer at-alice']);
  });

  it('without binding, the signin event alone answers the question', async () => {
    const c = linkConversation({ binding: false });
    await c.send('balance');
    c.services.signIn.complete('S1', 'bank:alice', 'at-alice');
    expect(await signedIn(c, 'S1')).toEqual([TEXTS.signedIn, 'Your balance is 12.50 USD.']);
    expect(c.state).toBeNull();
  });

  it('a signin event of a session the conversation does not wait for changes nothing', async () => {
    const c = linkConversation({ binding: false });
    await c.send('balance');
    const before = c.state;
    const result = await c.send('', { kind: 'signin', signIn: { session: 'S9', status: 'completed' } });
    expect(result.output.replies).toEqual([]);
    expect(result.state).toBe(before);
  });

  it('three wrong binding codes spend the session; a browser that failed says so', async () => {
    const c = linkConversation({ binding: true });
    await c.send('balance');
    c.services.signIn.complete('S1', 'bank:mallory', 'at-mallory');
    await signedIn(c, 'S1');
    await c.say('111111');
    await c.say('222222');
    expect(await c.say('333333')).toEqual([
      "Sorry, that sign-in can't be used any more. Reply MENU to start over.",
    ]);
    expect(c.state).toBeNull();
    expect(c.services.calls).toEqual([]);

    const d = linkConversation({ binding: true });
    await d.send('balance');
    expect(await signedIn(d, 'S1', 'failed')).toEqual(["Sign-in didn't finish. Reply MENU to start over."]);
  });

  it('an expired link is replaced by a new one when the user writes', async () => {
    const c = linkConversation({ binding: true });
    await c.send('balance');
    now += 601_000;
    expect(await c.say('hello')).toEqual([
      'That sign-in link has expired. Here is a new one.',
      TEXTS.link('S2'),
    ]);
    now -= 601_000;
  });
});

describe('a sign-in on a call', () => {
  it('texts the link, holds with silent gathers, and carries on once the browser finished', async () => {
    const c = linkConversation({ binding: false, channel: 'voice' });
    const first = await c.send('');
    expect(first.output.texts).toEqual([{ text: TEXTS.link('S1') }]);
    expect(first.output.replies).toEqual([
      { text: TEXTS.texted },
      { text: '', ask: { keypad: true, digits: 6, secret: true, timeout: 5 } },
    ]);
    // The Gather timed out: the sign-in is still pending, the call holds again.
    expect((await c.send('')).output.replies).toEqual([
      { text: '', ask: { keypad: true, digits: 6, secret: true, timeout: 5 } },
    ]);
    c.services.signIn.complete('S1', 'bank:alice', 'at-alice');
    expect(await c.say('')).toEqual([TEXTS.signedIn, 'Your balance is 12.50 USD.']);
  });

  it('with binding, asks for the code on the keypad once the browser finished', async () => {
    const c = linkConversation({ binding: true, channel: 'voice' });
    await c.send('');
    c.services.signIn.complete('S1', 'bank:alice', 'at-alice');
    const asked = await c.send('');
    expect(asked.output.replies).toEqual([
      { text: TEXTS.enterCode, ask: { keypad: true, digits: 6, secret: true } },
    ]);
    expect(await c.say('123456')).toEqual([TEXTS.signedIn, 'Your balance is 12.50 USD.']);
  });

  it('falls back to the configured flow when the caller never signs in within the limit', async () => {
    const c = linkConversation({ binding: true, channel: 'voice', fallbackFlow: 'pin' });
    await c.send('');
    now += 61_000;
    expect(await c.say('')).toEqual(["I didn't see you sign in.", "Let's use your PIN instead."]);
    now -= 61_000;
    const d = linkConversation({ binding: true, channel: 'voice' });
    await d.send('');
    now += 61_000;
    const over = await d.send('');
    now -= 61_000;
    expect(over.output).toEqual({ replies: [{ text: "I didn't see you sign in." }], hangup: true });
  });

  it('a bot with no number to text from says so and falls back at once', async () => {
    const c = conversation('voice');
    c.services.signIn.components.set('bank-link', {
      binding: true,
      holdSeconds: 60,
      fallbackFlow: 'pin',
      noTextChannel: true,
    });
    expect(await c.say('')).toEqual([
      "Sorry, I can't send you a sign-in link on this call.",
      "Let's use your PIN instead.",
    ]);
  });
});
