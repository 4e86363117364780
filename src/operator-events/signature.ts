// Signing operator events, and the helper an operator's receiver uses to check them.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Switchboard-Signature';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`: the timestamp is signed too, so an old delivery cannot be replayed later. */
export function signSwitchboardEvent(body: string, secret: string, unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

export type SignatureCheck =
  { ok: true; timestamp: number } | { ok: false; reason: 'missing' | 'malformed' | 'too_old' | 'mismatch' };

/**
 * Checks a `Switchboard-Signature` header against the raw request body (the exact bytes received, not
 * re-serialized JSON). Refuses a timestamp more than `toleranceSeconds` away from now. Several `v1=`
 * values are accepted (any one matching), so a secret can be rotated on the receiver first.
 */
export function verifySwitchboardSignature(
  header: string | undefined | null,
  body: string | Buffer,
  secret: string,
  toleranceSeconds = 300,
  nowSeconds: number = Date.now() / 1000,
): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't' && /^\d+$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'too_old' };
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
  let match = false;
  for (const signature of signatures) {
    // Compare every candidate in constant time, without stopping at the first match.
    if (timingSafeEqual(expected, Buffer.from(signature, 'hex'))) match = true;
  }
  return match ? { ok: true, timestamp } : { ok: false, reason: 'mismatch' };
}
