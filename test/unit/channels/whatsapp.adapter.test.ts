// The WhatsApp adapter: whatsapp: addresses, profile name, button payloads and locations.
import { describe, expect, it } from 'vitest';
import { whatsappAdapter } from '../../../channels/whatsapp/whatsapp.adapter.js';
import { TWILIO_WEBHOOKS } from '../../support/twilio-fixtures.js';

const meta = { turn: 0, receivedAt: 1_700_000_000_000 };

describe('whatsappAdapter.parseInbound', () => {
  it('reads a text message: the identity without the prefix, replies to the whatsapp: address', () => {
    expect(whatsappAdapter.parseInbound(TWILIO_WEBHOOKS.whatsappInboundText, meta)).toEqual({
      ok: true,
      value: {
        id: 'SMb7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2',
        kind: 'message',
        channel: 'whatsapp',
        identity: 'whatsapp:+447700900123',
        from: 'whatsapp:+447700900123',
        to: 'whatsapp:+14155238886',
        provider: { accountSid: 'AC0123456789abcdef0123456789abcdef' },
        text: 'Who am I?',
        profileName: 'Zhang San',
        receivedAt: meta.receivedAt,
      },
    });
    expect(whatsappAdapter.ourNumber(TWILIO_WEBHOOKS.whatsappInboundText)).toBe('+14155238886');
  });

  it('answers with the payload of a tapped button, not its label', () => {
    const parsed = whatsappAdapter.parseInbound(TWILIO_WEBHOOKS.whatsappInboundButtonReply, meta);
    expect(parsed.ok && parsed.value.text).toBe('1');
  });

  it('reads a shared location', () => {
    const parsed = whatsappAdapter.parseInbound(TWILIO_WEBHOOKS.whatsappInboundLocation, meta);
    expect(parsed.ok && parsed.value.location).toEqual({
      latitude: '51.5072',
      longitude: '-0.1276',
      address: 'Trafalgar Square',
      label: 'Meeting point',
    });
  });

  it('refuses a From without the whatsapp: prefix, and has no number for a To without it', () => {
    expect(
      whatsappAdapter.parseInbound({ ...TWILIO_WEBHOOKS.whatsappInboundText, From: '+447700900123' }, meta),
    ).toEqual({ ok: false, problem: 'From is not a whatsapp:+E164 address' });
    expect(whatsappAdapter.ourNumber({ To: '+14155238886' })).toBeUndefined();
  });
});
