// Replies through the REST API: retried on 429 and 5xx in order, never on 4xx, long texts split on words.
import { afterEach, describe, expect, it } from 'vitest';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';

const USER = '+12125551234';

/** Two replies per turn, so a retried first reply shows whether the second waits for it. */
const NOTICES = botYaml(
  'notices',
  `    flows:
      main:
        - say: "First reply."
        - say: "Second reply to {{input}}."`,
);

const ECHO_ONCE = botYaml(
  'echo-once',
  `    flows:
      main:
        - say: "{{input}}"`,
);

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function attempts(harness: Harness) {
  return harness.twilio.attemptsTo(USER).map((r) => `${r.status} ${r.params.Body}`);
}

describe('send retries', () => {
  it('retries a reply answered 429 then 500, delivers it once, and keeps the next reply behind it', async () => {
    h = await startHarness({ bots: NOTICES, label: 'send' });
    h.twilio.failNext({ status: 429 }, { status: 500 });
    await h.webhooks.sms(USER, 'hello');

    const delivered = await h.twilio.waitForMessages(USER, 2);
    expect(delivered.map((m) => m.body)).toEqual(['First reply.', 'Second reply to hello.']);
    expect(attempts(h)).toEqual([
      '429 First reply.',
      '500 First reply.',
      '201 First reply.',
      '201 Second reply to hello.',
    ]);
    const retried = h.main!.logs.find('reply will be retried');
    expect(retried.map((l) => [l.attempt, l.reason])).toEqual([
      [1, 'Twilio answered 429: Too Many Requests'],
      [2, 'Twilio answered 500: Internal Server Error'],
    ]);
  });

  it('does not retry a reply Twilio refuses with 400, and sends the next one', async () => {
    h = await startHarness({ bots: NOTICES, label: 'send' });
    h.twilio.failNext({
      status: 400,
      code: 21211,
      message: "The 'To' number +12125551234 is not a valid phone number.",
    });
    await h.webhooks.sms(USER, 'hello');

    // The outbox is drained in order: once the second reply is in, the first was settled for good.
    await h.twilio.waitForMessages(USER, 1);
    expect(h.twilio.messagesTo(USER).map((m) => m.body)).toEqual(['Second reply to hello.']);
    expect(attempts(h)).toEqual(['400 First reply.', '201 Second reply to hello.']);
    const failed = await h.main!.logs.waitForMessage('reply not delivered');
    expect(failed).toMatchObject({
      level: 'warn',
      channel: 'sms',
      bot: 'notices',
      reason:
        "Twilio refused the message (400, error 21211): The 'To' number +12125551234 is not a valid phone number.",
    });
    expect(h.main!.logs.find('reply will be retried')).toEqual([]);
  });

  it('gives up after SWITCHBOARD_SEND_ATTEMPTS and carries on with the next reply', async () => {
    h = await startHarness({ bots: NOTICES, label: 'send', env: { SWITCHBOARD_SEND_ATTEMPTS: '3' } });
    h.twilio.failNext({ status: 503 }, { status: 503 }, { status: 503 });
    await h.webhooks.sms(USER, 'hello');

    await h.twilio.waitForMessages(USER, 1);
    expect(attempts(h)).toEqual([
      '503 First reply.',
      '503 First reply.',
      '503 First reply.',
      '201 Second reply to hello.',
    ]);
    const failed = await h.main!.logs.waitForMessage('reply not delivered');
    expect(failed.reason).toBe('gave up after 3 attempts: Twilio answered 503: Service Unavailable');
  });
});

describe('long texts', () => {
  it('splits a reply over 1,600 characters on word boundaries, in order', async () => {
    h = await startHarness({ bots: ECHO_ONCE, label: 'split' });
    // 200 words of 8 characters: 1,799 characters. The last space at or before 1,600 is at 1,592.
    const words = Array.from({ length: 200 }, (_, i) => `word${String(i).padStart(4, '0')}`);
    await h.webhooks.sms(USER, words.join(' '));

    const parts = await h.twilio.waitForMessages(USER, 2);
    expect(parts.map((m) => m.body)).toEqual([words.slice(0, 177).join(' '), words.slice(177).join(' ')]);
    expect(parts[0]!.body!.length).toBe(1592);
    expect(parts[1]!.body!.length).toBe(206);
  });
});
