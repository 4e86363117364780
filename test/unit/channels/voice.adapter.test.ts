// The voice adapter: call and gather webhooks to events, and the TwiML for prompts, holds and apologies.
import { describe, expect, it } from 'vitest';
import { voiceAdapter, xmlSafe, type VoiceSettings } from '../../../channels/voice/voice.adapter.js';
import { TWILIO_WEBHOOKS } from '../../support/twilio-fixtures.js';

const receivedAt = 1_700_000_000_000;
const settings: VoiceSettings = {
  language: 'en-GB',
  voice: 'Polly.Amy',
  gatherTimeout: 7,
  holdMessage: 'Checking the pharmacy system, one moment.',
};
const publicUrl = 'https://gateway.example.com';
const XML = '<?xml version="1.0" encoding="UTF-8"?>';
const SAY = '<Say voice="Polly.Amy" language="en-GB">';

describe('voiceAdapter.parseInbound', () => {
  it('reads an incoming call as turn 0, with the CallSid and turn as its id', () => {
    expect(voiceAdapter.parseInbound(TWILIO_WEBHOOKS.voiceIncomingCall, { turn: 0, receivedAt })).toEqual({
      ok: true,
      value: {
        id: 'CA0f1e2d3c4b5a69788796a5b4c3d2e1f0:0',
        kind: 'call.start',
        channel: 'voice',
        identity: 'voice:+12125551234',
        from: '+12125551234',
        to: '+15005550007',
        provider: { accountSid: 'AC0123456789abcdef0123456789abcdef' },
        text: '',
        turn: 0,
        receivedAt,
      },
    });
    expect(voiceAdapter.ourNumber(TWILIO_WEBHOOKS.voiceIncomingCall)).toBe('+15005550007');
  });

  it('reads keyed digits, speech, and an empty gather as no input', () => {
    const digits = voiceAdapter.parseInbound(TWILIO_WEBHOOKS.voiceGatherDigits, { turn: 3, receivedAt });
    expect(digits.ok && digits.value).toMatchObject({
      id: 'CA0f1e2d3c4b5a69788796a5b4c3d2e1f0:3',
      kind: 'call.input',
      text: '12345',
      turn: 3,
    });
    const speech = voiceAdapter.parseInbound(TWILIO_WEBHOOKS.voiceGatherSpeech, { turn: 1, receivedAt });
    expect(speech.ok && speech.value).toMatchObject({ kind: 'call.input', text: 'alice' });
    const silence = voiceAdapter.parseInbound(TWILIO_WEBHOOKS.voiceGatherNoInputWithActionOnEmptyResult, {
      turn: 2,
      receivedAt,
    });
    expect(silence.ok && silence.value).toMatchObject({ kind: 'call.noinput', text: '', turn: 2 });
  });

  it('says what is missing', () => {
    expect(voiceAdapter.parseInbound({ From: '+12125551234' }, { turn: 0, receivedAt })).toEqual({
      ok: false,
      problem: 'missing CallSid, AccountSid, To',
    });
  });
});

describe('voiceAdapter.parseStatus', () => {
  it('turns a completed call into call.end, and ignores a call still in progress', () => {
    const ended = voiceAdapter.parseStatus(TWILIO_WEBHOOKS.voiceStatusCompleted, receivedAt);
    expect(ended.ok && ended.value).toMatchObject({
      id: 'CA0f1e2d3c4b5a69788796a5b4c3d2e1f0:end',
      kind: 'call.end',
      identity: 'voice:+12125551234',
    });
    const ringing = voiceAdapter.parseStatus(
      { ...TWILIO_WEBHOOKS.voiceStatusCompleted, CallStatus: 'ringing' },
      receivedAt,
    );
    expect(ringing).toEqual({ ok: true, value: undefined });
  });
});

describe('voiceAdapter.toTwiml', () => {
  it('renders says and a keypad ask as a Gather with the prompt inside and the next turn as action', () => {
    const twiml = voiceAdapter.toTwiml(
      {
        replies: [
          { text: 'Welcome.' },
          { text: 'Enter your PIN.', ask: { keypad: true, digits: 4, secret: true, timeout: 10 } },
        ],
        hangup: false,
      },
      { publicUrl, turn: 2, settings },
    );
    expect(twiml).toBe(
      `${XML}<Response>${SAY}Welcome.</Say>` +
        '<Gather input="dtmf" numDigits="4" finishOnKey="#" timeout="10" ' +
        'action="https://gateway.example.com/webhooks/voice/gather?turn=3" method="POST" actionOnEmptyResult="true">' +
        `${SAY}Enter your PIN.</Say></Gather></Response>`,
    );
  });

  it('gathers speech and digits, in the bot language, for an ask without keypad', () => {
    const twiml = voiceAdapter.toTwiml(
      { replies: [{ text: 'Say your name.', ask: { keypad: false, secret: false } }], hangup: false },
      { publicUrl, turn: 0, settings },
    );
    expect(twiml).toBe(
      `${XML}<Response>` +
        '<Gather input="dtmf speech" finishOnKey="#" timeout="7" ' +
        'action="https://gateway.example.com/webhooks/voice/gather?turn=1" method="POST" actionOnEmptyResult="true" language="en-GB">' +
        `${SAY}Say your name.</Say></Gather></Response>`,
    );
  });

  it('hangs up after the last words when the conversation ends, or when nothing is asked', () => {
    const ended = voiceAdapter.toTwiml(
      { replies: [{ text: 'Goodbye.' }], hangup: true },
      { publicUrl, turn: 4, settings },
    );
    expect(ended).toBe(`${XML}<Response>${SAY}Goodbye.</Say><Hangup/></Response>`);
    const nothingAsked = voiceAdapter.toTwiml(
      { replies: [{ text: 'Noted.' }], hangup: false },
      { publicUrl, turn: 4, settings },
    );
    expect(nothingAsked).toBe(`${XML}<Response>${SAY}Noted.</Say><Hangup/></Response>`);
  });

  it('escapes text that looks like markup', () => {
    const twiml = voiceAdapter.toTwiml(
      { replies: [{ text: 'Tom & <Jerry>' }], hangup: true },
      { publicUrl, turn: 0, settings },
    );
    expect(twiml).toBe(`${XML}<Response>${SAY}Tom &amp; &lt;Jerry&gt;</Say><Hangup/></Response>`);
  });
});

