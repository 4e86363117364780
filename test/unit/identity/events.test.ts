// Event signatures, the receiver's verification helper, retry delays and data cleaning: pure functions.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signSwitchboardEvent, verifySwitchboardSignature } from '../../../src/operator-events/signature.js';
import { cleanEventData, wantsEvent } from '../../../src/operator-events/sink.js';
import { DEFAULT_EVENT_BACKOFF, eventRetryDelay } from '../../../src/operator-events/worker.js';
import { testConfig } from '../../integration/identity/setup.js';

const body = '{"id":"evt_1","type":"user.verified"}';

describe('signatures', () => {
  it('signs "t.body" with HMAC-SHA256 in hex', () => {
    const expected = createHmac('sha256', 's3cret').update(`1700000000.${body}`).digest('hex');
    expect(signSwitchboardEvent(body, 's3cret', 1_700_000_000.9)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies a good signature and refuses a tampered, old, wrong-secret or malformed one', () => {
    const header = signSwitchboardEvent(body, 's3cret', 1_700_000_000);
    expect(verifySwitchboardSignature(header, body, 's3cret', 300, 1_700_000_100)).toEqual({
      ok: true,
      timestamp: 1_700_000_000,
    });
    expect(verifySwitchboardSignature(header, Buffer.from(body), 's3cret', 300, 1_700_000_100).ok).toBe(true);
    expect(verifySwitchboardSignature(header, `${body} `, 's3cret', 300, 1_700_000_100)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifySwitchboardSignature(header, body, 'other', 300, 1_700_000_100)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifySwitchboardSignature(header, body, 's3cret', 300, 1_700_000_301)).toEqual({
      ok: false,
      reason: 'too_old',
    });
    expect(verifySwitchboardSignature(undefined, body, 's3cret')).toEqual({ ok: false, reason: 'missing' });
    expect(verifySwitchboardSignature('v1=abc', body, 's3cret')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts any of several v1 values (secret rotation)', () => {
    const old = signSwitchboardEvent(body, 'old', 1_700_000_000).split(',')[1];
    const current = signSwitchboardEvent(body, 'new', 1_700_000_000);
    expect(verifySwitchboardSignature(`${current},${old}`, body, 'old', 300, 1_700_000_000).ok).toBe(true);
  });
});

describe('retry delays', () => {
  const mid = () => 0.5;
  it('doubles from the base up to the cap', () => {
    const delays = [1, 2, 3, 4, 10, 20].map((n) => eventRetryDelay(n, 0, 0, DEFAULT_EVENT_BACKOFF, mid));
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 3_600_000, 3_600_000]);
  });
  it('places the last try at the 24-hour mark, then gives up', () => {
    const day = 86_400_000;
    expect(eventRetryDelay(30, 0, day - 5_000, DEFAULT_EVENT_BACKOFF, mid)).toBe(5_000);
    expect(eventRetryDelay(31, 0, day, DEFAULT_EVENT_BACKOFF, mid)).toBe(-1);
  });
  it('keeps the total under 24 hours over a whole schedule', () => {
    let at = 0;
    let retries = 0;
    for (;;) {
      const delay = eventRetryDelay(retries + 1, 0, at, DEFAULT_EVENT_BACKOFF, () => 1);
      if (delay < 0) break;
      at += delay;
      retries += 1;
    }
    expect(at).toBe(86_400_000);
    // With the longest jitter: 30 retries after the first try, well under the sink's attempt cap.
    expect(retries).toBe(30);
  });
});

describe('event data', () => {
  it('drops names that could carry a credential and non-scalar values', () => {
    expect(
      cleanEventData({
        component: 'bank-login',
        identity: 'sms:+1555',
        attempts: 3,
        password: 'x',
        authToken: 'x',
        refresh_token: 'x',
        auth_code: 'x',
        code: 'x',
        clientSecret: 'x',
        nested: { a: 1 },
        missing: undefined,
      }),
    ).toEqual({
      data: { component: 'bank-login', identity: 'sms:+1555', attempts: 3 },
      dropped: ['password', 'authToken', 'refresh_token', 'auth_code', 'code', 'clientSecret', 'nested'],
    });
  });

  it('sends a type only to a workspace that asked for it', () => {
    const config = testConfig({
      acmeEvents: { url: 'https://hooks.example', secret: 's', types: ['user.locked'] },
    });
    expect(wantsEvent(config, 'acme', 'user.locked')).toBe(true);
    expect(wantsEvent(config, 'acme', 'user.verified')).toBe(false);
    expect(wantsEvent(config, 'globex', 'user.locked')).toBe(false);
    expect(wantsEvent(config, 'constructor', 'user.locked')).toBe(false);
  });
});
