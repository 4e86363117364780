// Order and scale: one conversation's messages answered in order across worker processes; 500 at once.
import { afterEach, describe, expect, it } from 'vitest';
import { ECHO_BOT } from '../../support/bots.js';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { waitForLogs } from '../../support/logs.js';
import { newSid } from '../../support/webhooks.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('order within a conversation', () => {
  it('answers 50 messages of one conversation in exactly their order with three worker processes', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'order', gateway: { web: true, workers: false } });
    const workers = await Promise.all([1, 2, 3].map((n) => h!.spawn('worker', `worker-${n}`)));

    // The conversation under test, and two more at the same time so the workers have company.
    const users = ['+12125550001', '+12125550002', '+12125550003'];
    const texts = Array.from({ length: 50 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    const sids: string[] = [];
    await Promise.all(
      users.map(async (user) => {
        // One after the other, each as soon as the previous one is accepted: the order is defined.
        for (const text of texts) {
          const params = h!.webhooks.smsParams(user, text);
          sids.push(params.MessageSid!);
          const answer = await h!.webhooks.post('/webhooks/sms', params);
          expect(answer.status).toBe(200);
        }
      }),
    );

    for (const user of users) {
      const replies = await h.twilio.waitForMessages(user, 50, 30_000);
      expect(replies.map((m) => m.body)).toEqual(texts.map((t) => `got ${t}`));
    }

    // Every turn was committed exactly once, whichever worker ran it.
    const logs = workers.map((w) => w.logs);
    const handled = () => logs.flatMap((l) => l.find('turn handled'));
    await waitForLogs(logs, () => handled().length >= 150, '150 turns handled');
    const events = handled().map((l) => l.event as string);
    expect(events).toHaveLength(150);
    expect(new Set(events)).toEqual(new Set(sids));
    expect(workers.every((w) => w.alive())).toBe(true);
    expect(await h.deadLetters()).toEqual([]);
  });
});

describe('many conversations', () => {
  it('completes 500 conversations started at once, each with the right transcript', async () => {
    h = await startHarness({
      label: 'scale',
      bots: botYaml(
        'greeter',
        `    flows:
      main:
        - say: "Hi, {{input}}."
        - ask: { prompt: "What is your name?", save: name }
        - end: "Goodbye, {{name}}."`,
      ),
    });
    await h.spawn('worker', 'worker-1');
    const users = Array.from({ length: 500 }, (_, i) => `+1212555${String(i).padStart(4, '0')}`);

    // A webhook the gateway cannot accept within its Redis deadline is answered 503, and the provider
    // sends the same message again: so does this test, with the same MessageSid, which must count once.
    const deliver = async (from: string, body: string) => {
      const sid = newSid();
      let answer = await h!.webhooks.sms(from, body, { MessageSid: sid });
      for (let retry = 0; answer.status === 503 && retry < 5; retry++)
        answer = await h!.webhooks.sms(from, body, { MessageSid: sid });
      return answer;
    };
    const first = await Promise.all(users.map((u, i) => deliver(u, `hello ${i}`)));
    expect(first.filter((a) => a.status !== 200)).toEqual([]);
    await h.twilio.waitForTotal(1000, 60_000);
    const second = await Promise.all(users.map((u, i) => deliver(u, `name-${i}`)));
    expect(second.filter((a) => a.status !== 200)).toEqual([]);
    await h.twilio.waitForTotal(1500, 60_000);

    for (const [i, user] of users.entries()) {
      expect(h.twilio.messagesTo(user).map((m) => m.body)).toEqual([
        `Hi, hello ${i}.`,
        'What is your name?',
        `Goodbye, name-${i}.`,
      ]);
    }
    expect(h.twilio.messages).toHaveLength(1500);
    expect(await h.deadLetters()).toEqual([]);
  }, 120_000);
});
