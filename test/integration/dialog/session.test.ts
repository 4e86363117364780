// Session timeout (a message after sessionTimeout starts main again) and the per-identity rate limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../support/clock.js';
import { botOn, startDialogHarness, type DialogHarness } from './helpers.js';

const HASTY_SMS = '+15005550012';
const LIMITED_SMS = '+15005550013';
const LIMITED_WHATSAPP = '+15005550014';
const SLOW_DOWN = 'Easy there: three messages a minute, please.';

const FLOWS = `    flows:
      main:
        - say: "Main menu, you wrote {{input}}."
        - ask: { prompt: "Reply 1 for a question.", save: pick, keypad: true }
        - goto: question
      question:
        - ask: { prompt: "What is your question?", save: question }
        - end: "Noted: {{question}}."`;

const BOTS = [
  botOn('patient', `    sessionTimeout: 3600\n${FLOWS}`),
  botOn('hasty', `    sessionTimeout: 1\n${FLOWS}`, { sms: HASTY_SMS }),
  botOn(
    'limited',
    `    rateLimit: { messagesPerMinute: 3, reply: "${SLOW_DOWN}" }
    flows:
      main:
        - ask: { prompt: "Got {{input}}.", save: last }
        - goto: main`,
    { sms: LIMITED_SMS, whatsapp: LIMITED_WHATSAPP },
  ),
].join('\n');

// Sessions expire and rate-limit minutes end by this clock: the tests move it instead of waiting.
const clock = manualClock();
let h: DialogHarness;
beforeAll(async () => {
  h = await startDialogHarness({ bots: BOTS, label: 'session', clock });
});
afterAll(async () => {
  await h?.close();
});

describe.each(['sms', 'whatsapp'] as const)('sessionTimeout on %s', (channel) => {
  it('stores an absolute expiry sessionTimeout after the last turn; once past, the next message starts main', async () => {
    const c = channel === 'sms' ? h.sms() : h.whatsapp();
    const cid = h.cid('patient', c.identity);
    expect(await c.send('hi')).toEqual(['Main menu, you wrote hi.', 'Reply 1 for a question.']);
    expect(await c.send('1')).toEqual(['What is your question?']);
    const state = await h.store.state(cid);
    expect(state).toMatchObject({ flow: 'question', step: 0, pending: { kind: 'ask', misses: 0 } });
    expect(state!.expiresAt).toBe(clock.now() + 3_600_000);

    // An hour of silence and a millisecond more, on the gateway's clock (the state is still in Redis).
    clock.advance(3_600_001);
    expect(await h.store.state(cid)).toEqual(state);
    // The message starts main (available as {{input}}) and does not answer the pending question.
    expect(await c.send('When do you open?')).toEqual([
      'Main menu, you wrote When do you open?.',
      'Reply 1 for a question.',
    ]);
    expect(await c.send('1')).toEqual(['What is your question?']);
    expect(await c.send('Parking')).toEqual(['Noted: Parking.']);
  });
});

describe('sessionTimeout: 1', () => {
  it('a message within the second answers the question; one after it starts main instead', async () => {
    const c = h.sms(undefined, HASTY_SMS);
    const cid = h.cid('hasty', c.identity);
    expect(await c.send('hi')).toEqual(['Main menu, you wrote hi.', 'Reply 1 for a question.']);
    expect((await h.store.state(cid))!.expiresAt).toBe(clock.now() + 1000);
    clock.advance(999);
    expect(await c.send('1')).toEqual(['What is your question?']);
    clock.advance(1000); // expiry is exclusive: exactly a second later the session is over
    expect(await c.send('Parking')).toEqual(['Main menu, you wrote Parking.', 'Reply 1 for a question.']);
  });
});

describe('rate limit', () => {
  it('over messagesPerMinute: one polite reply, then silence; other identities are not affected', async () => {
    // The counter is per minute of the gateway's clock, which stands still meanwhile: one minute.
    clock.advance(60_000 - (clock.now() % 60_000));
    const c = h.sms(undefined, LIMITED_SMS);
    expect(await c.send('a')).toEqual(['Got a.']);
    expect(await c.send('b')).toEqual(['Got b.']);
    expect(await c.send('c')).toEqual(['Got c.']);
    expect(await c.send('d')).toEqual([SLOW_DOWN]);
    expect(await c.send('e')).toEqual([]);
    expect(await c.send('f')).toEqual([]);
    expect(h.twilio.messagesTo(c.address).map((m) => m.body)).toEqual([
      'Got a.',
      'Got b.',
      'Got c.',
      SLOW_DOWN,
    ]);

    // Another number, and the same number on WhatsApp, are other identities with their own allowance.
    const other = h.sms(undefined, LIMITED_SMS);
    expect(await other.send('x')).toEqual(['Got x.']);
    const sameNumberOnWhatsApp = h.whatsapp(c.from, LIMITED_WHATSAPP);
    expect(await sameNumberOnWhatsApp.send('y')).toEqual(['Got y.']);

    // The last millisecond of the minute is still in it; the next minute allows three again.
    clock.advance(59_999);
    expect(await c.send('g')).toEqual([]);
    clock.advance(1);
    expect(await c.send('h')).toEqual(['Got h.']);
  });
});
