// Poison turns: retried, then dead-lettered with their reason logged, and the conversation carries on.
import { afterEach, describe, expect, it } from 'vitest';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';

const USER = '+12125551234';

/**
 * `count` answers render a loop of that many steps: a huge count exceeds the template memory limit on
 * every attempt (a TemplateError, which may pass, so it is retried); `spin` runs a goto loop (a
 * DialogError: the flows themselves are broken, so it is dead-lettered at once).
 */
const FRAGILE = botYaml(
  'fragile',
  `    flows:
      main:
        - ask: { prompt: "Send a number, or spin.", save: answer }
        - switch: { value: "{{answer}}", cases: { spin: spin }, default: count }
      count:
        - say: "{% for i in (1..answer) %}*{% endfor %}"
        - goto: main
      spin:
        - set: { turns: "more" }
        - goto: spin`,
);

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function transcript(harness: Harness, count: number): Promise<string[]> {
  return (await harness.twilio.waitForMessages(USER, count)).map((m) => m.body ?? '');
}

describe('a turn that fails on every attempt', () => {
  it('is retried SWITCHBOARD_TURN_ATTEMPTS times, dead-lettered with its reason, and the next message is answered', async () => {
    h = await startHarness({ bots: FRAGILE, label: 'dead', env: { SWITCHBOARD_TURN_ATTEMPTS: '3' } });
    const cid = h.conversation('fragile', `sms:${USER}`);
    await h.webhooks.sms(USER, 'hi');
    expect(await transcript(h, 1)).toEqual(['Send a number, or spin.']);

    const poison = h.webhooks.smsParams(USER, '100000000');
    await h.webhooks.post('/webhooks/sms', poison);
    expect(await h.waitForTurn(poison.MessageSid!)).toMatchObject({ outcome: 'dead-lettered' });
    const [logged] = h.main!.logs.find('turn dead-lettered');
    const reason = 'TemplateError: memory alloc limit exceeded, line:1, col:1';
    expect(logged).toMatchObject({
      level: 'error',
      conversation: cid,
      bot: 'fragile',
      channel: 'sms',
      event: poison.MessageSid,
      reason,
    });
    const retries = h.main!.logs.find('turn failed; will retry', (l) => l.event === poison.MessageSid);
    expect(retries.map((l) => [l.attempt, l.reason])).toEqual([
      [1, reason],
      [2, reason],
    ]);
    const dead = await h.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ cid, eventId: poison.MessageSid, reason });
    // The event rests sealed: the dead-letter list holds no message text.
    expect(dead[0]!.sealedEvent).not.toContain('100000000');

    await h.webhooks.sms(USER, '3');
    expect(await transcript(h, 3)).toEqual(['Send a number, or spin.', '***', 'Send a number, or spin.']);
    // Nothing of the poison turn is left behind: no attempt counter, an empty inbox.
    expect(await h.redis.exists(h.keys.attempts(cid))).toBe(0);
    expect(await h.redis.llen(h.keys.inbox(cid))).toBe(0);
  });

  it('dead-letters a broken flow (DialogError) at once, without retries, and answers the next message', async () => {
    h = await startHarness({ bots: FRAGILE, label: 'dead' });
    const cid = h.conversation('fragile', `sms:${USER}`);
    await h.webhooks.sms(USER, 'hi');
    await transcript(h, 1);

    const poison = h.webhooks.smsParams(USER, 'spin');
    await h.webhooks.post('/webhooks/sms', poison);
    expect(await h.waitForTurn(poison.MessageSid!)).toMatchObject({ outcome: 'dead-lettered' });
    const [logged] = h.main!.logs.find('turn dead-lettered');
    const reason = 'DialogError: flow spin ran 200 steps without waiting: a goto loop?';
    expect(logged).toMatchObject({ level: 'error', conversation: cid, event: poison.MessageSid, reason });
    expect(h.main!.logs.find('turn failed; will retry')).toEqual([]);
    expect(await h.deadLetters()).toMatchObject([{ cid, eventId: poison.MessageSid, reason }]);

    await h.webhooks.sms(USER, '2');
    expect(await transcript(h, 3)).toEqual(['Send a number, or spin.', '**', 'Send a number, or spin.']);
  });
});