describe('voiceAdapter.holdTwiml and apologyTwiml', () => {
  it('says the hold message on the first hold only, pauses, and redirects to the result of the same turn', () => {
    expect(voiceAdapter.holdTwiml({ publicUrl, turn: 5, hold: 0, settings })).toBe(
      `${XML}<Response>${SAY}Checking the pharmacy system, one moment.</Say><Pause length="1"/>` +
        '<Redirect method="POST">https://gateway.example.com/webhooks/voice/result?turn=5&amp;hold=1</Redirect></Response>',
    );
    expect(voiceAdapter.holdTwiml({ publicUrl, turn: 5, hold: 3, settings })).toBe(
      `${XML}<Response><Pause length="1"/>` +
        '<Redirect method="POST">https://gateway.example.com/webhooks/voice/result?turn=5&amp;hold=4</Redirect></Response>',
    );
  });

  it('apologises and hangs up', () => {
    expect(voiceAdapter.apologyTwiml(settings)).toBe(
      `${XML}<Response>${SAY}Sorry, something went wrong on our side. Please call again later. Goodbye.</Say>` +
        '<Hangup/></Response>',
    );
  });
});

describe('text XML 1.0 cannot carry', () => {
  it('is removed from replies (an API answer or echoed speech) before the TwiML is built', () => {
    const twiml = voiceAdapter.toTwiml(
      {
        replies: [
          { text: 'Balance\u0000 for \uD83D\uDE00 Ada\u001B[0m: \uD800 5\uDFFF.\u0007' },
          { text: 'Again?\u000C', ask: { keypad: true, secret: false } },
        ],
        hangup: false,
      },
      { publicUrl, turn: 1, settings },
    );
    // Tab, newline and carriage return are XML; a surrogate pair (the emoji) is one character and kept.
    expect(twiml).toBe(
      `${XML}<Response>${SAY}Balance for \u{1F600} Ada[0m:  5.</Say>` +
        '<Gather input="dtmf" finishOnKey="#" timeout="7" ' +
        'action="https://gateway.example.com/webhooks/voice/gather?turn=2" method="POST" actionOnEmptyResult="true">' +
        `${SAY}Again?</Say></Gather></Response>`,
    );
  });

  it('is removed from the configured voice settings and hold message too', () => {
    const odd: VoiceSettings = {
      ...settings,
      voice: 'Polly.Amy\u0001',
      holdMessage: 'One\u0000 moment\uFFFF.',
    };
    expect(voiceAdapter.holdTwiml({ publicUrl: `${publicUrl}\u0002`, turn: 0, hold: 0, settings: odd })).toBe(
      `${XML}<Response>${SAY}One moment.</Say><Pause length="1"/>` +
        '<Redirect method="POST">https://gateway.example.com/webhooks/voice/result?turn=0&amp;hold=1</Redirect></Response>',
    );
    expect(voiceAdapter.apologyTwiml(odd)).toBe(
      `${XML}<Response>${SAY}Sorry, something went wrong on our side. Please call again later. Goodbye.</Say>` +
        '<Hangup/></Response>',
    );
  });

  it('keeps tab, newline and carriage return', () => {
    expect(xmlSafe('a\tb\nc\rd\u0000')).toBe('a\tb\nc\rd');
  });
});

describe('a caller who withholds their number', () => {
  it('is an identity of the call alone, for the placeholder numbers and words Twilio sends', () => {
    for (const From of ['+266696687', '+7378742833', '+2562533', '+8656696', '+86282452253', 'Anonymous']) {
      const parsed = voiceAdapter.parseInbound(
        { ...TWILIO_WEBHOOKS.voiceIncomingCall, From, Caller: From },
        { turn: 0, receivedAt },
      );
      expect(parsed.ok && parsed.value).toMatchObject({
        identity: 'voice:withheld:CA0f1e2d3c4b5a69788796a5b4c3d2e1f0',
        from: From,
      });
    }
    expect(
      voiceAdapter.parseInbound(
        { ...TWILIO_WEBHOOKS.voiceIncomingCall, From: 'nobody' },
        { turn: 0, receivedAt },
      ),
    ).toEqual({ ok: false, problem: 'From is not an E.164 number' });
  });
});
