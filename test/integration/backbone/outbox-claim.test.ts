// The outbox claim in Redis: one send job at a time reads and pops an outbox; another is told to wait,
// a job that lost it is refused at the pop, and the last pop gives it up.
import { afterEach, describe, expect, it } from 'vitest';
import { createDataCipher } from '../../../src/store/cipher.js';
import { ConversationStore, type OutboxItem } from '../../../src/store/conversation-store.js';
import { SENT_TTL } from '../../../src/store/keys.js';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness, type Harness } from '../../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('outbox claim', () => {
  it('is taken with the head, refused to another job, checked and renewed at each pop, dropped at the last', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'claim', gateway: false });
    const store = new ConversationStore(
      h.redis,
      h.keys,
      createDataCipher(h.processEnv.SWITCHBOARD_DATA_KEY!),
    );
    const cid = 'claim-test';
    const claimKey = h.keys.outboxClaim(cid);
    await h.redis.rpush(h.keys.outbox(cid), 'r1', 'r2');

    expect(await store.claimOutbox(cid, 'worker-a:1', 5000)).toEqual({ held: false, head: 'r1' });
    expect(await h.redis.get(claimKey)).toBe('worker-a:1');
    const other = await store.claimOutbox(cid, 'worker-b:7', 5000);
    expect(other).toMatchObject({ held: true });
    expect(other.held && other.retryInMs > 0 && other.retryInMs <= 5000).toBe(true);

    // The holder pops and gets the next reply, with the lease renewed for the next send.
    await h.redis.pexpire(claimKey, 100);
    expect(await store.popReply(cid, 'r1', 'x:0', 'worker-a:1', 5000)).toEqual({ lost: false, next: 'r2' });
    expect(await h.redis.pttl(claimKey)).toBeGreaterThan(1000);

    // Another job took the outbox over (the holder's lease lapsed meanwhile): the old holder's pop is refused.
    await h.redis.set(claimKey, 'worker-b:7', 'PX', 5000);
    expect(await store.popReply(cid, 'r2', 'x:1', 'worker-a:1', 5000)).toEqual({ fenced: true });
    expect(await h.redis.lrange(h.keys.outbox(cid), 0, -1)).toEqual(['r2']);

    // The new holder pops the last reply and gives the claim up with it.
    expect(await store.popReply(cid, 'r2', 'x:1', 'worker-b:7', 5000)).toEqual({ lost: false, next: null });
    expect(await h.redis.exists(claimKey, h.keys.outbox(cid))).toBe(0);
    // An empty outbox is not claimed; a release by a job that does not hold the claim leaves it alone.
    expect(await store.claimOutbox(cid, 'worker-c:1', 5000)).toEqual({ held: false, head: null });
    expect(await h.redis.exists(claimKey)).toBe(0);
    await h.redis.set(claimKey, 'worker-c:2', 'PX', 5000);
    await store.releaseOutbox(cid, 'worker-a:1');
    expect(await h.redis.get(claimKey)).toBe('worker-c:2');
    await store.releaseOutbox(cid, 'worker-c:2');
    expect(await h.redis.exists(claimKey)).toBe(0);
  });

  it("keeps a sent reply's MessageSid whatever the pop finds, and a pop sent again after it landed leaves the next reply", async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'claim-sent', gateway: false });
    const store = new ConversationStore(
      h.redis,
      h.keys,
      createDataCipher(h.processEnv.SWITCHBOARD_DATA_KEY!),
    );
    const cid = 'claim-sent';
    await h.redis.rpush(h.keys.outbox(cid), 'r1', 'r2', 'r3');
    expect(await store.claimOutbox(cid, 'worker-a:1', 5000)).toEqual({ held: false, head: 'r1' });

    // The pop lands, its answer is lost, and it is sent again: the second finds r1 gone and pops nothing.
    expect(await store.popReply(cid, 'r1', 'x:0', 'worker-a:1', 5000, 'SM1')).toEqual({
      lost: false,
      next: 'r2',
    });
    expect(await store.popReply(cid, 'r1', 'x:0', 'worker-a:1', 5000, 'SM1')).toEqual({ lost: true });
    expect(await h.redis.lrange(h.keys.outbox(cid), 0, -1)).toEqual(['r2', 'r3']);

    // Fenced: nothing popped, but the message did go out, so its status callback is still ours.
    await h.redis.set(h.keys.outboxClaim(cid), 'worker-b:2', 'PX', 5000);
    expect(await store.popReply(cid, 'r2', 'x:1', 'worker-a:1', 5000, 'SM2')).toEqual({ fenced: true });
    expect(await h.redis.lrange(h.keys.outbox(cid), 0, -1)).toEqual(['r2', 'r3']);
    for (const sid of ['SM1', 'SM2']) {
      const ttl = await h.redis.ttl(h.keys.sent(cid, sid));
      expect(ttl).toBeGreaterThan(SENT_TTL - 60);
      expect(ttl).toBeLessThanOrEqual(SENT_TTL);
    }
    // A reply that was not sent (given up, refused) leaves no record: the placeholder key is the claim's.
    expect(await store.popReply(cid, 'r2', 'x:1', 'worker-b:2', 5000)).toEqual({ lost: false, next: 'r3' });
    expect(await h.redis.get(h.keys.outboxClaim(cid))).toBe('worker-b:2');
    expect(await h.redis.keys(h.keys.sent(cid, '*'))).toHaveLength(2);
  });
  it("is taken by a turn's commit for the turn's own send, in the same call, unless another job holds it", async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'claim-commit', gateway: false });
    const cipher = createDataCipher(h.processEnv.SWITCHBOARD_DATA_KEY!);
    const store = new ConversationStore(h.redis, h.keys, cipher);
    const cid = 'claim-commit';
    const claimKey = h.keys.outboxClaim(cid);
    const reply = (id: string): OutboxItem => ({
      id,
      cid,
      botId: 'echo',
      channel: 'sms',
      accountSid: 'AC1',
      from: '+15550000001',
      to: '+15550000002',
      body: `reply ${id}`,
      windowStart: 0,
    });
    const turn = (event: string, claim?: { token: string; leaseMs: number }) =>
      store.commit({
        cid,
        head: event,
        eventId: event,
        state: null,
        stateTtlSeconds: 60,
        replies: [reply(`${event}:0`)],
        ...(claim ? { claim } : {}),
      });
    await h.redis.rpush(h.keys.inbox(cid), 'e1', 'e2', 'e3');

    const first = await turn('e1', { token: 'w:a:1:e1', leaseMs: 5000 });
    const [head] = await h.redis.lrange(h.keys.outbox(cid), 0, -1);
    expect(first).toEqual({ lost: false, next: 'e2', outbox: { held: false, head } });
    expect(store.openReply(cid, head!)?.body).toBe('reply e1:0');
    expect(await h.redis.get(claimKey)).toBe('w:a:1:e1');
    expect(await h.redis.pttl(claimKey)).toBeGreaterThan(4000);

    // Another job holds the outbox: the commit lands, and says how long that claim has left.
    const second = await turn('e2', { token: 'w:a:1:e2', leaseMs: 5000 });
    expect(second).toMatchObject({ lost: false, next: 'e3', outbox: { held: true } });
    expect(await h.redis.get(claimKey)).toBe('w:a:1:e1');
    expect(await h.redis.llen(h.keys.outbox(cid))).toBe(2);

    // Without a claim (a turn whose replies are sent by a send job), the claim is left alone.
    await h.redis.del(claimKey);
    expect(await turn('e3')).toEqual({ lost: false, next: null });
    expect(await h.redis.exists(claimKey)).toBe(0);
  });
});
