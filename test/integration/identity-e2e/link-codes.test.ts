// Link codes end to end: LINK <code> on SMS verifies the identity; codes are single-use, expire, and a sixth wrong one is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog.js';
import { manualClock } from '../../support/clock.js';
import { MAIN_PROMPT, randomNumber, startWorld, type World } from './helpers.js';

// Codes expire by the gateway's clock, which the tests move.
const clock = manualClock();
let w: World;
beforeAll(async () => {
  w = await startWorld({ label: 'e2e-link', clock });
});
afterAll(async () => {
  await w?.close();
});

async function newCode(body: Record<string, unknown>): Promise<{ code: string; expiresAt: string }> {
  const created = await w.api('POST', '/v1/link-codes', { body });
  expect(created.status, created.text).toBe(201);
  const answer = created.json as { code: string; expiresAt: string };
  expect(answer.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
  expect(answer.code).toMatch(/\d/); // at least one digit: told apart from words when typed in groups
  return answer;
}

/** A code of the right shape that is none of `taken`. */
function wrongCode(taken: string[]): string {
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(10, '0');
    if (!taken.includes(candidate)) return candidate;
  }
}

describe('LINK <code>', () => {
  it('verifies the SMS identity as Zhang San; the same code is refused the second time', async () => {
    const { code, expiresAt } = await newCode({ userId: 'web-9', name: 'Zhang San', ttl: 600 });
    expect(Date.parse(expiresAt)).toBe(clock.now() + 600_000);
    const phone = randomNumber();
    const chat = w.h.sms(phone);
    expect(await chat.send('who am I?')).toEqual(["I don't know you yet."]);
    expect(await chat.send(`LINK ${code}`)).toEqual([TEXT.linked('You are Zhang San (verified).')]);
    expect(TEXT.linked('You are Zhang San (verified).')).toBe(
      'Thanks, your account is linked. You are Zhang San (verified).',
    );
    expect(await chat.send('who am I')).toEqual(['You are Zhang San (verified).']);

    const user = await w.api('GET', '/v1/users/web-9');
    expect(user.status).toBe(200);
    expect(user.json).toMatchObject({
      userId: 'web-9',
      tier: 'verified',
      profile: { name: 'Zhang San', verified: true },
      identities: [{ channel: 'sms', address: phone, verified: true, via: 'link' }],
      tokens: [],
    });

    // Used: refused on another identity, and on the same one.
    const other = w.h.sms(randomNumber());
    expect(await other.send(`LINK ${code}`)).toEqual([TEXT.linkInvalid]);
    expect(await other.send('who am I')).toEqual(["I don't know you yet."]);
    expect(await chat.send(`LINK ${code}`)).toEqual([TEXT.linkInvalid]);
    expect(TEXT.linkInvalid).toBe("Sorry, that code isn't valid. Check it and try again.");

    // The code never rests in clear in the history the operator reads.
    const history = await w.api('GET', '/v1/users/web-9/history');
    expect(history.status).toBe(200);
    expect(history.text).not.toContain(code);
    const texts = (history.json as { entries: { direction: string; text: string; secret: boolean }[] })
      .entries;
    expect(texts.filter((e) => e.direction === 'in').map((e) => [e.text, e.secret])).toEqual([
      ['[redacted]', true],
      ['who am I', false],
      ['[redacted]', true],
    ]);
  });

  it('a code past its ttl is refused as expired', async () => {
    const { code, expiresAt } = await newCode({ userId: 'web-10', name: 'Li Si', ttl: 1 });
    expect(Date.parse(expiresAt)).toBe(clock.now() + 1000);
    clock.advance(1000); // a code is good until its expiresAt, not at it
    const chat = w.h.sms(randomNumber());
    expect(await chat.send(`LINK ${code}`)).toEqual([TEXT.linkExpired]);
    expect(TEXT.linkExpired).toBe('Sorry, that code has expired. Ask for a new one.');
    expect(await chat.send('who am I')).toEqual(["I don't know you yet."]);
    expect((await w.api('GET', '/v1/users/web-10')).status).toBe(404);
  });

  it('five wrong codes per identity, then even a right code is refused', async () => {
    const { code } = await newCode({ userId: 'web-11', name: 'Wang Wu' });
    const chat = w.h.sms(randomNumber());
    const wrong = wrongCode([code]);
    for (let i = 1; i <= 5; i++)
      expect(await chat.send(`LINK ${wrong}`), `try ${i}`).toEqual([TEXT.linkInvalid]);
    expect(await chat.send(`LINK ${code}`)).toEqual([TEXT.linkLimited(15)]);
    expect(TEXT.linkLimited(15)).toBe('Too many wrong codes. Please try again in 15 minutes.');
    expect(await chat.send('who am I')).toEqual(["I don't know you yet."]);

    // The limit is per identity: the right code still works from another number, once.
    const other = w.h.sms(randomNumber());
    expect(await other.send(`LINK ${code}`)).toEqual([TEXT.linked('You are Wang Wu (verified).')]);
  });

  it('a LINK in the middle of a question answers it and the question is still pending', async () => {
    const { code } = await newCode({ userId: 'web-12', name: 'Zhao Liu' });
    const chat = w.h.sms(randomNumber());
    expect(await chat.send('hello')).toEqual([MAIN_PROMPT]);
    expect(await chat.send(`link ${code}`)).toEqual([TEXT.linked('You are Zhao Liu (verified).')]);
    expect(await chat.send('3')).toEqual([TEXT.retry, MAIN_PROMPT]); // still the same ask: 3 is not an option
  });
});
