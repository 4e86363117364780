// POST /v1/messages through the real gateway: WhatsApp's 24-hour window (text inside, the named template
// outside, 409 without one), opt-outs, the Idempotency-Key under concurrency, and Twilio's status callbacks
// moving GET /v1/messages/{id} on, each told as a `message.status` event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queuesIdle } from '../identity-e2e/helpers.js';
import { randomNumber } from '../dialog/helpers.js';
import { NUMBERS } from '../../support/config.js';
import { manualClock } from '../../support/clock.js';
import { eventually } from '../../support/wait.js';
import { CARD_SID, get, post, READY_SID, startWorld, type World } from './helpers.js';

const clock = manualClock();
let w: World;

beforeAll(async () => {
  w = await startWorld('proactive-msg', clock);
}, 60_000);
afterAll(async () => {
  await w?.close();
});

/** The message id and conversation of a 202. */
function accepted(answer: { status: number; json: unknown; text: string }) {
  expect(answer.status, answer.text).toBe(202);
  return answer.json as { id: string; conversation: string; status: string; sentAs: string };
}

/** Resolves once the send worker has remembered the MessageSid for its status callbacks. */
async function sentMark(cid: string, sid: string): Promise<string> {
  return eventually(async () => (await w.h.redis.get(w.h.keys.sent(cid, sid))) ?? undefined, 'sent mark');
}

function statusCallback(sid: string, status: string, to: string, extra: Record<string, string> = {}) {
  return w.h.webhooks.post('/webhooks/status', {
    AccountSid: w.h.webhooks.accountSid,
    ApiVersion: '2010-04-01',
    MessageSid: sid,
    MessageStatus: status,
    From: `whatsapp:${NUMBERS.whatsapp}`,
    To: to,
    ...extra,
  });
}

describe('POST /v1/messages on WhatsApp', () => {
  it('sends free text inside the 24-hour window of the user’s last message', async () => {
    const chat = w.h.whatsapp();
    expect(await chat.send('hi')).toEqual(['Hello. Say anything.']);
    const answer = accepted(
      await post(w.h, '/v1/messages', {
        bot: 'pharmacy',
        to: chat.identity,
        text: 'Your prescription is ready.',
      }),
    );
    expect(answer).toEqual({
      id: expect.stringMatching(/^msg_[A-Za-z0-9_-]{22}$/),
      status: 'queued',
      bot: 'pharmacy',
      channel: 'whatsapp',
      conversation: w.h.cid('pharmacy', chat.identity),
      sentAs: 'text',
    });
    const [, sent] = await w.h.twilio.waitForMessages(chat.address, 2);
    expect(sent!.body).toBe('Your prescription is ready.');
    expect(sent!.contentSid).toBeUndefined();
    expect(sent!.from).toBe(`whatsapp:${NUMBERS.whatsapp}`);
  });

  it('sends the named template, with its variables as ContentVariables JSON, to a user who never wrote', async () => {
    const to = `whatsapp:${randomNumber()}`;
    const answer = accepted(
      await post(w.h, '/v1/messages', {
        bot: 'pharmacy',
        to,
        template: { name: 'ready', variables: { '2': 'after 3pm', '1': 'Ada' } },
      }),
    );
    expect(answer.sentAs).toBe('template');
    const [sent] = await w.h.twilio.waitForMessages(to, 1);
    expect(sent!.contentSid).toBe(READY_SID);
    expect(sent!.params.ContentVariables).toBe('{"1":"Ada","2":"after 3pm"}');
    expect(sent!.body).toBeUndefined();
  });

  it('refuses text outside the window with 409 and sends nothing', async () => {
    const chat = w.h.whatsapp();
    expect(await chat.send('hi')).toEqual(['Hello. Say anything.']);
    clock.advance(24 * 3600 * 1000 + 1000);
    const stranger = `whatsapp:${randomNumber()}`;
    for (const to of [chat.identity, stranger]) {
      const answer = await post(w.h, '/v1/messages', {
        bot: 'pharmacy',
        to,
        text: 'Your prescription is ready.',
      });
      expect(answer.status).toBe(409);
      expect(answer.json).toEqual({
        error: {
          code: 'outside_whatsapp_window',
          message:
            'Not sent: the recipient has not written in the last 24 hours, and WhatsApp allows free text only within 24 hours of their last message. Send one of the bot\'s templates instead ("template": {"name": …, "variables": {…}}).',
        },
      });
      expect(await w.h.redis.exists(w.h.keys.outbox(w.h.cid('pharmacy', to)))).toBe(0);
    }
    await queuesIdle(w.h);
    expect(w.h.twilio.attemptsTo(stranger)).toEqual([]);
    expect(w.h.twilio.messagesTo(chat.address)).toHaveLength(1);
  });
});

describe('POST /v1/messages on SMS', () => {
  it('refuses an opted-out number with 409 and sends nothing', async () => {
    const chat = w.h.sms();
    await chat.send('STOP');
    const answer = await post(w.h, '/v1/messages', { bot: 'pharmacy', to: chat.identity, text: 'Ready.' });
    expect(answer.status).toBe(409);
    expect(answer.json).toEqual({
      error: {
        code: 'opted_out',
        message:
          'The recipient opted out of this bot (STOP): nothing was sent. They opt back in by sending START.',
      },
    });
    await queuesIdle(w.h);
    expect(await w.h.redis.exists(w.h.keys.outbox(w.h.cid('pharmacy', chat.identity)))).toBe(0);
    // Only the opt-out's own confirmation went out: the proactive message did not.
    expect(w.h.twilio.attemptsTo(chat.address).map((a) => a.params.Body)).toEqual([
      "You won't get more messages. Reply START to come back.",
    ]);
  });
});

