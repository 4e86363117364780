// The sign-in store against a real Redis: exact keys and lifetimes, single use under races, the binding
// code's tries, and no code, state, verifier, token or binding code in clear in any value.
import { afterEach, describe, expect, it } from 'vitest';
import { createDataCipher } from '../../../src/store/cipher.js';
import { DEADLINE_GRACE_MS } from '../../../src/store/try-counter.js';
import {
  BINDING_TRIES,
  LINK_CODE_SHAPE,
  RedisSignInStore,
  SIGN_IN_FINISH_SECONDS,
  type SignInOrigin,
} from '../../../src/store/sign-in-store.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { matchesPattern } from '../../support/key-patterns.js';
import { redisUrl, scanPrefix } from '../identity/setup.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

async function world() {
  const base = await startHarness({ gateway: false, label: 'sign-in', redisUrl: redisUrl() });
  harnesses.push(base);
  const clock = { now: Date.now() };
  const cipher = createDataCipher(base.processEnv.SWITCHBOARD_DATA_KEY!);
  const store = new RedisSignInStore(base.redis, base.keys, cipher, { now: () => clock.now });
  return { base, clock, store, keys: base.keys, redis: base.redis };
}

function origin(binding = true): SignInOrigin {
  return {
    workspace: 'acme',
    botId: 'bank',
    component: 'bank-oauth',
    cid: 'conversation-1',
    channel: 'whatsapp',
    identity: 'whatsapp:+447700900123',
    from: 'whatsapp:+447700900123',
    to: 'whatsapp:+15005550006',
    binding,
  };
}

const SECRETS = {
  state: 'STATE-CANARY-5f1c2e',
  nonce: 'NONCE-CANARY-9a7d10',
  codeVerifier: 'VERIFIER-CANARY-33b8e4',
};
const TOKENS = {
  accessToken: 'ACCESS-CANARY-7c2a91',
  ttlSeconds: 3600,
  refreshToken: 'REFRESH-CANARY-41d0f3',
};
const BROWSER = 'BROWSER-CANARY-0e5b77';
const BINDING = '482913';

/** Every value under the prefix as text (strings and hashes: the store writes no other type). */
async function everyValue(redis: Harness['redis'], prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const key of await scanPrefix(redis, prefix)) {
    const type = await redis.type(key);
    expect(['string', 'hash']).toContain(type);
    out.push(type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : ((await redis.get(key)) ?? ''));
  }
  return out;
}

