// Voice calls end to end: Gather attributes and actions, digits, no input, hold-and-redirect, hang-up.
import { afterEach, describe, expect, it } from 'vitest';
import { botYaml, NUMBERS, PUBLIC_URL } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { twimlAttribute, twimlText } from '../../support/twiml.js';
import { newSid, type WebhookAnswer } from '../../support/webhooks.js';

const CALLER = '+12125551234';
const XML = '<?xml version="1.0" encoding="UTF-8"?>';
const SAY = '<Say voice="Polly.Joanna" language="en-US">';

function phoneLine(replyWaitMs: number): string {
  return botYaml(
    'phone-line',
    `    voice: { replyWaitMs: ${replyWaitMs}, gatherTimeout: 5, holdMessage: "Checking, one moment." }
    flows:
      main:
        - say: "Welcome to the test line."
        - ask:
            prompt: "Enter your four digit code, then press pound."
            save: code
            keypad: true
            digits: 4
            retries: 1
            invalid: "Sorry, no code received. Goodbye."
        - say: "You entered {{code}}."
        - ask: { prompt: "Press 1 to hear it again or 2 to finish.", save: choice, keypad: true, digits: 1, pattern: "^[12]$" }
        - switch: { value: "{{choice}}", cases: { "1": again, "2": finish } }
      again:
        - say: "Your code is {{code}}."
        - end: "Goodbye."
      finish:
        - end: "Thank you for calling. Goodbye."`,
    { voice: NUMBERS.voice },
  );
}

/** A Gather as the voice adapter renders it for a keypad ask, with its prompt inside. */
function gather(digits: number, turn: number, prompt: string): string {
  return (
    `<Gather input="dtmf" numDigits="${digits}" finishOnKey="#" timeout="5" ` +
    `action="${PUBLIC_URL}/webhooks/voice/gather?turn=${turn}" method="POST" actionOnEmptyResult="true">` +
    `${SAY}${prompt}</Say></Gather>`
  );
}

const FIRST_PROMPTS =
  `${XML}<Response>${SAY}Welcome to the test line.</Say>` +
  `${gather(4, 1, 'Enter your four digit code, then press pound.')}</Response>`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a call', () => {
  it('gathers with numDigits, finishOnKey and the next turn, takes the digits, and hangs up at the end', async () => {
    h = await startHarness({ bots: phoneLine(2500), label: 'voice' });
    const call = newSid('CA');

    const first = await h.webhooks.call(call, CALLER);
    expect(first.status).toBe(200);
    expect(first.body).toBe(FIRST_PROMPTS);
    const action = twimlAttribute(first.body, 'Gather', 'action')!;
    expect(action).toBe(`${PUBLIC_URL}/webhooks/voice/gather?turn=1`);

    const second = await h.webhooks.gather(action, call, CALLER, '1234');
    expect(second.body).toBe(
      `${XML}<Response>${SAY}You entered 1234.</Say>` +
        `${gather(1, 2, 'Press 1 to hear it again or 2 to finish.')}</Response>`,
    );

    const last = await h.webhooks.gather(twimlAttribute(second.body, 'Gather', 'action')!, call, CALLER, '2');
    expect(last.body).toBe(`${XML}<Response>${SAY}Thank you for calling. Goodbye.</Say><Hangup/></Response>`);
    expect(
      await h.redis.exists(h.keys.state(h.callConversation('phone-line', `voice:${CALLER}`, call))),
    ).toBe(0);
    expect(h.twilio.requests).toEqual([]);
  });

  it('answers a retried gather webhook with the same TwiML without running the turn again', async () => {
    h = await startHarness({ bots: phoneLine(2500), label: 'voice' });
    const call = newSid('CA');
    const first = await h.webhooks.call(call, CALLER);
    const action = twimlAttribute(first.body, 'Gather', 'action')!;
    const [a, b] = await Promise.all([
      h.webhooks.gather(action, call, CALLER, '4321'),
      h.webhooks.gather(action, call, CALLER, '4321'),
    ]);
    expect(a.body).toBe(b.body);
    expect(a.body).toContain('You entered 4321.');
    // Turns run in order, so once turn 2 is handled a second run of turn 1 would have shown.
    await h.webhooks.gather(twimlAttribute(a.body, 'Gather', 'action')!, call, CALLER, '1');
    await h.handled(`${call}:2`);
    const handled = h.turns.finished('handled');
    expect(handled.map((t) => t.eventId)).toEqual([`${call}:0`, `${call}:1`, `${call}:2`]);
  });

  it('repeats the prompt when the caller keys nothing, then says the invalid text and hangs up', async () => {
    h = await startHarness({ bots: phoneLine(2500), label: 'voice' });
    const call = newSid('CA');
    const first = await h.webhooks.call(call, CALLER);

    const again = await h.webhooks.gather(twimlAttribute(first.body, 'Gather', 'action')!, call, CALLER, '');
    expect(again.body).toBe(
      `${XML}<Response>${gather(4, 2, 'Enter your four digit code, then press pound.')}</Response>`,
    );

    const gaveUp = await h.webhooks.gather(twimlAttribute(again.body, 'Gather', 'action')!, call, CALLER, '');
    expect(gaveUp.body).toBe(
      `${XML}<Response>${SAY}Sorry, no code received. Goodbye.</Say><Hangup/></Response>`,
    );
  });

  it('ends the conversation when Twilio reports the call completed', async () => {
    h = await startHarness({ bots: phoneLine(2500), label: 'voice' });
    const call = newSid('CA');
    await h.webhooks.call(call, CALLER);
    const cid = h.callConversation('phone-line', `voice:${CALLER}`, call);
    expect(await h.redis.exists(h.keys.state(cid))).toBe(1);

    const status = await h.webhooks.post('/webhooks/voice/status', {
      ...h.webhooks.callParams(call, CALLER, 'completed'),
      CallDuration: '47',
      CallbackSource: 'call-progress-events',
    });
    expect(status).toMatchObject({ status: 204, body: '' });
    await h.handled(`${call}:end`);
    expect(await h.redis.exists(h.keys.state(cid))).toBe(0);
  });
});