describe('the Idempotency-Key', () => {
  it('sends one message for 5 concurrent identical POSTs, all answered with its id', async () => {
    const phone = randomNumber();
    const body = { bot: 'pharmacy', to: `sms:${phone}`, text: 'Your prescription is ready.' };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => post(w.h, '/v1/messages', body, { idempotencyKey: 'order-77' })),
    );
    const ids = answers.map((a) => accepted(a).id);
    expect(new Set(ids).size).toBe(1);
    expect(answers.map((a) => a.text)).toEqual(Array(5).fill(answers[0]!.text));
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(4);
    await w.h.twilio.waitForMessages(phone, 1);
    await queuesIdle(w.h);
    expect(w.h.twilio.attemptsTo(phone)).toHaveLength(1);
    // One change, in the audit log once.
    const audit = (await get(w.h, '/v1/audit')).json as {
      entries: { action: string; target: Record<string, string> }[];
    };
    expect(audit.entries.filter((e) => e.target.message === ids[0])).toEqual([
      expect.objectContaining({
        action: 'message.send',
        target: { bot: 'pharmacy', conversation: w.h.cid('pharmacy', `sms:${phone}`), message: ids[0] },
      }),
    ]);

    // Later, the same key and body: the same answer again, nothing sent.
    const again = await post(w.h, '/v1/messages', body, { idempotencyKey: 'order-77' });
    expect(again.status).toBe(202);
    expect(again.text).toBe(answers[0]!.text);
    const other = await post(
      w.h,
      '/v1/messages',
      { ...body, text: 'Other.' },
      { idempotencyKey: 'order-77' },
    );
    expect(other.status).toBe(422);
    expect((other.json as { error: { code: string } }).error.code).toBe('idempotency_key_reused');
    await queuesIdle(w.h);
    expect(w.h.twilio.attemptsTo(phone)).toHaveLength(1);
    // The key is kept by its keyed hash, with a hash of the body: neither the number nor the text is in it.
    const stored = await w.h.redis.get(w.h.keys.idempotency('acme', 'order-77'));
    expect(stored).not.toContain(phone);
    expect(stored).not.toContain('prescription');
    expect(await w.h.redis.ttl(w.h.keys.idempotency('acme', 'order-77'))).toBeGreaterThan(86_000);
  });
});

describe('GET /v1/messages/{id}', () => {
  it('follows Twilio’s status callbacks to delivered, and to failed with the error code, with events', async () => {
    const to = `whatsapp:${randomNumber()}`;
    const template = { name: 'card_check', variables: { name: 'Ada' } };
    const first = accepted(await post(w.h, '/v1/messages', { bot: 'pharmacy', to, template }));
    const second = accepted(await post(w.h, '/v1/messages', { bot: 'pharmacy', to, template }));
    const [m1, m2] = await w.h.twilio.waitForMessages(to, 2);
    expect(m1!.contentSid).toBe(CARD_SID);
    expect(await sentMark(first.conversation, m1!.sid)).toBe(first.id);
    expect(await sentMark(second.conversation, m2!.sid)).toBe(second.id);
    const queued = await get(w.h, `/v1/messages/${first.id}`);
    expect(queued.json).toMatchObject({
      id: first.id,
      status: 'queued',
      errorCode: null,
      channel: 'whatsapp',
    });

    for (const status of ['sent', 'delivered', 'sent']) {
      expect((await statusCallback(m1!.sid, status, to)).status).toBe(204);
    }
    expect((await get(w.h, `/v1/messages/${first.id}`)).json).toMatchObject({
      status: 'delivered',
      errorCode: null,
      bot: 'pharmacy',
      conversation: first.conversation,
    });
    expect((await statusCallback(m2!.sid, 'undelivered', to, { ErrorCode: '63016' })).status).toBe(204);
    expect((await get(w.h, `/v1/messages/${second.id}`)).json).toMatchObject({
      status: 'failed',
      errorCode: '63016',
    });

    const statuses = async () => {
      const found = w.events
        .accepted()
        .map((d) => d.event)
        .filter((e) => e?.type === 'message.status')
        .map((e) => e!.data as Record<string, unknown>);
      return found.length >= 3 ? found : undefined;
    };
    const events = await eventually(statuses, 'three message.status events');
    expect(events).toEqual([
      { message: first.id, bot: 'pharmacy', status: 'sent' },
      { message: first.id, bot: 'pharmacy', status: 'delivered' },
      { message: second.id, bot: 'pharmacy', status: 'failed', errorCode: '63016' },
    ]);
    // The undelivered message is also a `message.failed`, as any reply's is.
    const failed = await eventually(
      async () => w.events.accepted().find((d) => d.event?.type === 'message.failed')?.event,
      'message.failed',
    );
    expect(failed.data).toEqual({
      bot: 'pharmacy',
      to,
      reason: 'Twilio reported undelivered',
      errorCode: '63016',
    });
  });
});
