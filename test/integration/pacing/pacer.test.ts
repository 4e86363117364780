// The pacer's script on a real Redis: replies reserve the next slot, bulk only takes a free one and is
// given come-back times one slot apart, 14107 slows a sender, and the key names no number.
import { afterEach, describe, expect, it } from 'vitest';
import { sendInterval } from '../../../channels/index.js';
import { checkConfigValues } from '../../../src/config/checks.js';
import { PacingSchema } from '../../../src/config/schema.js';
import { SendPacer } from '../../../src/store/pacer.js';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness, type Harness } from '../../support/harness.js';

const SENDER = '+15005550006';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the send pacer', () => {
  it('lets replies reserve the next slots and run ahead, and gives a bulk without a free slot its place in line', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'pacer', gateway: false });
    const pacer = new SendPacer(h.redis, h.keys);
    // A fresh sender: the first send goes now, bulk or not.
    expect(await pacer.take(SENDER, 10_000, 'bulk', 0)).toEqual({ waitMs: 0, reserved: true });
    // The next slot is 10 s away, past the horizon (500 ms): a bulk send reserves nothing and is told to
    // come back just before it; the one after it a slot later.
    const first = await pacer.take(SENDER, 10_000, 'bulk', 0);
    const second = await pacer.take(SENDER, 10_000, 'bulk', 0);
    expect(first.reserved || second.reserved).toBe(false);
    expect(first.waitMs).toBeGreaterThan(9_000);
    expect(first.waitMs).toBeLessThanOrEqual(9_750);
    expect(second.waitMs - first.waitMs).toBeGreaterThan(9_900);
    // A reply with no room to run ahead reserves the next slot and waits for it.
    const reply = await pacer.take(SENDER, 10_000, 'reply', 0);
    expect(reply.reserved).toBe(true);
    expect(reply.waitMs).toBeGreaterThan(9_000);
    expect(reply.waitMs).toBeLessThanOrEqual(10_000);
    // A reply allowed a minute ahead goes now and reserves the slot after.
    expect(await pacer.take(SENDER, 10_000, 'reply', 60_000)).toEqual({ waitMs: 0, reserved: true });
    const fields = await h.redis.hgetall(h.keys.pace(SENDER));
    expect(Object.keys(fields).sort()).toEqual(['b', 't']);
    expect(Number(fields.t) - Date.now()).toBeGreaterThan(25_000);
    // The key is named by a keyed hash of the sender.
    expect(h.keys.pace(SENDER)).not.toContain('5005550006');
    expect(await h.redis.pttl(h.keys.pace(SENDER))).toBeGreaterThan(60_000);
  });

  it('lets a bulk send reserve only the next slot, when it is within the horizon', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'pacer-horizon', gateway: false });
    const pacer = new SendPacer(h.redis, h.keys);
    expect(await pacer.take(SENDER, 400, 'bulk', 0)).toEqual({ waitMs: 0, reserved: true });
    const next = await pacer.take(SENDER, 400, 'bulk', 0);
    expect(next.reserved).toBe(true);
    expect(next.waitMs).toBeGreaterThan(300);
    expect(next.waitMs).toBeLessThanOrEqual(400);
    // The slot after is beyond the horizon: come back half a horizon before it, nothing reserved.
    const later = await pacer.take(SENDER, 400, 'bulk', 0);
    expect(later.reserved).toBe(false);
    expect(later.waitMs).toBeGreaterThan(500);
    expect(later.waitMs).toBeLessThanOrEqual(600);
  });

  it('slows a sender after 14107: the interval doubles, and doubles again', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'pacer-slow', gateway: false });
    const pacer = new SendPacer(h.redis, h.keys);
    expect(await pacer.take(SENDER, 1000, 'bulk', 0)).toEqual({ waitMs: 0, reserved: true });
    expect(await pacer.slowDown(SENDER, 1000)).toBe(2);
    expect(await pacer.slowDown(SENDER, 1000)).toBe(4);
    const fields = await h.redis.hgetall(h.keys.pace(SENDER));
    expect(fields.s).toBe('4');
    // The next slot: after the first send's 1 s, 2 s and then 4 s more.
    expect(Number(fields.t) - Date.now()).toBeGreaterThan(6_000);
  });
});

describe('send intervals', () => {
  const pacing = PacingSchema.parse({ numbers: { '+15550000001': 5, 'whatsapp:+15550000001': 20 } });

  it('uses the sender’s own rate, else the default of its kind', () => {
    expect(sendInterval(pacing, '+15550000001')).toBe(200);
    expect(sendInterval(pacing, 'whatsapp:+15550000001')).toBe(50);
    expect(sendInterval(pacing, '+15550000002')).toBe(1000);
    expect(sendInterval(pacing, '12345')).toBe(10);
    expect(sendInterval(pacing, 'whatsapp:+15550000002')).toBe(12.5);
  });

  it('warns of a rate for a number no bot sends from, naming the one it may mean', () => {
    const { problems, warnings } = checkConfigValues({
      workspaces: { w: {} },
      bots: { b: { workspace: 'w', numbers: { sms: ['+15550000001'] }, flows: { main: [{ say: 'hi' }] } } },
      pacing: { numbers: { '+15550000001': 3, '+15550000002': 5 } },
    });
    expect(problems).toEqual([]);
    expect(warnings).toEqual([
      {
        path: ['pacing', 'numbers', '+15550000002'],
        atKey: true,
        message: 'no bot sends from +15550000002',
        hint: 'did you mean "+15550000001"? Senders: +15550000001.',
      },
    ]);
  });

  it('refuses a sender that is no number, with a hint', () => {
    const result = PacingSchema.safeParse({ numbers: { '555-1234': 5 } });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toContain('"whatsapp:+15551234567"');
  });
});
