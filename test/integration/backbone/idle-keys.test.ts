// What one idle conversation leaves in Redis: a short, fixed list of keys, and no key per message.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LAST_INBOUND_MARK, LAST_INBOUND_TTL, MESSAGE_SEEN_TTL } from '../../../src/store/keys.js';
import { ECHO_BOT } from '../../support/bots.js';
import { manualClock, type ManualClock } from '../../support/clock.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { eventually } from '../../support/wait.js';
import { newSid } from '../../support/webhooks.js';

const USER = '+12125554321';
const WINDOW_MS = MESSAGE_SEEN_TTL * 1000;

let h: Harness;
let clock: ManualClock;
let cid: string;
beforeEach(async () => {
  clock = manualClock();
  h = await startHarness({ bots: ECHO_BOT, label: 'idle-keys', clock });
  cid = h.conversation('echo', `sms:${USER}`);
});
afterEach(async () => {
  await h.close();
});

/** Every key of the conversation, sorted. */
async function conversationKeys(): Promise<string[]> {
  return (await h.redis.keys(h.keys.everything())).filter((k) => h.keys.conversationOfKey(k) === cid).sort();
}

describe('an idle conversation', () => {
  it('after one answered SMS holds exactly its state, commit, rate minute, dedupe set and sent mark', async () => {
    const sid = newSid();
    await h.webhooks.sms(USER, 'hi', { MessageSid: sid });
    const [reply] = await h.twilio.waitForMessages(USER, 1);
    expect(reply!.body).toBe('got hi');
    // The reply's pop (outbox and claim gone, the sent mark set) lands just after the fake API answered.
    await eventually(
      async () =>
        (await h.redis.exists(h.keys.outbox(cid), h.keys.outboxClaim(cid))) === 0 ? true : undefined,
      'the outbox drained',
    );
    const minute = Math.floor(clock.now() / 60_000);
    expect(await conversationKeys()).toEqual(
      [
        h.keys.lastCommit(cid),
        h.keys.rate(cid, minute),
        h.keys.seen(cid),
        h.keys.sent(cid, reply!.sid),
        h.keys.state(cid),
      ].sort(),
    );
    // One dedupe set for the conversation, its member's score the end of its window; beside it the last
    // inbound time (for WhatsApp's window), scored by the end of its keeping.
    expect(await h.redis.type(h.keys.seen(cid))).toBe('zset');
    expect(h.keys.lastInbound(cid)).toEqual({ key: h.keys.seen(cid), member: LAST_INBOUND_MARK });
    expect(await h.redis.zrange(h.keys.seen(cid), '0', '-1', 'WITHSCORES')).toEqual([
      LAST_INBOUND_MARK,
      String(clock.now() + LAST_INBOUND_TTL * 1000),
      sid,
      String(clock.now() + WINDOW_MS),
    ]);
    const pttl = await h.redis.pttl(h.keys.seen(cid));
    expect(pttl).toBeGreaterThan(WINDOW_MS - 60_000);
    expect(pttl).toBeLessThanOrEqual(WINDOW_MS);
  });

  it('keeps no provider id past its dedupe window: the next message trims it', async () => {
    const first = newSid();
    await h.webhooks.sms(USER, 'one', { MessageSid: first });
    await h.twilio.waitForMessages(USER, 1);
    const acceptedAt = clock.now();

    clock.advance(WINDOW_MS - 1);
    const second = newSid();
    await h.webhooks.sms(USER, 'two', { MessageSid: second });
    await h.twilio.waitForMessages(USER, 2);
    expect(await h.redis.zrange(h.keys.seen(cid), '0', '-1')).toEqual([first, LAST_INBOUND_MARK, second]);

    clock.advance(1);
    const third = newSid();
    await h.webhooks.sms(USER, 'three', { MessageSid: third });
    await h.twilio.waitForMessages(USER, 3);
    expect(await h.redis.zrange(h.keys.seen(cid), '0', '-1', 'WITHSCORES')).toEqual([
      LAST_INBOUND_MARK,
      String(clock.now() + LAST_INBOUND_TTL * 1000),
      second,
      String(acceptedAt + WINDOW_MS - 1 + WINDOW_MS),
      third,
      String(clock.now() + WINDOW_MS),
    ]);
    expect(h.twilio.messagesTo(USER).map((m) => m.body)).toEqual(['got one', 'got two', 'got three']);
    // No key names a provider id: the only per-message keys are the replies' sent marks, which expire.
    for (const key of await conversationKeys()) {
      for (const id of [first, second, third]) expect(key).not.toContain(id);
    }
  });
});

describe('a rolling upgrade from the key-per-message layout', () => {
  it('still treats a MessageSid an earlier version marked as a duplicate', async () => {
    const sid = newSid();
    await h.redis.set(h.keys.legacySeen(cid, sid), '1', 'EX', MESSAGE_SEEN_TTL);
    expect((await h.webhooks.sms(USER, 'taken by the old version', { MessageSid: sid })).status).toBe(200);
    await h.main!.logs.waitForMessage('duplicate webhook ignored', (l) => l.event === sid);
    await h.webhooks.sms(USER, 'next');
    expect((await h.twilio.waitForMessages(USER, 1)).map((m) => m.body)).toEqual(['got next']);
    expect(await h.redis.zrange(h.keys.seen(cid), '0', '-1')).not.toContain(sid);
  });
});
