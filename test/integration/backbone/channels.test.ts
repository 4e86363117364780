// Each channel end to end: a signed SMS, a signed WhatsApp message and a call get the bot's exact reply.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNT_SID, botYaml, NUMBERS } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { newSid } from '../../support/webhooks.js';

const BOTS = [
  botYaml(
    'front-desk',
    `    flows:
      main:
        - say: "You wrote on {{channel}} as {{from}}: {{input}}"
        - ask: { prompt: "What is your name?", save: name }
        - end: "Thank you, {{name}}. Goodbye."`,
    { sms: NUMBERS.sms, whatsapp: NUMBERS.whatsapp },
  ),
  botYaml(
    'phone-line',
    `    voice: { language: en-GB, voice: Polly.Amy, gatherTimeout: 6 }
    flows:
      main:
        - say: "Welcome to the phone line."
        - ask: { prompt: "Enter your four digit code, then press pound.", save: code, keypad: true, digits: 4 }
        - end: "You entered {{code}}. Goodbye."`,
    { voice: NUMBERS.voice },
  ),
].join('\n');

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ bots: BOTS, label: 'channels' });
});
afterEach(async () => {
  await h.close();
});

describe('SMS', () => {
  it('answers a signed SMS through the REST API, word for word, from the bot number', async () => {
    const user = '+12125551234';
    const first = await h.webhooks.sms(user, 'balance');
    expect(first).toMatchObject({ status: 200, body: EMPTY_TWIML });
    expect(first.contentType).toBe('text/xml; charset=utf-8');

    const replies = await h.twilio.waitForMessages(user, 2);
    expect(replies.map((m) => m.body)).toEqual([
      'You wrote on sms as sms:+12125551234: balance',
      'What is your name?',
    ]);
    for (const reply of replies) {
      expect(reply).toMatchObject({
        to: user,
        from: NUMBERS.sms,
        accountSid: ACCOUNT_SID,
        authAccount: ACCOUNT_SID,
        contentSid: undefined,
      });
    }

    expect((await h.webhooks.sms(user, 'Ada')).status).toBe(200);
    const all = await h.twilio.waitForMessages(user, 3);
    expect(all[2]!.body).toBe('Thank you, Ada. Goodbye.');
    // The conversation ended: its state is gone from Redis.
    expect(await h.redis.exists(h.keys.state(h.conversation('front-desk', `sms:${user}`)))).toBe(0);
  });
});

describe('WhatsApp', () => {
  it('answers a signed WhatsApp message (whatsapp: addresses, ProfileName, WaId) on WhatsApp', async () => {
    // The fields of Twilio's own example (fixtures/twilio-webhooks.json, whatsapp_inbound_text), with
    // another text: "Who am I?" is a built-in question, not an answer for the flow.
    const sid = 'SMb7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2';
    const answer = await h.webhooks.whatsapp('+447700900123', 'Hello from London', {
      MessageSid: sid,
      SmsMessageSid: sid,
      SmsSid: sid,
      ProfileName: 'Zhang San',
      WaId: '447700900123',
    });
    expect(answer).toMatchObject({ status: 200, body: EMPTY_TWIML });

    const replies = await h.twilio.waitForMessages('whatsapp:+447700900123', 2);
    expect(replies.map((m) => m.body)).toEqual([
      'You wrote on whatsapp as whatsapp:+447700900123: Hello from London',
      'What is your name?',
    ]);
    for (const reply of replies) {
      expect(reply).toMatchObject({
        to: 'whatsapp:+447700900123',
        from: `whatsapp:${NUMBERS.whatsapp}`,
        authAccount: ACCOUNT_SID,
      });
    }
    // The SMS identity with the same number is another conversation.
    expect(h.twilio.messagesTo('+447700900123')).toEqual([]);
  });
});

describe('voice', () => {
  it('answers an incoming call with the exact TwiML of the first prompts', async () => {
    const answer = await h.webhooks.call(newSid('CA'), '+12125551234');
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('text/xml; charset=utf-8');
    expect(answer.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response>' +
        '<Say voice="Polly.Amy" language="en-GB">Welcome to the phone line.</Say>' +
        '<Gather input="dtmf" numDigits="4" finishOnKey="#" timeout="6" ' +
        'action="https://switchboard.test/webhooks/voice/gather?turn=1" method="POST" actionOnEmptyResult="true">' +
        '<Say voice="Polly.Amy" language="en-GB">Enter your four digit code, then press pound.</Say>' +
        '</Gather></Response>',
    );
    // Voice answers go back in the webhook's response, never through the REST API.
    expect(h.twilio.requests).toEqual([]);
  });
});
