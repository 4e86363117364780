// Session timeout (a message after sessionTimeout starts main again) and the per-identity rate limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awayFromMinuteEnd, botOn, startDialogHarness, type DialogHarness } from './helpers.js';

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

let h: DialogHarness;
beforeAll(async () => {
  h = await startDialogHarness({ bots: BOTS, label: 'session' });
});
afterAll(async () => {
  await h?.close();
});

describe.each(['sms', 'whatsapp'] as const)('sessionTimeout on %s', (channel) => {
  it('stores an absolute expiry sessionTimeout after the last turn; once past, the next message starts main', async () => {
    const c = channel === 'sms' ? h.sms() : h.whatsapp();
    const cid = h.cid('patient', c.identity);
    expect(await c.send('hi')).toEqual(['Main menu, you wrote hi.', 'Reply 1 for a question.']);
    const before = Date.now();
    expect(await c.send('1')).toEqual(['What is your question?']);
    const after = Date.now();
    const state = await h.store.state(cid);
    expect(state).toMatchObject({ flow: 'question', step: 0, pending: { kind: 'ask', misses: 0 } });
    expect(state!.expiresAt).toBeGreaterThanOrEqual(before - 1000 + 3_600_000);
    expect(state!.expiresAt).toBeLessThanOrEqual(after + 3_600_000);

    // An hour of silence, constructed: the stored expiry is moved into the past.
    await h.expireConversation(cid);
    // The message starts main (available as {{input}}) and does not answer the pending question.
    expect(await c.send('When do you open?')).toEqual([
      'Main menu, you wrote When do you open?.',
      'Reply 1 for a question.',
    ]);
    expect(await c.send('1')).toEqual(['What is your question?']);
    expect(await c.send('Parking')).toEqual(['Noted: Parking.']);
  });
});

describe('sessionTimeout: 1 on the wall clock', () => {
  it('a message after the second has passed starts main instead of answering', async () => {
    const c = h.sms(undefined, HASTY_SMS);
    const cid = h.cid('hasty', c.identity);
    const sent = Date.now();
    expect(await c.send('hi')).toEqual(['Main menu, you wrote hi.', 'Reply 1 for a question.']);
    const state = await h.store.state(cid);
    expect(state!.expiresAt - sent).toBeGreaterThan(0);
    expect(state!.expiresAt - Date.now()).toBeLessThanOrEqual(1000);
    // A bounded wait for the stored expiry to pass (at most the one second the bot allows).
    await waitUntil(() => Date.now() > state!.expiresAt, 3000);
    expect(await c.send('1')).toEqual(['Main menu, you wrote 1.', 'Reply 1 for a question.']);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('rate limit', () => {
  it('over messagesPerMinute: one polite reply, then silence; other identities are not affected', async () => {
    // The counter is per clock minute: keep the burst inside one.
    await awayFromMinuteEnd(10_000);
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
  });
});
