// One suite every MessageSender passes: the Twilio REST client (against the fake Twilio API) and the sandbox recorder.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxRecorder } from '../../../channels/index.js';
import { SendRejectedError, SendRetryableError, type MessageSender } from '../../../channels/index.js';
import { TwilioSender } from '../../../channels/twilio/sender.js';
import { startFakeTwilioApi, type FakeTwilioApi } from '../../fakes/twilio-api.js';
import { ACCOUNT_SID, AUTH_TOKEN, dataKey } from '../../support/config.js';
import { deletePrefix, keysFor, randomPrefix } from '../../support/harness.js';

interface Subject {
  sender: MessageSender;
  /** What the far side holds for an address, oldest first, as `{to, from, body}`. */
  received(to: string): Promise<{ to: string; from: string; body: string | undefined }[]>;
  /** Makes the far side refuse the next message with `status`, when it can. */
  refuseNext?(status: number): void;
}

let twilio: FakeTwilioApi;
let redis: Redis;
const prefix = randomPrefix('sender');

beforeAll(async () => {
  twilio = await startFakeTwilioApi({ [ACCOUNT_SID]: AUTH_TOKEN });
  redis = new Redis(process.env.REDIS_URL!);
});
afterAll(async () => {
  await twilio.close();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const subjects: Record<string, () => Subject> = {
  'TwilioSender (the real twilio client against a Twilio-compatible API)': () => ({
    sender: new TwilioSender(
      () =>
        new Map([[ACCOUNT_SID, { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: twilio.url }]]),
    ),
    received: async (to) => twilio.messagesTo(to).map((m) => ({ to: m.to, from: m.from, body: m.body })),
    refuseNext: (status) => twilio.failNext({ status }),
  }),
  'SandboxRecorder (Redis)': () => {
    const recorder = new SandboxRecorder(redis, keysFor(prefix, dataKey()));
    return {
      sender: recorder,
      received: async (to) =>
        (await recorder.list(to)).map((m) => ({ to: m.to, from: m.from, body: m.body })),
    };
  },
};

describe.each(Object.entries(subjects))('%s', (_name, make) => {
  it('delivers texts in the order sent and answers each with a message sid', async () => {
    const subject = make();
    const to = `+1202555${String(Math.floor(Math.random() * 9000) + 1000)}`;
    const first = await subject.sender.send({
      accountSid: ACCOUNT_SID,
      from: '+15005550006',
      to,
      body: 'one',
    });
    const second = await subject.sender.send({
      accountSid: ACCOUNT_SID,
      from: '+15005550006',
      to,
      body: 'two',
    });
    expect(first.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(second.sid).not.toBe(first.sid);
    expect(await subject.received(to)).toEqual([
      { to, from: '+15005550006', body: 'one' },
      { to, from: '+15005550006', body: 'two' },
    ]);
  });

  it('keeps whatsapp: addresses as they are', async () => {
    const subject = make();
    const to = 'whatsapp:+447700900123';
    await subject.sender.send({ accountSid: ACCOUNT_SID, from: 'whatsapp:+14155238886', to, body: 'hello' });
    expect((await subject.received(to)).at(-1)).toEqual({ to, from: 'whatsapp:+14155238886', body: 'hello' });
  });

  it('tells a refusal (do not retry) from a busy or failing provider (retry)', async () => {
    const subject = make();
    if (!subject.refuseNext) {
      // The recorder never refuses: nothing to tell apart, and it must say so by succeeding.
      await expect(
        subject.sender.send({ accountSid: ACCOUNT_SID, from: '+15005550006', to: '+12025550199', body: 'x' }),
      ).resolves.toMatchObject({ sid: expect.stringMatching(/^SM/) });
      return;
    }
    const message = { accountSid: ACCOUNT_SID, from: '+15005550006', to: '+12025550198', body: 'x' };
    subject.refuseNext(400);
    await expect(subject.sender.send(message)).rejects.toBeInstanceOf(SendRejectedError);
    subject.refuseNext(429);
    await expect(subject.sender.send(message)).rejects.toBeInstanceOf(SendRetryableError);
    subject.refuseNext(503);
    await expect(subject.sender.send(message)).rejects.toBeInstanceOf(SendRetryableError);
  });
});

describe('TwilioSender, beyond the shared suite', () => {
  it('treats an unreachable API as retryable, and an account it has no credentials for as a refusal', async () => {
    const closed = await startFakeTwilioApi({ [ACCOUNT_SID]: AUTH_TOKEN });
    const url = closed.url;
    await closed.close();
    const sender = new TwilioSender(
      () => new Map([[ACCOUNT_SID, { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: url }]]),
    );
    const message = { accountSid: ACCOUNT_SID, from: '+15005550006', to: '+12025550197', body: 'x' };
    await expect(sender.send(message)).rejects.toBeInstanceOf(SendRetryableError);
    await expect(
      sender.send({ ...message, accountSid: 'AC00000000000000000000000000000000' }),
    ).rejects.toThrow(
      new SendRejectedError('no Twilio account AC00000000000000000000000000000000 is configured', 400),
    );
  });
});
