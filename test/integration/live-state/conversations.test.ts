// GET /v1/conversations through the real gateway: what is happening now, paged, filtered, never what was typed;
// the index kept inside the commit script (no command of its own), trimmed by score, left by an ended conversation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_RETENTION_MS } from '../../../src/store/conversation-store.js';
import { manualClock } from '../../support/clock.js';
import { monitorRedis, type Monitored } from '../../support/redis-monitor.js';
import { botOn, NUMBERS, startDialogHarness, type DialogHarness, type TextChat } from '../dialog/helpers.js';
import { allPages, api } from './helpers.js';

const OTHER_NUMBER = '+15005550010';
const DESK = botOn(
  'desk',
  `    sessionTimeout: 600
    flows:
      main:
        - ask: { prompt: "Your name?", save: name }
        - ask: { prompt: "Your city, {{name}}?", save: city }
        - end: "Thanks."`,
  { sms: NUMBERS.sms, whatsapp: NUMBERS.whatsapp },
);
const OTHER = botOn(
  'other',
  `    sessionTimeout: 300
    flows:
      main:
        - ask: { prompt: "Order number?", save: order }
        - end: "Looking."`,
  { sms: OTHER_NUMBER },
);

const clock = manualClock();
let h: DialogHarness;

beforeAll(async () => {
  h = await startDialogHarness({ bots: `${DESK}\n${OTHER}`, label: 'live-conv', clock });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const iso = (ms: number) => new Date(ms).toISOString();

async function sendAt(c: TextChat, text: string): Promise<{ at: number; replies: string[] }> {
  clock.advance(1000);
  const at = clock.now();
  return { at, replies: await c.send(text) };
}

describe('GET /v1/conversations', () => {
  it('lists the conversations happening now, most recent first, paged and filtered, with no variable', async () => {
    const alice = h.sms('+12025550101');
    const bob = h.whatsapp('+12025550102');
    const carol = h.sms('+12025550103', OTHER_NUMBER);
    const dave = h.sms('+12025550104');
    const a1 = await sendAt(alice, 'hello');
    expect(a1.replies).toEqual(['Your name?']);
    const a2 = await sendAt(alice, 'Zhang-Secretive');
    expect(a2.replies).toEqual(['Your city, Zhang-Secretive?']);
    const b = await sendAt(bob, 'hi');
    const c = await sendAt(carol, 'hi');
    await sendAt(dave, 'hi');
    await sendAt(dave, 'Dave');
    expect((await sendAt(dave, 'Paris')).replies).toEqual(['Thanks.']);

    const item = (chat: TextChat, bot: string, at: number, step: number, timeout: number) => ({
      id: h.cid(bot, chat.identity),
      bot,
      channel: chat.channel,
      identity: { channel: chat.channel, address: chat.from },
      state: 'waiting',
      flow: 'main',
      step,
      waiting: 'ask',
      updatedAt: iso(at),
      expiresAt: iso(at + timeout * 1000),
    });
    const aliceItem = item(alice, 'desk', a2.at, 1, 600);
    const bobItem = item(bob, 'desk', b.at, 0, 600);
    const carolItem = item(carol, 'other', c.at, 0, 300);

    const all = await api(h, 'GET', '/v1/conversations');
    expect(all.status).toBe(200);
    // Dave's conversation ended: it left the index.
    expect(all.json).toEqual({ conversations: [carolItem, bobItem, aliceItem], nextCursor: null });
    expect(all.text).not.toContain('Zhang-Secretive');
    expect(await h.redis.zscore(h.keys.liveConversations('test'), h.cid('desk', dave.identity))).toBeNull();

    const first = await api(h, 'GET', '/v1/conversations?limit=2');
    const firstPage = first.json as { conversations: unknown[]; nextCursor: string };
    expect(firstPage.conversations).toEqual([carolItem, bobItem]);
    expect(firstPage.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await api(h, 'GET', `/v1/conversations?limit=2&cursor=${firstPage.nextCursor}`);
    expect(second.json).toEqual({ conversations: [aliceItem], nextCursor: null });
    expect(await allPages(h, '/v1/conversations?limit=1', 'conversations')).toEqual({
      sizes: [1, 1, 1],
      items: [carolItem, bobItem, aliceItem],
    });

    const filtered = async (query: string) =>
      ((await api(h, 'GET', `/v1/conversations?${query}`)).json as { conversations: { id: string }[] })
        .conversations;
    expect(await filtered('bot=desk')).toEqual([bobItem, aliceItem]);
    expect(await filtered('channel=whatsapp')).toEqual([bobItem]);
    expect(await filtered('bot=desk&channel=sms')).toEqual([aliceItem]);
    expect(await filtered('state=waiting&limit=1')).toEqual([carolItem]);
    expect(await filtered('state=idle')).toEqual([]);
    expect(await filtered('state=signing-in')).toEqual([]);
    expect(await filtered('bot=nobody')).toEqual([]);

    // Past its session, a conversation is no longer happening: Carol's (300 s) goes before Alice's (600 s).
    clock.advance(300_000);
    expect(await filtered('')).toEqual([bobItem, aliceItem]);
  });

  it('refuses a state it does not know, and a cursor that is not one of its own, with 422', async () => {
    const state = await api(h, 'GET', '/v1/conversations?state=handed-off');
    expect(state.status).toBe(422);
    expect(state.json).toMatchObject({ error: { code: 'validation_failed' } });
    expect((state.json as { error: { message: string } }).error.message).toMatch(/^query state: /);
    const cursor = await api(h, 'GET', '/v1/conversations?cursor=bm90LWEtY3Vyc29y');
    expect(cursor.status).toBe(422);
    expect(cursor.json).toEqual({
      error: {
        code: 'validation_failed',
        message: 'query cursor: not a nextCursor of this list',
        details: [{ path: 'cursor', message: 'not a nextCursor of this list' }],
      },
    });
  });

  it('writes the index inside the commit script: no command of its own, trimmed by score as it goes', async () => {
    const index = h.keys.liveConversations('test');
    // A conversation last active longer ago than the retention: the next commit trims it.
    await h.redis.zadd(index, clock.now() - LIVE_RETENTION_MS - 1, 'long-gone');
    await h.redis.hset(h.keys.liveConversationSummaries('test'), 'long-gone', 'x');
    const commands: Monitored[] = [];
    const monitor = await monitorRedis(h.processEnv.REDIS_URL!, (command) => {
      if (command.args.some((a) => a.includes(index))) commands.push(command);
    });
    try {
      const erin = h.sms('+12025550105');
      expect((await sendAt(erin, 'hi')).replies).toEqual(['Your name?']);
      // Every command naming the index is the commit script's own (EVALSHA) or runs inside it (lua).
      const outside = commands.filter((c) => c.source !== 'lua').map((c) => c.args[0]!.toLowerCase());
      expect(outside).toEqual(['evalsha']);
      const inside = commands.filter((c) => c.source === 'lua').map((c) => c.args[0]!.toLowerCase());
      expect(inside).toEqual(['zadd', 'hset', 'zrangebyscore', 'zrem', 'hdel', 'pexpire', 'pexpire']);
      expect(await h.redis.zscore(index, 'long-gone')).toBeNull();
      expect(await h.redis.hexists(h.keys.liveConversationSummaries('test'), 'long-gone')).toBe(0);
      expect(Number(await h.redis.zscore(index, h.cid('desk', erin.identity)))).toBe(clock.now());
      expect(await h.redis.pttl(index)).toBeGreaterThan(LIVE_RETENTION_MS - 60_000);
    } finally {
      monitor.close();
    }
  });

  it('keeps the identity sealed in Redis', async () => {
    const summaries = await h.redis.hgetall(h.keys.liveConversationSummaries('test'));
    expect(Object.keys(summaries).length).toBeGreaterThan(0);
    expect(JSON.stringify(summaries)).not.toContain('+12025550101');
    expect(JSON.stringify(summaries)).not.toContain('desk');
  });
});
