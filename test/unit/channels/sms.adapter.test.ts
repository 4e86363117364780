// The SMS adapter: Twilio's inbound SMS webhook to the normalized event, replies to texts.
import { describe, expect, it } from 'vitest';
import { smsAdapter } from '../../../channels/sms/sms.adapter.js';
import { TWILIO_WEBHOOKS } from '../../support/twilio-fixtures.js';

const meta = { turn: 0, receivedAt: 1_700_000_000_000 };

describe('smsAdapter.parseInbound', () => {
  it("reads Twilio's inbound SMS into the normalized event, ignoring fields it does not know", () => {
    expect(smsAdapter.parseInbound({ ...TWILIO_WEBHOOKS.smsInbound, NewField: 'x' }, meta)).toEqual({
      ok: true,
      value: {
        id: 'SM5f2b5f0e0f6a4d7e9b1c2d3e4f5a6b7c',
        kind: 'message',
        channel: 'sms',
        identity: 'sms:+12125551234',
        from: '+12125551234',
        to: '+15005550006',
        provider: { accountSid: 'AC0123456789abcdef0123456789abcdef' },
        text: 'balance',
        receivedAt: meta.receivedAt,
      },
    });
    expect(smsAdapter.ourNumber(TWILIO_WEBHOOKS.smsInbound)).toBe('+15005550006');
  });

  it("keeps Twilio's opt-out type", () => {
    const parsed = smsAdapter.parseInbound(TWILIO_WEBHOOKS.smsInboundWithOptOut, meta);
    expect(parsed.ok && parsed.value).toMatchObject({ text: 'STOP', optOut: 'STOP' });
  });

  it('reads media of an MMS, with its content type', () => {
    const parsed = smsAdapter.parseInbound(TWILIO_WEBHOOKS.smsInboundMms, meta);
    expect(parsed.ok && parsed.value).toMatchObject({
      text: '',
      media: [{ url: TWILIO_WEBHOOKS.smsInboundMms.MediaUrl0, contentType: 'image/jpeg' }],
    });
  });

  it('reads at most ten media items, whatever NumMedia claims', () => {
    const params: Record<string, string> = { ...TWILIO_WEBHOOKS.smsInbound, NumMedia: '50' };
    for (let i = 0; i < 50; i++) params[`MediaUrl${i}`] = `https://media.example/${i}`;
    const parsed = smsAdapter.parseInbound(params, meta);
    expect(parsed.ok && parsed.value.media).toHaveLength(10);
  });

  it('says which required fields are missing', () => {
    expect(smsAdapter.parseInbound({ Body: 'hi' }, meta)).toEqual({
      ok: false,
      problem: 'missing MessageSid, AccountSid, From, To',
    });
  });

  it('refuses a From that is not E.164', () => {
    expect(
      smsAdapter.parseInbound({ ...TWILIO_WEBHOOKS.smsInbound, From: 'whatsapp:+12125551234' }, meta),
    ).toEqual({
      ok: false,
      problem: 'From is not an E.164 number',
    });
  });
});

describe('smsAdapter.toTexts', () => {
  it('sends a short reply as one text and splits a long one', () => {
    expect(smsAdapter.toTexts('Hello.')).toEqual(['Hello.']);
    expect(smsAdapter.toTexts(`${'a'.repeat(1000)} ${'b'.repeat(1000)}`)).toEqual([
      'a'.repeat(1000),
      'b'.repeat(1000),
    ]);
  });
});
