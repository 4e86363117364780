// Link codes against a real Redis: redeeming verifies with the code's data, once, before expiry, 5 wrong tries per window.
import { afterEach, describe, expect, it } from 'vitest';
import { whoAmIText } from '../../../src/identity/who-am-i.js';
import { identityWorld, type IdentityWorld } from './setup.js';

const worlds: IdentityWorld[] = [];
async function world(...args: Parameters<typeof identityWorld>): Promise<IdentityWorld> {
  const w = await identityWorld(...args);
  worlds.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

const WA = 'whatsapp:+447700900123';

/** A code of the right shape that is not `code`. */
function wrong(code: string, n: number): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const last = alphabet[(alphabet.indexOf(code.at(-1)!) + 1 + n) % alphabet.length]!;
  return `${code.slice(0, -1)}${last}`;
}

describe('link codes', () => {
  it('verifies the identity with the code’s data, and "who am I" answers with the name', async () => {
    const w = await world({ useClock: true });
    const { code, expiresAt } = await w.linkCodes.create({
      workspace: 'acme',
      userId: 'web-77',
      externalId: 'org-1',
      name: 'Zhang San',
      customData: { plan: 'gold' },
    });
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
    expect(expiresAt).toBe(w.clock.now + 600_000);
    // The code is a secret: it names no key and is in no value.
    for (const key of await w.scan()) {
      expect(key).not.toContain(code);
      const raw =
        (await w.redis.type(key)) === 'set' ? (await w.redis.smembers(key)).join() : await w.redis.get(key);
      expect(raw).not.toContain(code);
    }

    const result = await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code });
    expect(result).toEqual({
      ok: true,
      user: {
        workspace: 'acme',
        userId: 'web-77',
        externalId: 'org-1',
        tier: 'verified',
        name: 'Zhang San',
        customData: { plan: 'gold' },
        identity: WA,
        channel: 'whatsapp',
      },
    });
    const resolved = await w.identity.resolveUser({ workspace: 'acme', identity: WA });
    expect(resolved).toMatchObject({
      userId: 'web-77',
      externalId: 'org-1',
      tier: 'verified',
      name: 'Zhang San',
    });
    expect(whoAmIText(resolved)).toBe('You are Zhang San (verified).');
  });

  it('cannot be used twice', async () => {
    const w = await world();
    const { code } = await w.linkCodes.create({ workspace: 'acme', userId: 'web-1' });
    expect((await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code })).ok).toBe(true);
    expect(await w.linkCodes.redeem({ workspace: 'acme', identity: 'sms:+15550001111', code })).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('gives a code to exactly one of two identities redeeming it at once', async () => {
    const w = await world();
    const { code } = await w.linkCodes.create({ workspace: 'acme', userId: 'web-2' });
    const results = await Promise.all([
      w.linkCodes.redeem({ workspace: 'acme', identity: 'sms:+15550002221', code }),
      w.linkCodes.redeem({ workspace: 'acme', identity: 'sms:+15550002222', code }),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it('refuses an expired code', async () => {
    const w = await world({ useClock: true });
    const { code } = await w.linkCodes.create({ workspace: 'acme', userId: 'web-3', ttlSeconds: 30 });
    w.clock.now += 30_000;
    expect(await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code })).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect((await w.identity.resolveUser({ workspace: 'acme', identity: WA })).tier).toBe('anonymous');
  });

  it('refuses another workspace’s code', async () => {
    const w = await world();
    const { code } = await w.linkCodes.create({ workspace: 'acme', userId: 'web-4' });
    expect(await w.linkCodes.redeem({ workspace: 'globex', identity: WA, code })).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect((await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code })).ok).toBe(true);
  });

  it('after 5 wrong codes refuses a 6th, even the right one, until the window passes', async () => {
    const w = await world({ useClock: true });
    const { code } = await w.linkCodes.create({ workspace: 'acme', userId: 'web-5', name: 'Ann' });
    for (let i = 0; i < 5; i++) {
      expect(await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code: wrong(code, i) })).toEqual({
        ok: false,
        reason: 'invalid',
      });
    }
    const refused = await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code });
    expect(refused).toMatchObject({ ok: false, reason: 'rate_limited' });
    expect(refused.ok ? 0 : refused.until).toBe(w.clock.now + 900_000);
    // The right code was not spent by the refused try: another identity can still use it.
    expect((await w.linkCodes.redeem({ workspace: 'acme', identity: 'sms:+15550003333', code })).ok).toBe(
      true,
    );

    // The counter holds its window's end, which the clock passes: the identity may try again, although
    // Redis keeps the counter a while longer (its TTL only collects it).
    const counter = w.keys.linkCodeFailures(w.keys.identityHash('acme', WA));
    expect((await w.scan()).filter((k) => k.endsWith(':lcf'))).toEqual([counter]);
    expect(await w.redis.ttl(counter)).toBeGreaterThan(890);
    w.clock.now += 899_999;
    const { code: second } = await w.linkCodes.create({ workspace: 'acme', userId: 'web-5' });
    expect(await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code: second })).toMatchObject({
      reason: 'rate_limited',
    });
    w.clock.now += 1;
    expect(await w.redis.exists(counter)).toBe(1);
    expect((await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code: second })).ok).toBe(true);
  });

  it('reads a counter left by an earlier version (a bare count whose TTL is the window)', async () => {
    const w = await world({ useClock: true });
    const { code } = await w.linkCodes.create({ workspace: 'acme', userId: 'web-6' });
    const counter = w.keys.linkCodeFailures(w.keys.identityHash('acme', WA));
    await w.redis.set(counter, '5', 'PX', 600_000);
    const refused = await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code });
    expect(refused).toMatchObject({ ok: false, reason: 'rate_limited' });
    expect(refused.ok ? 0 : (refused.until ?? 0) - w.clock.now).toBeGreaterThan(590_000);
    expect(refused.ok ? 0 : (refused.until ?? 0) - w.clock.now).toBeLessThanOrEqual(600_000);
  });

  it('keeps the count an integer, so an earlier version running beside this one (INCR) still counts', async () => {
    const w = await world({ useClock: true });
    const counter = w.keys.linkCodeFailures(w.keys.identityHash('acme', WA));
    expect(await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code: '000000' })).toMatchObject({
      reason: 'invalid',
    });
    expect(await w.redis.get(counter)).toBe('1');
    expect(await w.redis.incr(counter)).toBe(2); // what an earlier gateway does with a wrong code
    for (let i = 0; i < 3; i++) {
      expect(await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code: '000000' })).toMatchObject({
        reason: 'invalid',
      });
    }
    expect(await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code: '000000' })).toMatchObject({
      reason: 'rate_limited',
    });
  });

  it('does not count a right code against the identity', async () => {
    const w = await world();
    for (let i = 0; i < 4; i++) {
      await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code: '000000' });
    }
    const { code } = await w.linkCodes.create({ workspace: 'acme', userId: 'web-6' });
    expect((await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code })).ok).toBe(true);
    expect((await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code: '000000' })).ok).toBe(false);
    expect(await w.linkCodes.redeem({ workspace: 'acme', identity: WA, code: '000000' })).toMatchObject({
      reason: 'rate_limited',
    });
  });
});
