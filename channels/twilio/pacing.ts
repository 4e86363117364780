// How fast each of our senders may send, by Twilio's kinds of sender: long codes, short codes, WhatsApp.
import type { PacingConfig } from '../../src/config/schema.js';

/** A short code: 3 to 8 digits, no "+". */
const SHORT_CODE = /^\d{3,8}$/;

/** Milliseconds between two sends from `from` (our number as Twilio knows it: `+1…`, `12345`, `whatsapp:+…`). */
export function sendInterval(pacing: PacingConfig, from: string): number {
  const whatsapp = from.startsWith('whatsapp:');
  const number = whatsapp ? from.slice('whatsapp:'.length) : from;
  // A number's WhatsApp sender has limits of its own: it is paced apart from the number's SMS.
  const rate =
    pacing.numbers[from] ??
    (whatsapp ? pacing.whatsapp : SHORT_CODE.test(number) ? pacing.shortCode : pacing.longCode);
  return 1000 / rate;
}