describe('a call answered by a worker of another process', () => {
  it("hears each new turn's answer over pub/sub, without a hold, and gives a duplicate the same answer", async () => {
    // Web and workers apart: nothing hands the answer over in process, so the publish must be heard.
    h = await startHarness({
      bots: phoneLine(10_000),
      label: 'voice-apart',
      gateway: { web: true, workers: false },
    });
    const workers = await h.startGateway({ web: false, workers: true });
    const call = newSid('CA');

    const first = await h.webhooks.call(call, CALLER);
    expect(first).toMatchObject({ status: 200, body: FIRST_PROMPTS });
    const action = twimlAttribute(first.body, 'Gather', 'action')!;
    const second = await h.webhooks.gather(action, call, CALLER, '1234');
    const secondPrompts =
      `${XML}<Response>${SAY}You entered 1234.</Say>` +
      `${gather(1, 2, 'Press 1 to hear it again or 2 to finish.')}</Response>`;
    expect(second).toMatchObject({ status: 200, body: secondPrompts });
    // Twilio's retry of a webhook already answered: read from Redis, the same TwiML, the turn not run again.
    expect(await h.webhooks.gather(action, call, CALLER, '1234')).toMatchObject({
      status: 200,
      body: secondPrompts,
    });
    await workers.turns.handledCount(2);
    expect(workers.turns.finished('handled').map((t) => t.eventId)).toEqual([`${call}:0`, `${call}:1`]);
  });
});

describe('a call that never started here', () => {
  it('gets a hang-up for its gathers and redirects, and its status changes nothing', async () => {
    h = await startHarness({ bots: phoneLine(2500), label: 'voice-unknown' });
    const call = newSid('CA');
    const hangUp = { status: 200, body: `${XML}<Response><Hangup/></Response>` };
    const action = `${PUBLIC_URL}/webhooks/voice/gather?turn=1`;
    expect(await h.webhooks.gather(action, call, CALLER, '1234')).toMatchObject(hangUp);
    const redirect = `${PUBLIC_URL}/webhooks/voice/result?turn=1&hold=1`;
    expect(await h.webhooks.redirect(redirect, call, CALLER)).toMatchObject(hangUp);
    const status = await h.webhooks.post(
      '/webhooks/voice/status',
      h.webhooks.callParams(call, CALLER, 'completed'),
    );
    expect(status).toMatchObject({ status: 204, body: '' });
    const cid = h.callConversation('phone-line', `voice:${CALLER}`, call);
    expect(await h.redis.exists(h.keys.inbox(cid), h.keys.state(cid), h.keys.call(cid))).toBe(0);
    const refused = h.main!.logs.find('event of a call that is over or unknown refused');
    expect(refused.map((l) => [l.event, l.reason])).toEqual([
      [`${call}:1`, 'the call did not start here'],
      [`${call}:end`, 'the call did not start here'],
    ]);
  });
});

