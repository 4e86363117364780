// Phone numbers in E.164: the one rule for the configuration, the operator API, the simulator and every
// channel's webhooks, so the operator cannot register a number no webhook would ever bring.
import { z } from './zod.js';

/** "+", a country code that does not start with 0, then the rest: 6 to 15 digits in all. */
export const E164 = /^\+[1-9][0-9]{5,14}$/;

export function isE164(number: string): boolean {
  return E164.test(number);
}

/** A string holding an E.164 number, refused with `error` otherwise (the pattern shows in OpenAPI). */
export function phoneNumberSchema(error: string) {
  return z.string().regex(E164, { error });
}
