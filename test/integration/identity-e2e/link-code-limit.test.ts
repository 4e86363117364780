// Wrong link codes count against the whole workspace: many numbers together trip the limit, with an event and a metric.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { manualClock } from '../../support/clock.js';
import { randomNumber, startWorld, waitForEvent, type World } from './helpers.js';

const clock = manualClock();
let w: World;
beforeAll(async () => {
  // 10 wrong codes per workspace per 15 minutes; a 2-second pause, on a clock the test moves.
  w = await startWorld({
    label: 'e2e-link-limit',
    clock,
    adjust: (config) => {
      config.workspaces.acme!.linkCodes = { maxFailures: 10, window: 900, lockout: 2 };
    },
  });
});
afterAll(async () => {
  await w?.close();
});

/** A code of the same shape as `code` that is not it: the last character swapped for another of the alphabet. */
function near(code: string, n: number): string {
  const others = [...'0123456789ABCDEFGHJKMNPQRSTVWXYZ'].filter((c) => c !== code.at(-1));
  return `${code.slice(0, -1)}${others[n % others.length]}`;
}

describe('link codes per workspace', () => {
  it('30 wrong codes from 6 numbers trip the limit; the right code from a 7th is refused, and works after the pause', async () => {
    const created = await w.api('POST', '/v1/link-codes', {
      body: { userId: 'lim-victim', name: 'Vic Tim' },
    });
    expect(created.status).toBe(201);
    const code = (created.json as { code: string }).code;
    const replies: string[] = [];
    for (let phone = 0; phone < 6; phone++) {
      const chat = w.h.sms(randomNumber());
      for (let i = 0; i < 5; i++) replies.push(...(await chat.send(`LINK ${near(code, phone * 5 + i)}`)));
    }
    // 10 wrong codes are answered as such; then the workspace is paused and every try is refused, with
    // the pause as it is configured (2 s: "1 minute"), not a fixed text.
    expect(replies).toEqual([...Array(10).fill(TEXT.linkInvalid), ...Array(20).fill(TEXT.linkLimited(1))]);

    // The right code from a seventh number gets the same refusal, and the code is not spent.
    const seventh = w.h.sms(randomNumber());
    expect(await seventh.send(`LINK ${code}`)).toEqual([TEXT.linkLimited(1)]);
    expect(await seventh.send('who am I')).toEqual(["I don't know you yet."]);

    const event = await waitForEvent(
      w.acmeEvents,
      (e) => e.type === 'link_codes.locked',
      'link_codes.locked',
    );
    expect(event.signature).toMatchObject({ ok: true });
    expect(event.event).toMatchObject({
      type: 'link_codes.locked',
      workspace: 'acme',
      channel: 'sms',
      data: { bot: 'bank', maxFailures: 10, window: 900 },
    });
    expect(w.acmeEvents.accepted().filter((d) => d.event?.type === 'link_codes.locked')).toHaveLength(1);
    expect(w.globexEvents.accepted().filter((d) => d.event?.type === 'link_codes.locked')).toHaveLength(0);
    expect(await w.h.metric('switchboard_link_code_limit_trips_total', { workspace: 'acme' })).toBe(1);

    // The pause ends by the clock, though Redis still holds its record; then the right code links (the
    // refusals never spent it).
    const pause = new IdentityKeys(w.h.keys).linkCodeWorkspaceFailures('acme');
    clock.advance(1999);
    expect(await w.h.sms(randomNumber()).send(`LINK ${code}`)).toEqual([TEXT.linkLimited(1)]);
    clock.advance(1);
    expect(await w.h.redis.exists(pause)).toBe(1);
    const eighth = w.h.sms(randomNumber());
    expect(await eighth.send(`LINK ${code.toLowerCase().replace(/(.{5})/, '$1-')}`)).toEqual([
      TEXT.linked('You are Vic Tim (verified).'),
    ]);
  });
});
