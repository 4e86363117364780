// What the webhooks refuse or tolerate: signatures, size, malformed bodies, unknown fields, duplicates.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { newSid } from '../../support/webhooks.js';

const USER = '+12125551234';

let h: Harness;
let cid: string;
beforeEach(async () => {
  h = await startHarness({ bots: ECHO_BOT, label: 'guards' });
  cid = h.conversation('echo', `sms:${USER}`);
});
afterEach(async () => {
  await h.close();
});

/** Every key this test's gateway wrote for the conversation. */
async function conversationKeys(): Promise<string[]> {
  return (await h.redis.keys(h.keys.everything())).filter((k) => k.includes(cid));
}

async function metric(name: string, labels: string): Promise<number | undefined> {
  const text = await (await fetch(`${h.main!.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('signatures', () => {
  it('refuses a signature made with another auth token with 403 and queues nothing', async () => {
    const params = h.webhooks.smsParams(USER, 'hello');
    const answer = await h.webhooks.post('/webhooks/sms', params, { signWith: 'not-the-auth-token-000000' });
    expect(answer).toMatchObject({ status: 403, body: 'Forbidden: signature does not match.' });
    expect(await h.redis.exists(h.keys.inbox(cid))).toBe(0);
    expect(await h.redis.exists(h.keys.seen(cid))).toBe(0);
    expect(await conversationKeys()).toEqual([]);
    const logged = await h.main!.logs.waitForMessage('webhook refused');
    expect(logged).toMatchObject({
      level: 'warn',
      reason: 'signature does not match',
      path: '/webhooks/sms',
    });
  });

  it('refuses a request without a signature with 403 and queues nothing', async () => {
    const answer = await h.webhooks.sms(USER, 'hello', {}, { signWith: null });
    expect(answer).toMatchObject({ status: 403, body: 'Forbidden: no X-Twilio-Signature header.' });
    expect(await h.redis.exists(h.keys.inbox(cid))).toBe(0);
    expect(await conversationKeys()).toEqual([]);
  });

  it('refuses a valid signature replayed with a changed parameter', async () => {
    const params = h.webhooks.smsParams(USER, 'pay 10');
    const signature = h.webhooks.sign('/webhooks/sms', params);
    const answer = await h.webhooks.post('/webhooks/sms', { ...params, Body: 'pay 1000' }, { signature });
    expect(answer.status).toBe(403);
    expect(await h.redis.exists(h.keys.inbox(cid))).toBe(0);
  });

  it('refuses a signature computed over another URL (the public URL is what Twilio signs)', async () => {
    const params = h.webhooks.smsParams(USER, 'hello');
    const signature = h.webhooks.sign('/webhooks/whatsapp', params);
    expect((await h.webhooks.post('/webhooks/sms', params, { signature })).status).toBe(403);
    expect(await h.redis.exists(h.keys.inbox(cid))).toBe(0);
  });

  it('refuses an account it does not know', async () => {
    const params = h.webhooks.smsParams(USER, 'hello', { AccountSid: 'AC99999999999999999999999999999999' });
    const answer = await h.webhooks.post('/webhooks/sms', params);
    expect(answer).toMatchObject({ status: 403, body: 'Forbidden: unknown AccountSid.' });
    expect(await conversationKeys()).toEqual([]);
  });
});

describe('malformed input', () => {
  it('answers 413 to a body over 64 KiB', async () => {
    const answer = await h.webhooks.sms(USER, 'x'.repeat(65 * 1024));
    expect(answer).toMatchObject({
      status: 413,
      body: 'Payload too large: the limit is 64 KiB for webhooks.',
    });
    expect(await conversationKeys()).toEqual([]);
  });

  it('accepts a body just under 64 KiB', async () => {
    const answer = await h.webhooks.sms(USER, 'y'.repeat(60 * 1024));
    expect(answer.status).toBe(200);
    // "got " and one 61,440-character word: cut after "got", then at the 1,600-character limit.
    const replies = await h.twilio.waitForMessages(USER, 40);
    expect(replies.map((m) => m.body)).toEqual([
      'got',
      ...Array.from({ length: 38 }, () => 'y'.repeat(1600)),
      'y'.repeat(640),
    ]);
  });

  it('answers 400 to a body that is not a form', async () => {
    const json = await h.webhooks.post(
      '/webhooks/sms',
      {},
      { raw: { body: '{"From": "+12125551234",', contentType: 'application/json' } },
    );
    expect(json).toMatchObject({
      status: 400,
      body: 'Expected an application/x-www-form-urlencoded body, as Twilio sends.',
    });
    const binary = await h.webhooks.post(
      '/webhooks/voice',
      {},
      {
        raw: { body: Buffer.from([0, 159, 146, 150, 255, 10, 13]), contentType: 'application/octet-stream' },
      },
    );
    expect(binary.status).toBe(400);
  });

  it('answers 400 to a signed form without the fields Twilio always sends', async () => {
    const answer = await h.webhooks.post('/webhooks/sms', {
      AccountSid: h.webhooks.accountSid,
      Body: '\u0000\u00ff garbage',
      Junk: '%%%',
    });
    expect(answer).toMatchObject({ status: 400, body: 'Bad request: missing MessageSid, From, To.' });
    expect(await h.redis.keys(h.keys.conversationKeysPattern())).toEqual([]);
  });

  it('answers 400 to a From that is not a phone number, and 404 to a number no bot serves', async () => {
    const notE164 = await h.webhooks.sms('12125551234', 'hello');
    expect(notE164).toMatchObject({ status: 400, body: 'Bad request: From is not an E.164 number.' });
    const unknownNumber = await h.webhooks.sms(USER, 'hello', { To: '+15005550099' });
    expect(unknownNumber).toMatchObject({ status: 404, body: 'No bot serves sms number +15005550099.' });
    expect(await h.redis.keys(h.keys.conversationKeysPattern())).toEqual([]);
  });

  it('answers 415, never 5xx, to a form in a charset it cannot read', async () => {
    const answer = await h.webhooks.post(
      '/webhooks/sms',
      {},
      { raw: { body: 'Body=hi', contentType: 'application/x-www-form-urlencoded; charset=x-unknown' } },
    );
    expect(answer).toMatchObject({ status: 415, body: 'Bad request: unsupported charset "X-UNKNOWN".' });
  });

  it('accepts parameters it does not know (Twilio adds them without notice)', async () => {
    const answer = await h.webhooks.sms(USER, 'hello', {
      FutureParameter: 'surprise',
      AddOns: '{"status":"successful","results":{}}',
      ToState: 'CA',
      FromCity: 'NEW YORK',
    });
    expect(answer.status).toBe(200);
    const [reply] = await h.twilio.waitForMessages(USER, 1);
    expect(reply!.body).toBe('got hello');
  });
});

describe('duplicates', () => {
  it('handles the same MessageSid posted five times at once exactly once', async () => {
    const params = h.webhooks.smsParams(USER, 'once');
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => h.webhooks.post('/webhooks/sms', params)),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);

    // Replies of a conversation go out in order: if a copy had made a turn, its reply would come
    // before the next message's, so the next message's reply closes the window without waiting.
    await h.webhooks.sms(USER, 'next');
    await h.twilio.waitForMessages(USER, 2);
    expect(h.twilio.messagesTo(USER).map((m) => m.body)).toEqual(['got once', 'got next']);
    expect(await metric('switchboard_inbound_messages_total', 'channel="sms",status="duplicate"')).toBe(4);
    expect(await metric('switchboard_inbound_messages_total', 'channel="sms",status="accepted"')).toBe(2);
  });

  it('ignores a copy that arrives after the first one was handled', async () => {
    const params = h.webhooks.smsParams(USER, 'first');
    await h.webhooks.post('/webhooks/sms', params);
    await h.twilio.waitForMessages(USER, 1);
    expect((await h.webhooks.post('/webhooks/sms', params)).status).toBe(200);
    await h.webhooks.sms(USER, 'second');
    await h.twilio.waitForMessages(USER, 2);
    expect(h.twilio.messagesTo(USER).map((m) => m.body)).toEqual(['got first', 'got second']);
  });

  it('treats the same MessageSid from two senders as two events of two conversations', async () => {
    // Dedup keys live under each conversation: a forged reuse cannot silence another user.
    const sid = newSid();
    await h.webhooks.sms(USER, 'from one', { MessageSid: sid });
    await h.webhooks.sms('+12125559999', 'from two', { MessageSid: sid });
    expect((await h.twilio.waitForMessages(USER, 1))[0]!.body).toBe('got from one');
    expect((await h.twilio.waitForMessages('+12125559999', 1))[0]!.body).toBe('got from two');
  });
});
