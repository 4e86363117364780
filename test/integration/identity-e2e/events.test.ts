// Operator events end to end: a conversation's events arrive signed at the workspace's receiver, retried until taken, never with a secret.
import { Redis } from 'ioredis';
import type { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog.js';
import { verifySwitchboardSignature } from '../../../src/operator-events/signature.js';
import { createEventWorker } from '../../../src/operator-events/worker.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { NUMBERS } from '../../support/config.js';
import { newSid, TwilioWebhookClient } from '../../support/webhooks.js';
import {
  ACME_EVENTS_SECRET,
  ASK_PASSWORD,
  ASK_USERNAME,
  BALANCE_TEXT,
  CANARY,
  MAIN_PROMPT,
  queuesIdle,
  randomNumber,
  startWorld,
  waitForEvent,
  type World,
} from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function world(options: { gateway?: boolean } = {}): Promise<World> {
  const w = await startWorld({ label: 'e2e-events', ...options });
  cleanups.push(() => w.close());
  return w;
}

const AT = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const EVENT_ID = expect.stringMatching(/^evt_[0-9a-f]{32}$/);

describe('operator events from a conversation', () => {
  it('conversation.started, auth.failed, user.verified, user.opted_out and message.failed, signed, without the password', async () => {
    const w = await world();
    const phone = randomNumber();
    const identity = `sms:${phone}`;
    const anonId = `anon:${new IdentityKeys(w.h.keys).identityHash('acme', identity)}`;
    w.bank.addAccount('ev', { password: CANARY, userId: 'member-5' });
    const chat = w.h.sms(phone);

    expect(await chat.send('hi')).toEqual([MAIN_PROMPT]);
    const started = await waitForEvent(w.acmeEvents, (e) => e.type === 'conversation.started', 'started');
    expect(started.event).toEqual({
      id: EVENT_ID,
      type: 'conversation.started',
      at: AT,
      workspace: 'acme',
      externalId: null,
      userId: anonId,
      channel: 'sms',
      data: { bot: 'bank' },
    });

    expect(await chat.send('1')).toEqual([ASK_USERNAME]);
    expect(await chat.send('ev')).toEqual([ASK_PASSWORD]);
    expect(await chat.send(`${CANARY}-wrong`)).toEqual([TEXT.wrongCredentials, ASK_USERNAME]);
    const failed = await waitForEvent(w.acmeEvents, (e) => e.type === 'auth.failed', 'auth.failed');
    expect(failed.event).toEqual({
      id: EVENT_ID,
      type: 'auth.failed',
      at: AT,
      workspace: 'acme',
      externalId: null,
      userId: anonId,
      channel: 'sms',
      data: { bot: 'bank', component: 'bank-login', reason: 'wrong_credentials' },
    });

    await chat.send('ev');
    expect(await chat.send(CANARY)).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    const verified = await waitForEvent(w.acmeEvents, (e) => e.type === 'user.verified', 'user.verified');
    expect(verified.event).toEqual({
      id: EVENT_ID,
      type: 'user.verified',
      at: AT,
      workspace: 'acme',
      externalId: null,
      userId: 'member-5',
      channel: 'sms',
      data: { identity, via: 'auth', component: 'bank-login' },
    });

    expect(await chat.send('STOP')).toEqual(["You won't get more messages. Reply START to come back."]);
    const optedOut = await waitForEvent(w.acmeEvents, (e) => e.type === 'user.opted_out', 'user.opted_out');
    expect(optedOut.event).toEqual({
      id: EVENT_ID,
      type: 'user.opted_out',
      at: AT,
      workspace: 'acme',
      externalId: null,
      userId: 'member-5',
      channel: 'sms',
      data: { bot: 'bank' },
    });

    // Twilio refuses the next reply with 400 (error 21211): not retried, reported.
    w.h.twilio.failNext({ status: 400 });
    const sid = newSid();
    expect((await chat.post('START', { MessageSid: sid })).status).toBe(200);
    await w.h.handled(sid);
    const undelivered = await waitForEvent(
      w.acmeEvents,
      (e) => e.type === 'message.failed',
      'message.failed',
    );
    expect(undelivered.event).toEqual({
      id: EVENT_ID,
      type: 'message.failed',
      at: AT,
      workspace: 'acme',
      externalId: null,
      userId: 'member-5', // who the undelivered reply was for
      channel: 'sms',
      data: {
        bot: 'bank',
        to: phone,
        reason: "Twilio refused the message (400, error 21211): Invalid 'To' Phone Number",
        errorCode: '21211',
      },
    });
    expect(w.h.twilio.attemptsTo(phone).at(-1)).toMatchObject({ status: 400 });
    expect(w.h.twilio.attemptsTo(phone).filter((a) => a.params.Body === TEXT.optedIn)).toHaveLength(1);

    await queuesIdle(w.h);
    expect(w.acmeEvents.accepted().map((d) => d.event!.type)).toEqual([
      'conversation.started',
      'auth.failed',
      'user.verified',
      'user.opted_out',
      'user.opted_in',
      'message.failed',
    ]);
    for (const delivery of w.acmeEvents.deliveries) {
      // Checked again here with the documented helper, on the raw body and header as received.
      const header = delivery.headers['switchboard-signature'];
      expect(typeof header).toBe('string');
      expect(verifySwitchboardSignature(header as string, delivery.body, ACME_EVENTS_SECRET)).toEqual({
        ok: true,
        timestamp: expect.any(Number),
      });
      expect(verifySwitchboardSignature(header as string, delivery.body, 'another-secret').ok).toBe(false);
      expect(delivery.body).not.toContain(CANARY);
    }
    expect(w.globexEvents.deliveries).toEqual([]);
    expect(JSON.stringify(w.h.logs.lines)).not.toContain(CANARY);
  });

  it('a receiver that answers 500 twice gets the same event on the third try', async () => {
    // The gateway's own event worker waits 10 s, then 20 s, between tries (its backoff is not configurable
    // from the environment): this gateway has only the web role, and the test runs the delivery worker
    // with a small backoff. The event itself is emitted by the gateway, from a status callback.
    const w = await world({ gateway: false });
    const { gateway, logger, logs, close } = await w.h.base.startGateway(
      { web: true, workers: false },
      'web',
    );
    cleanups.push(close);
    const connection = new Redis(w.h.env.REDIS_URL, { maxRetriesPerRequest: null });
    cleanups.push(async () => connection.quit());
    const worker: Worker = createEventWorker({
      connection,
      prefix: w.h.prefix,
      directory: () => ({ config: w.h.config }),
      logger,
      backoff: { baseMs: 20, maxDelayMs: 100 },
    });
    cleanups.push(() => worker.close());
    w.acmeEvents.respondWith((attempt) => (attempt <= 2 ? 500 : 200));

    const phone = randomNumber();
    const messageSid = newSid();
    // A reply to the phone that Twilio accepted, as the send worker remembers it: only those can fail.
    await w.h.redis.set(w.h.keys.sent(w.h.cid('bank', `sms:${phone}`), messageSid), '1', 'EX', 600);
    const webhooks = new TwilioWebhookClient(`http://127.0.0.1:${gateway.port}`);
    const status = await webhooks.post('/webhooks/status', {
      AccountSid: webhooks.accountSid,
      ApiVersion: '2010-04-01',
      MessageSid: messageSid,
      MessageStatus: 'undelivered',
      ErrorCode: '30003',
      From: NUMBERS.sms,
      To: phone,
    });
    expect(status.status).toBe(204);

    const [taken] = await w.acmeEvents.waitForAccepted(1);
    expect(taken!.event).toEqual({
      id: EVENT_ID,
      type: 'message.failed',
      at: AT,
      workspace: 'acme',
      externalId: null,
      userId: expect.stringMatching(/^anon:[A-Za-z0-9_-]{22}$/), // a number that never wrote: anonymous
      channel: 'sms',
      data: { bot: 'bank', to: phone, reason: 'Twilio reported undelivered', errorCode: '30003' },
    });
    expect(w.acmeEvents.deliveries.map((d) => [d.status, d.event!.id, d.signature.ok])).toEqual([
      [500, taken!.event!.id, true],
      [500, taken!.event!.id, true],
      [200, taken!.event!.id, true],
    ]);
    // Byte for byte the same event every time: only the signature's timestamp may differ.
    expect(new Set(w.acmeEvents.deliveries.map((d) => d.body)).size).toBe(1);
    expect(logs.find('operator event delivery failed; will retry').map((l) => l.attempt)).toEqual([1, 2]);
    expect(w.globexEvents.deliveries).toEqual([]);
  });
});
