// One E.164 rule: every channel's webhook, the operator API and the configuration accept the same numbers.
import { describe, expect, it } from 'vitest';
import { smsAdapter } from '../../channels/sms/sms.adapter.js';
import { whatsappAdapter } from '../../channels/whatsapp/whatsapp.adapter.js';
import { voiceAdapter } from '../../channels/voice/voice.adapter.js';
import { PhoneNumberSchema } from '../../src/config/schema.js';
import { IdentityInputSchema } from '../../src/http/openapi.js';
import { isE164 } from '../../src/core/phone-number.js';
import { TWILIO_WEBHOOKS } from '../support/twilio-fixtures.js';

const meta = { turn: 0, receivedAt: 1_700_000_000_000 };

const ACCEPTED = ['+123456', '+12125551234', '+447700900123', '+123456789012345'];
// '+12' to '+12345' passed the operator API and the configuration before, though no webhook brings them.
const REFUSED = ['+12', '+12345', '+1234567890123456', '+0123456789', '12125551234', 'sms:+12125551234', ''];

function accepted(number: string) {
  return {
    isE164: isE164(number),
    sms: smsAdapter.parseInbound({ ...TWILIO_WEBHOOKS.smsInbound, From: number }, meta).ok,
    whatsapp: whatsappAdapter.parseInbound(
      { ...TWILIO_WEBHOOKS.whatsappInboundText, From: `whatsapp:${number}` },
      meta,
    ).ok,
    voice: voiceAdapter.parseInbound({ ...TWILIO_WEBHOOKS.voiceIncomingCall, From: number }, meta).ok,
    operatorApi: IdentityInputSchema.safeParse({ channel: 'sms', address: number }).success,
    config: PhoneNumberSchema.safeParse(number).success,
  };
}

function everywhere(ok: boolean) {
  return { isE164: ok, sms: ok, whatsapp: ok, voice: ok, operatorApi: ok, config: ok };
}

describe('E.164', () => {
  it.each(ACCEPTED)('%s is accepted everywhere', (number) => {
    expect(accepted(number)).toEqual(everywhere(true));
  });

  it.each(REFUSED)('"%s" is refused everywhere', (number) => {
    expect(accepted(number)).toEqual(everywhere(false));
  });
});