describe('a turn slower than voice.replyWaitMs', () => {
  it('answers hold TwiML (Say, Pause, Redirect), then the real answer on the redirect', async () => {
    // No workers yet: the turn cannot be ready within the wait, whatever the machine's speed.
    h = await startHarness({
      bots: phoneLine(400),
      label: 'voice-hold',
      gateway: { web: true, workers: false },
    });
    const call = newSid('CA');

    const hold = await h.webhooks.call(call, CALLER);
    expect(hold.status).toBe(200);
    expect(hold.body).toBe(
      `${XML}<Response>${SAY}Checking, one moment.</Say><Pause length="1"/>` +
        `<Redirect method="POST">${PUBLIC_URL}/webhooks/voice/result?turn=0&amp;hold=1</Redirect></Response>`,
    );
    expect(hold.elapsedMs).toBeGreaterThanOrEqual(390);

    // Twilio follows the redirect while the workers start; the turn's answer wakes the waiting webhook.
    const redirected = h.webhooks.redirect(twimlText(hold.body, 'Redirect')!, call, CALLER);
    const workers = await h.startGateway({ web: false, workers: true });
    let answer: WebhookAnswer = await redirected;
    // On a slow machine the workers may need more than one wait: follow holds as Twilio would.
    const holds: string[] = [];
    while (answer.body.includes('<Redirect')) {
      holds.push(answer.body);
      expect(holds.length).toBeLessThan(20);
      answer = await h.webhooks.redirect(twimlText(answer.body, 'Redirect')!, call, CALLER);
    }
    expect(answer.body).toBe(FIRST_PROMPTS);
    // Later holds only pause and redirect again: the hold message is said once.
    for (const [i, later] of holds.entries()) {
      expect(later).toBe(
        `${XML}<Response><Pause length="1"/>` +
          `<Redirect method="POST">${PUBLIC_URL}/webhooks/voice/result?turn=0&amp;hold=${i + 2}</Redirect></Response>`,
      );
    }
    await workers.turns.handledCount(1);
    expect(workers.turns.finished('handled').map((t) => t.eventId)).toEqual([`${call}:0`]);
  });
});

/** A bot that asks for a spoken answer and says it back. */
function echoLine(): string {
  return botYaml(
    'echo-line',
    `    voice: { replyWaitMs: 2500, gatherTimeout: 5 }
    flows:
      main:
        - ask: { prompt: "Say something.", save: words }
        - end: "You said {{words}}."`,
    { voice: NUMBERS.voice },
  );
}

const SAY_SOMETHING =
  `${XML}<Response><Gather input="dtmf speech" finishOnKey="#" timeout="5" ` +
  `action="${PUBLIC_URL}/webhooks/voice/gather?turn=1" method="POST" actionOnEmptyResult="true" language="en-US">` +
  `${SAY}Say something.</Say></Gather></Response>`;

/** Words spoken in answer to turn 1's Gather, as Twilio's speech recognition reports them. */
function speak(call: string, from: string, words: string) {
  return h!.webhooks.post('/webhooks/voice/gather?turn=1', {
    ...h!.webhooks.callParams(call, from, 'in-progress'),
    SpeechResult: words,
    Confidence: '0.91',
  });
}

describe('text XML cannot carry', () => {
  it('a SpeechResult of control characters is echoed as valid TwiML, without them', async () => {
    h = await startHarness({ bots: echoLine(), label: 'voice-xml' });
    const call = newSid('CA');
    expect((await h.webhooks.call(call, CALLER)).body).toBe(SAY_SOMETHING);
    const answer = await speak(
      call,
      CALLER,
      '\u0000\u0001pay\u0007 the\u000b\u001f bill\u0008 \uFFFE\uFFFF now\u0000',
    );
    expect(answer).toMatchObject({
      status: 200,
      body: `${XML}<Response>${SAY}You said pay the bill  now.</Say><Hangup/></Response>`,
    });
    expect(await h.deadLetters()).toEqual([]);
  });
});

describe('callers who withhold their number', () => {
  const WITHHELD = '+266696687'; // Twilio's From for an anonymous caller ("ANONYMOUS" on a keypad)

  it('are each a caller of their own: one saying stop silences no other, as one number would be', async () => {
    h = await startHarness({ bots: echoLine(), label: 'voice-withheld' });
    const first = newSid('CA');
    expect((await h.webhooks.call(first, WITHHELD)).body).toBe(SAY_SOMETHING);
    const second = newSid('CA');
    expect((await h.webhooks.call(second, WITHHELD)).body).toBe(SAY_SOMETHING);
    expect((await speak(first, WITHHELD, 'Stop.')).body).toBe(
      `${XML}<Response>${SAY}You won't get more calls or messages from us. Goodbye.</Say><Hangup/></Response>`,
    );
    // The second anonymous call goes on, and a third one is answered.
    expect((await speak(second, WITHHELD, 'Hello there')).body).toBe(
      `${XML}<Response>${SAY}You said Hello there.</Say><Hangup/></Response>`,
    );
    expect((await h.webhooks.call(newSid('CA'), WITHHELD)).body).toBe(SAY_SOMETHING);

    // A caller with a number who says stop stays opted out on the next call: opt-out is per number.
    const known = newSid('CA');
    await h.webhooks.call(known, CALLER);
    expect((await speak(known, CALLER, 'Stop.')).body).toBe(
      `${XML}<Response>${SAY}You won't get more calls or messages from us. Goodbye.</Say><Hangup/></Response>`,
    );
    expect((await h.webhooks.call(newSid('CA'), CALLER)).body).toBe(`${XML}<Response><Hangup/></Response>`);
  });
});