describe('RedisSignInStore', () => {
  it('names the session by the keyed hash of its code, with the lifetime of the link plus the time to finish', async () => {
    const w = await world();
    const { session, code, expiresAt } = await w.store.create(origin(), 600);
    expect(code).toMatch(LINK_CODE_SHAPE);
    expect(Buffer.from(code, 'base64url')).toHaveLength(16);
    expect(session).toBe(w.keys.signInSessionId(code));
    expect(expiresAt).toBe(w.clock.now + 600_000);
    const key = w.keys.signInSession(session);
    expect(await scanPrefix(w.redis, w.base.prefix)).toEqual([key]);
    expect(key).toBe(`${w.base.prefix}:si:{${session}}`);
    expect(matchesPattern(w.keys.everySignInSession())(key)).toBe(true);
    const ttl = await w.redis.pttl(key);
    const lifetime = (600 + SIGN_IN_FINISH_SECONDS) * 1000 + DEADLINE_GRACE_MS;
    expect(ttl).toBeGreaterThan(lifetime - 5000);
    expect(ttl).toBeLessThanOrEqual(lifetime);
    expect(await w.redis.hgetall(key)).toMatchObject({
      status: 'pending',
      binding: '1',
      linkEnd: String(expiresAt),
      end: String(expiresAt + SIGN_IN_FINISH_SECONDS * 1000),
    });
    expect(await w.store.status(session)).toEqual({ status: 'pending' });
  });

  it('peeks without spending; spends once; the state pointer lives as long as the session', async () => {
    const w = await world();
    const { session, code } = await w.store.create(origin(), 600);
    expect(await w.store.peek(code)).toEqual({ status: 'live', origin: origin() });
    expect(await w.store.peek(code)).toEqual({ status: 'live', origin: origin() });
    expect(await w.store.peek('A'.repeat(22))).toEqual({ status: 'unknown' });

    const spent = await w.store.spend(code, SECRETS, BROWSER);
    expect(spent).toEqual({ ok: true, session, origin: origin() });
    expect(await w.store.peek(code)).toEqual({ status: 'used' });
    expect(await w.store.status(session)).toEqual({ status: 'started' });

    const pointer = w.keys.signInState(w.keys.signInHash('state', SECRETS.state));
    expect(pointer).toBe(`${w.base.prefix}:sis:{${w.keys.signInHash('state', SECRETS.state)}}`);
    expect(matchesPattern(w.keys.everySignInState())(pointer)).toBe(true);
    expect(await scanPrefix(w.redis, w.base.prefix)).toEqual([w.keys.signInSession(session), pointer].sort());
    expect(await w.redis.get(pointer)).toBe(session);
    const [sessionTtl, pointerTtl] = [
      await w.redis.pttl(w.keys.signInSession(session)),
      await w.redis.pttl(pointer),
    ];
    expect(Math.abs(sessionTtl - pointerTtl)).toBeLessThan(2000);
  });

  it('of two racing spends, exactly one wins', async () => {
    const w = await world();
    const { code } = await w.store.create(origin(), 600);
    const results = await Promise.all([
      w.store.spend(code, SECRETS, BROWSER),
      w.store.spend(code, { ...SECRETS, state: 'other-state' }, 'other-browser'),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'used' }]);
  });

  it('an expired link is expired to peek and to spend, and its session is over', async () => {
    const w = await world();
    const { session, code } = await w.store.create(origin(), 600);
    w.clock.now += 600_000;
    expect(await w.store.peek(code)).toEqual({ status: 'expired' });
    expect(await w.store.spend(code, SECRETS, BROWSER)).toEqual({ ok: false, reason: 'expired' });
    expect(await w.store.status(session)).toBeUndefined();
  });

  it('takes the secrets by state once, and only for the browser that spent the code', async () => {
    const w = await world();
    const { session, code } = await w.store.create(origin(), 600);
    await w.store.spend(code, SECRETS, BROWSER);
    expect(await w.store.takeByState('tampered', BROWSER)).toEqual({ ok: false, reason: 'unknown' });
    expect(await w.store.takeByState(SECRETS.state, undefined)).toEqual({
      ok: false,
      reason: 'other_browser',
    });
    expect(await w.store.takeByState(SECRETS.state, 'another')).toEqual({
      ok: false,
      reason: 'other_browser',
    });
    const racing = await Promise.all([
      w.store.takeByState(SECRETS.state, BROWSER),
      w.store.takeByState(SECRETS.state, BROWSER),
    ]);
    expect(racing.filter((r) => r.ok)).toEqual([{ ok: true, session, origin: origin(), secrets: SECRETS }]);
    expect(racing.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'used' }]);
    expect(await w.redis.hexists(w.keys.signInSession(session), 'secrets')).toBe(0);
  });

  it('claims the tokens with the binding code, once, and deletes them', async () => {
    const w = await world();
    const { session, code } = await w.store.create(origin(), 600);
    expect(await w.store.claim(session, BINDING)).toEqual({ ok: false, reason: 'not_completed' });
    await w.store.spend(code, SECRETS, BROWSER);
    await w.store.takeByState(SECRETS.state, BROWSER);
    await w.store.complete(session, { userId: 'sub-1', tokens: TOKENS, bindingCode: BINDING });
    expect(await w.store.status(session)).toEqual({ status: 'completed' });
    const key = w.keys.signInSession(session);
    expect(await w.redis.hget(key, 'bind')).toBe(w.keys.signInHash('binding', session, BINDING));

    expect(await w.store.claim(session, '000000')).toEqual({
      ok: false,
      reason: 'wrong_code',
      attemptsLeft: 2,
    });
    expect(await w.store.claim(session, BINDING)).toEqual({
      ok: true,
      userId: 'sub-1',
      tokens: TOKENS,
      origin: origin(),
    });
    expect(await w.redis.hmget(key, 'tokens', 'bind', 'status')).toEqual([null, null, 'taken']);
    expect(await w.store.claim(session, BINDING)).toEqual({ ok: false, reason: 'expired' });
    expect(await w.store.status(session)).toEqual({ status: 'taken' });
  });

  it(`spends the session on the ${BINDING_TRIES}rd wrong binding code`, async () => {
    const w = await world();
    const { session, code } = await w.store.create(origin(), 600);
    await w.store.spend(code, SECRETS, BROWSER);
    await w.store.takeByState(SECRETS.state, BROWSER);
    await w.store.complete(session, { userId: 'sub-1', tokens: TOKENS, bindingCode: BINDING });
    expect(await w.store.claim(session, '111111')).toMatchObject({ attemptsLeft: 2 });
    expect(await w.store.claim(session, undefined)).toMatchObject({ attemptsLeft: 1 });
    expect(await w.store.claim(session, '333333')).toEqual({ ok: false, reason: 'too_many' });
    expect(await w.store.claim(session, BINDING)).toEqual({ ok: false, reason: 'too_many' });
    expect(await w.redis.hexists(w.keys.signInSession(session), 'tokens')).toBe(0);
    expect(await w.store.status(session)).toEqual({ status: 'failed', reason: 'error' });
  });

  it('without binding the conversation claims with no code; a failed session gives nothing', async () => {
    const w = await world();
    const first = await w.store.create(origin(false), 600);
    await w.store.spend(first.code, SECRETS, BROWSER);
    await w.store.takeByState(SECRETS.state, BROWSER);
    await w.store.complete(first.session, { userId: 'sub-2', tokens: TOKENS });
    expect(await w.store.claim(first.session, undefined)).toMatchObject({ ok: true, userId: 'sub-2' });

    const second = await w.store.create(origin(false), 600);
    const other = { ...SECRETS, state: 'state-two' };
    await w.store.spend(second.code, other, BROWSER);
    await w.store.takeByState(other.state, BROWSER);
    await w.store.fail(second.session, 'denied');
    expect(await w.store.status(second.session)).toEqual({ status: 'failed', reason: 'denied' });
    await expect(w.store.complete(second.session, { userId: 'sub-3', tokens: TOKENS })).rejects.toThrow(
      'the sign-in session is not waiting for its exchange',
    );
    expect(await w.store.claim(second.session, undefined)).toEqual({ ok: false, reason: 'expired' });
  });

  it('past the session end nothing can be taken or claimed', async () => {
    const w = await world();
    const { session, code } = await w.store.create(origin(), 600);
    await w.store.spend(code, SECRETS, BROWSER);
    w.clock.now += (600 + SIGN_IN_FINISH_SECONDS) * 1000;
    expect(await w.store.takeByState(SECRETS.state, BROWSER)).toEqual({ ok: false, reason: 'used' });
    expect(await w.store.claim(session, BINDING)).toEqual({ ok: false, reason: 'expired' });
    expect(await w.store.status(session)).toBeUndefined();
  });

  it('keeps no code, state, nonce, verifier, browser key, token or binding code in clear', async () => {
    const w = await world();
    const { session, code } = await w.store.create(origin(), 600);
    const canaries = [code, ...Object.values(SECRETS), BROWSER, TOKENS.accessToken, TOKENS.refreshToken];
    const check = async (extra: string[] = []) => {
      const values = await everyValue(w.redis, w.base.prefix);
      const names = await scanPrefix(w.redis, w.base.prefix);
      for (const text of [...values, ...names])
        for (const secret of [...canaries, ...extra]) expect(text).not.toContain(secret);
    };
    await check();
    await w.store.spend(code, SECRETS, BROWSER);
    await check();
    await w.store.takeByState(SECRETS.state, BROWSER);
    await w.store.complete(session, { userId: 'sub-1', tokens: TOKENS, bindingCode: BINDING });
    // The binding code is six digits: look for it as a whole value and inside every field.
    const record = await w.redis.hgetall(w.keys.signInSession(session));
    expect(Object.values(record)).not.toContain(BINDING);
    await check([BINDING, 'sub-1']);
  });
});
