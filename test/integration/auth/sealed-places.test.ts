// Sealed values are bound to their place: a token copied into another user's record does not open there; one sealed the old way opens and is sealed again.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataCipher } from '../../../src/store/cipher.js';
import { places } from '../../../src/store/places.js';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { randomNumber, type DialogHarness } from '../dialog/helpers.js';
import { account, bankBot, gatewayWithKeys, startBankHarness, TEXT, tokenKey } from './helpers.js';
import { sealTheOldWay } from '../../support/legacy-seal.js';

const DATA_KEY = randomBytes(32).toString('base64');
const COMPONENT = 'bank-login';
const scope = (name: string) => ({ workspace: 'test', userId: `u-${name}` });
const BALANCE = TEXT.balance('1,234.56', 'USD');

let bank: FakeAuthService;
let base: DialogHarness;
let g: { h: DialogHarness; stop(): Promise<void> };

beforeAll(async () => {
  bank = await startFakeAuthService([account('seal-ann'), account('seal-bob'), account('seal-cat')]);
  base = await startBankHarness({
    bots: bankBot({ bank: bank.url }),
    gateway: false,
    label: 'auth-sealed-places',
  });
  g = await gatewayWithKeys(base, { current: DATA_KEY });
});

afterAll(async () => {
  await g?.stop();
  await base?.close();
  await bank?.close();
});

/** Logs a new number in as `name` through the gateway; returns the chat. */
async function signIn(name: string) {
  const chat = g.h.sms(randomNumber());
  expect(await chat.send('balance?')).toEqual([TEXT.username]);
  expect(await chat.send(name)).toEqual([TEXT.password]);
  expect(await chat.send(`pw-${name}`)).toEqual([BALANCE]);
  return chat;
}

describe('sealed values bound to their place', () => {
  it("a token copied with Redis commands into another user's record does not open there: that user is asked to sign in", async () => {
    await signIn('seal-ann');
    const bob = await signIn('seal-bob');
    const annKey = tokenKey(g.h, scope('seal-ann'), COMPONENT);
    const bobKey = tokenKey(g.h, scope('seal-bob'), COMPONENT);
    const annToken = await base.redis.get(annKey);
    expect(annToken).not.toBeNull();
    expect(await base.redis.set(bobKey, annToken!, 'KEEPTTL')).toBe('OK');

    // Bob's record now holds Ann's sealed token: it does not open as Bob's, so Bob signs in again.
    expect(await bob.send('balance?')).toEqual([TEXT.username]);
    expect(await bob.send('seal-bob')).toEqual([TEXT.password]);
    expect(await bob.send('pw-seal-bob')).toEqual([BALANCE]);
    expect(bank.logins.filter((l) => l.username === 'seal-bob')).toHaveLength(2);
    expect(bank.logins.filter((l) => l.username === 'seal-ann')).toHaveLength(1);
  });

  it('a token sealed the old way (no place) still opens, without a new login, and is sealed again for its place', async () => {
    const cat = await signIn('seal-cat');
    const key = tokenKey(g.h, scope('seal-cat'), COMPONENT);
    const place = places.token(scope('seal-cat'), COMPONENT);
    const cipher = createDataCipher(DATA_KEY);
    const plain = cipher.open((await base.redis.get(key))!, place)!;
    expect(JSON.parse(plain)).toMatchObject({ t: bank.issued.at(-1)!.token });
    const old = sealTheOldWay(plain, DATA_KEY);
    expect(await base.redis.set(key, old, 'KEEPTTL')).toBe('OK');
    const ttl = await base.redis.pttl(key);

    expect(await cat.send('balance?')).toEqual([BALANCE]);
    expect(bank.logins.filter((l) => l.username === 'seal-cat')).toHaveLength(1);
    // Migrated on read: the stored value is the bound format now, opens only for its place, kept its TTL.
    const now = (await base.redis.get(key))!;
    expect(now).not.toBe(old);
    expect(now.startsWith('2.')).toBe(true);
    expect(cipher.open(now, place)).toBe(plain);
    expect(cipher.open(now, places.token(scope('seal-ann'), COMPONENT))).toBeUndefined();
    const left = await base.redis.pttl(key);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(ttl);
    expect(await cat.send('balance?')).toEqual([BALANCE]);
  });
});
