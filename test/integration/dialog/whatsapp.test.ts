// WhatsApp specifics: a button's payload is the answer; outside the 24-hour window the template is sent, or the reply fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../../src/core/events.js';
import { ACCOUNT_SID, NUMBERS } from '../../support/config.js';
import { newSid } from '../../support/webhooks.js';
import { botOn, randomNumber, startDialogHarness, type DialogHarness } from './helpers.js';

const TEMPLATE_SID = 'HX0123456789abcdef0123456789abcdef';
const PLAIN_WHATSAPP = '+15005550015';
const PROMPT = 'Shall we deliver tomorrow? Tap Yes or No.';

const FLOWS = `    flows:
      main:
        - ask: { prompt: "${PROMPT}", save: answer, pattern: "^(yes|no)$" }
        - switch: { value: "{{answer}}", cases: { "yes": confirmed, "no": declined } }
      confirmed:
        - end: "Delivery booked for tomorrow."
      declined:
        - end: "No delivery then."`;

const BOTS = [
  botOn('shop', `    whatsappTemplate: { contentSid: ${TEMPLATE_SID} }\n${FLOWS}`, {
    whatsapp: NUMBERS.whatsapp,
  }),
  botOn('plain-shop', FLOWS, { whatsapp: PLAIN_WHATSAPP }),
].join('\n');

const DAY_MS = 24 * 3600 * 1000;

let h: DialogHarness;
beforeAll(async () => {
  h = await startDialogHarness({ bots: BOTS, label: 'whatsapp' });
});
afterAll(async () => {
  await h?.close();
});

/** An inbound WhatsApp message the user sent `ageMs` ago, handled only now (as after a long outage). */
function lateMessage(botId: string, from: string, ourNumber: string, ageMs: number): InboundEvent {
  return {
    id: newSid(),
    kind: 'message',
    botId,
    channel: 'whatsapp',
    identity: `whatsapp:${from}`,
    from: `whatsapp:${from}`,
    to: `whatsapp:${ourNumber}`,
    provider: { accountSid: ACCOUNT_SID },
    text: 'hi',
    receivedAt: Date.now() - ageMs,
  };
}

describe('WhatsApp buttons', () => {
  it('ButtonPayload is the answer, not the button label in Body', async () => {
    const c = h.whatsapp();
    expect(await c.send('hi')).toEqual([PROMPT]);
    // The label alone does not match the pattern: asked again.
    expect(await c.send('Yes please!')).toEqual(["Sorry, that doesn't look right.", PROMPT]);
    expect(
      await c.send('Yes please!', { MessageType: 'button', ButtonText: 'Yes please!', ButtonPayload: 'yes' }),
    ).toEqual(['Delivery booked for tomorrow.']);

    const d = h.whatsapp();
    await d.send('hi');
    expect(
      await d.send('No thanks', { MessageType: 'button', ButtonText: 'No thanks', ButtonPayload: 'no' }),
    ).toEqual(['No delivery then.']);
  });
});

describe('the 24-hour window', () => {
  it('inside the window the reply is free text', async () => {
    const c = h.whatsapp();
    expect(await c.send('hi')).toEqual([PROMPT]);
    expect(h.twilio.messagesTo(c.address)[0]!.params).toEqual({
      To: c.address,
      From: `whatsapp:${NUMBERS.whatsapp}`,
      Body: PROMPT,
    });
  });

  it('outside it, the reply is sent as the bot whatsappTemplate (ContentSid, no Body)', async () => {
    const from = randomNumber();
    const event = lateMessage('shop', from, NUMBERS.whatsapp, DAY_MS + 60_000);
    await h.inject(event);
    expect(Number((await h.handled(event.id)).replies)).toBe(1);
    const [sent] = await h.twilio.waitForMessages(`whatsapp:${from}`, 1);
    expect(sent!.params).toEqual({
      To: `whatsapp:${from}`,
      From: `whatsapp:${NUMBERS.whatsapp}`,
      ContentSid: TEMPLATE_SID,
    });
  });

  it('outside it, without a template, nothing is sent and the reply is recorded as failed', async () => {
    const from = randomNumber();
    const failedBefore = await h.metric('switchboard_outbound_messages_total', {
      channel: 'whatsapp',
      status: 'failed',
    });
    const event = lateMessage('plain-shop', from, PLAIN_WHATSAPP, DAY_MS + 60_000);
    await h.inject(event);
    const cid = h.cid('plain-shop', `whatsapp:${from}`);
    const line = await h.logs.waitForMessage('reply not delivered', (l) => l.conversation === cid);
    expect(line).toMatchObject({
      level: 'warn',
      bot: 'plain-shop',
      channel: 'whatsapp',
      reply: `${event.id}:0`,
      reason: 'outside the WhatsApp 24-hour window and the bot has no whatsappTemplate',
    });
    expect(
      await h.metric('switchboard_outbound_messages_total', { channel: 'whatsapp', status: 'failed' }),
    ).toBe(failedBefore + 1);
    expect(h.twilio.attemptsTo(`whatsapp:${from}`)).toEqual([]);
    // The failed reply left the outbox: nothing is retried later.
    expect(await h.store.outboxLength(cid)).toBe(0);
  });

  it('a message just inside 24 hours still gets free text', async () => {
    const from = randomNumber();
    const event = lateMessage('plain-shop', from, PLAIN_WHATSAPP, DAY_MS - 60_000);
    await h.inject(event);
    await h.handled(event.id);
    const [sent] = await h.twilio.waitForMessages(`whatsapp:${from}`, 1);
    expect(sent!.body).toBe(PROMPT);
    expect(sent!.contentSid).toBeUndefined();
  });
});
