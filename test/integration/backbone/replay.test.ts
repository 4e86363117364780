// Replays: a captured, signed message webhook replayed long after the fact, and status callbacks for messages we never sent, change nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ECHO_BOT } from '../../support/bots.js';
import { NUMBERS } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { eventually } from '../../support/wait.js';
import { newSid } from '../../support/webhooks.js';

const USER = '+12125557001';
const DAY_MS = 86_400_000;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ bots: ECHO_BOT, label: 'replay' });
});
afterEach(async () => {
  await h.close();
});

/** Makes a key's remaining life `ms` shorter, as if that much time had passed (it is gone if that was all). */
async function age(key: string, ms: number): Promise<void> {
  const left = await h.redis.pttl(key);
  expect(left, `${key} has a TTL`).toBeGreaterThan(0);
  await h.redis.pexpire(key, left - ms); // zero or less deletes it, as expiry would
}

async function inboundCount(channel: string, status: string): Promise<number> {
  const text = await (await fetch(`${h.main!.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`switchboard_inbound_messages_total{channel="${channel}",status="${status}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('a replayed message webhook', () => {
  for (const channel of ['sms', 'whatsapp'] as const) {
    it(`on ${channel}, byte for byte, a day and a minute later: acknowledged, nothing queued, no reply`, async () => {
      const address = channel === 'whatsapp' ? `whatsapp:${USER}` : USER;
      const cid = h.conversation('echo', `${channel}:${USER}`);
      const sid = newSid();
      const params =
        channel === 'sms'
          ? h.webhooks.smsParams(USER, 'pay 10', { MessageSid: sid })
          : {
              MessageSid: sid,
              AccountSid: h.webhooks.accountSid,
              From: `whatsapp:${USER}`,
              To: `whatsapp:${NUMBERS.whatsapp}`,
              Body: 'pay 10',
            };
      const path = `/webhooks/${channel}`;
      const signature = h.webhooks.sign(path, params);
      expect((await h.webhooks.post(path, params, { signature })).status).toBe(200);
      expect((await h.twilio.waitForMessages(address, 1)).map((m) => m.body)).toEqual(['got pay 10']);

      // A day (the old dedupe window) and a minute pass.
      await age(h.keys.seen(cid), DAY_MS + 60_000);
      const duplicates = await inboundCount(channel, 'duplicate');
      const replayed = await h.webhooks.post(path, params, { signature });
      expect([replayed.status, replayed.body]).toEqual([200, EMPTY_TWIML]);
      expect(await h.redis.llen(h.keys.inbox(cid))).toBe(0);
      expect(await inboundCount(channel, 'duplicate')).toBe(duplicates + 1);
      await h.main!.logs.waitForMessage('duplicate webhook ignored', (l) => l.event === sid);

      // The user's next message is answered next: nothing of the replay came before it.
      expect((await h.webhooks.post(path, { ...params, MessageSid: newSid(), Body: 'hello' })).status).toBe(
        200,
      );
      expect((await h.twilio.waitForMessages(address, 2)).map((m) => m.body)).toEqual([
        'got pay 10',
        'got hello',
      ]);
      expect(h.twilio.messagesTo(address)).toHaveLength(2);
    });
  }

  it('is remembered for 90 days', async () => {
    const sid = newSid();
    expect((await h.webhooks.sms(USER, 'hi', { MessageSid: sid })).status).toBe(200);
    const seen = h.keys.seen(h.conversation('echo', `sms:${USER}`));
    const ttl = await h.redis.ttl(seen);
    expect(ttl).toBeGreaterThan(90 * 86_400 - 60);
    expect(ttl).toBeLessThanOrEqual(90 * 86_400);
    const windowEnd = Number(await h.redis.zscore(seen, sid)) - Date.now();
    expect(windowEnd).toBeGreaterThan((90 * 86_400 - 60) * 1000);
    expect(windowEnd).toBeLessThanOrEqual(90 * 86_400 * 1000);
  });
});

describe('message status callbacks', () => {
  const statusOf = (messageSid: string, to = USER) => ({
    AccountSid: h.webhooks.accountSid,
    ApiVersion: '2010-04-01',
    MessageSid: messageSid,
    MessageStatus: 'undelivered',
    ErrorCode: '30003',
    From: NUMBERS.sms,
    To: to,
  });
  const failures = () => h.main!.logs.find('message delivery failed');

  it('for a MessageSid we never sent: 204 and nothing recorded, reported or counted', async () => {
    const sid = newSid();
    const answer = await h.webhooks.post('/webhooks/status', statusOf(sid));
    expect(answer.status).toBe(204);
    const outcome = await h.main!.logs.waitFor(
      (l) => l.messageSid === sid || String(l.message).startsWith('message delivery failed'),
      'the status callback handled',
    );
    expect(outcome.message).toBe(
      'status callback for a message we did not send or already reported; ignored',
    );
    expect(failures()).toEqual([]);
    expect((await h.redis.keys(h.keys.everything())).filter((k) => k.includes(sid))).toEqual([]);
  });

  it('for a reply we sent: reported once; a replay of it, however late, changes nothing', async () => {
    expect((await h.webhooks.sms(USER, 'hi')).status).toBe(200);
    const [reply] = await h.twilio.waitForMessages(USER, 1);
    const sent = h.keys.sent(h.conversation('echo', `sms:${USER}`), reply!.sid);
    // The send worker remembers the sid as it pops the reply, just after Twilio's answer: nothing announces it.
    const ttl = await eventually(async () => {
      const left = await h.redis.ttl(sent);
      return left > 0 ? left : undefined;
    }, 'the sent reply remembered');
    expect(ttl).toBeGreaterThan(3 * 86_400 - 60);

    const status = statusOf(reply!.sid);
    const signature = h.webhooks.sign('/webhooks/status', status);
    expect((await h.webhooks.post('/webhooks/status', status, { signature })).status).toBe(204);
    expect(failures().map((l) => [l.messageSid, l.status, l.errorCode])).toEqual([
      [reply!.sid, 'undelivered', '30003'],
    ]);
    expect(await h.redis.exists(sent)).toBe(0);

    expect((await h.webhooks.post('/webhooks/status', status, { signature })).status).toBe(204);
    expect(failures()).toHaveLength(1);
    expect(
      h.main!.logs.find('status callback for a message we did not send or already reported; ignored'),
    ).toHaveLength(1);
  });
});
