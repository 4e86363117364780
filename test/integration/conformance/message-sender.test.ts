// The MessageSender suite for every sender: the Twilio REST client (against the fake Twilio API) and the
// sandbox recorder. The test-only JSON channel has no sender of its own: its adapter posts replies itself
// (the channel adapter suite covers that delivery).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxRecorder, SendRejectedError, SendRetryableError } from '../../../channels/index.js';
import { TwilioSender } from '../../../channels/twilio/sender.js';
import { startFakeTwilioApi, type FakeTwilioApi } from '../../fakes/twilio-api.js';
import { ACCOUNT_SID, AUTH_TOKEN, dataKey } from '../../support/config.js';
import { messageSenderConformance } from '../../support/conformance/message-sender.js';
import { deletePrefix, keysFor, randomPrefix } from '../../support/harness.js';
import { SandboxOutbox } from '../../../src/store/sandbox-outbox.js';

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

messageSenderConformance(
  'TwilioSender (the real twilio client against a Twilio-compatible API)',
  async () => ({
    sender: new TwilioSender(
      () =>
        new Map([[ACCOUNT_SID, { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: twilio.url }]]),
    ),
    received: async (to) => twilio.messagesTo(to).map((m) => ({ to: m.to, from: m.from, body: m.body })),
    refuseNext: (status) => twilio.failNext({ status }),
  }),
);

messageSenderConformance('SandboxRecorder (Redis)', async () => {
  const recorder = new SandboxRecorder(new SandboxOutbox(redis, keysFor(prefix, dataKey())));
  return {
    sender: recorder,
    received: async (to) => (await recorder.list(to)).map((m) => ({ to: m.to, from: m.from, body: m.body })),
  };
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
