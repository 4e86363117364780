// POST /v1/conversations through the real gateway: a flow started for a user asks its first question (through
// the template when WhatsApp's window is closed), the user's answer continues it, and a step that needs a
// token runs the sign-in as usual.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomNumber } from '../dialog/helpers.js';
import { NUMBERS } from '../../support/config.js';
import {
  ASK_PASSWORD,
  ASK_USERNAME,
  CANARY,
  CARD_PROMPT,
  CARD_SID,
  get,
  post,
  startWorld,
  type World,
} from './helpers.js';

let w: World;

beforeAll(async () => {
  w = await startWorld('proactive-conv');
}, 60_000);
afterAll(async () => {
  await w?.close();
});

describe('POST /v1/conversations', () => {
  it('asks the flow’s first question, continues with the user’s "1" and signs them in as usual', async () => {
    w.bank.addAccount('ada', { password: CANARY, userId: 'member-1' });
    const chat = w.h.sms();
    const answer = await post(w.h, '/v1/conversations', {
      bot: 'pharmacy',
      to: chat.identity,
      flow: 'card_check',
      variables: { name: 'Ada', amount: '£20.00' },
    });
    expect(answer.status, answer.text).toBe(202);
    const cid = w.h.cid('pharmacy', chat.identity);
    expect(answer.json).toEqual({
      conversation: cid,
      bot: 'pharmacy',
      channel: 'sms',
      flow: 'card_check',
      status: 'queued',
    });
    const [prompt] = await w.h.twilio.waitForMessages(chat.address, 1);
    expect(prompt!.body).toBe(CARD_PROMPT);
    expect(prompt!.from).toBe(NUMBERS.sms);

    const listed = (await get(w.h, '/v1/conversations?channel=sms')).json as {
      conversations: { id: string; flow: string; state: string }[];
    };
    expect(listed.conversations.find((c) => c.id === cid)).toMatchObject({
      flow: 'card_check',
      state: 'waiting',
    });

    expect(await chat.send('3')).toEqual(["Sorry, that doesn't look right.", CARD_PROMPT]); // not 1 or 2: told so, then asked again
    expect(await chat.send('1')).toEqual([ASK_USERNAME]);
    expect(await chat.send('ada')).toEqual([ASK_PASSWORD]);
    expect(await chat.send(CANARY)).toEqual(['Thanks Ada, the payment of £20.00 is confirmed.']);
  });

  it('sends the first prompt through the template when the WhatsApp window is closed, and 409 without one', async () => {
    const phone = randomNumber();
    const to = `whatsapp:${phone}`;
    const refused = await post(w.h, '/v1/conversations', { bot: 'pharmacy', to, flow: 'card_check' });
    expect(refused.status).toBe(409);
    expect((refused.json as { error: { code: string } }).error.code).toBe('outside_whatsapp_window');
    expect(await w.h.redis.exists(w.h.keys.inbox(w.h.cid('pharmacy', to)))).toBe(0);

    const started = await post(w.h, '/v1/conversations', {
      bot: 'pharmacy',
      to,
      flow: 'card_check',
      variables: { name: 'Ada', amount: '£20.00' },
      template: { name: 'card_check', variables: { name: 'Ada' } },
    });
    expect(started.status, started.text).toBe(202);
    const [sent] = await w.h.twilio.waitForMessages(to, 1);
    expect(sent!.contentSid).toBe(CARD_SID);
    expect(sent!.params.ContentVariables).toBe('{"name":"Ada"}');
    // Their answer (to the template's buttons or in words) opens the window: the flow goes on in free text.
    const chat = w.h.whatsapp(phone);
    expect(await chat.send('2')).toEqual(['The card is blocked.']);
  });

  it('inside the window, sends the first prompt as text even with a template', async () => {
    const chat = w.h.whatsapp();
    expect(await chat.send('hi')).toEqual(['Hello. Say anything.']);
    const started = await post(w.h, '/v1/conversations', {
      bot: 'pharmacy',
      to: chat.identity,
      flow: 'card_check',
      template: { name: 'card_check', variables: { name: 'Ada' } },
    });
    expect(started.status, started.text).toBe(202);
    const [, sent] = await w.h.twilio.waitForMessages(chat.address, 2);
    expect(sent!.body).toBe(CARD_PROMPT);
    expect(sent!.contentSid).toBeUndefined();
  });
});
