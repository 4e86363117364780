// Data key rotation: tokens sealed under an old key still open; a token sealed under an unknown key is missing, not an error.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDataCipher } from '../../../src/store/cipher.js';
import { keyNamingRecord } from '../../../src/store/keys.js';
import { places } from '../../../src/store/places.js';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { randomNumber, type DialogHarness } from '../dialog/helpers.js';
import { account, bankBot, gatewayWithKeys, startBankHarness, TEXT, tokenKey } from './helpers.js';

const BALANCE = TEXT.balance('1,234.56', 'USD');
const key = () => randomBytes(32).toString('base64');

let bank: FakeAuthService;
let base: DialogHarness;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  bank = await startFakeAuthService([account('rot-ivy'), account('rot-jon')]);
  // No gateway of its own: each step of the test starts one with the data keys of that moment.
  base = await startBankHarness({
    bots: bankBot({ bank: bank.url }),
    gateway: false,
    label: 'auth-rotation',
  });
});

// A gateway left running by a failed test would take the next test's turns: each test stops its own.
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

afterAll(async () => {
  await base?.close();
  await bank?.close();
});

async function gateway(keys: { current: string; old?: string[] }, on: DialogHarness = base) {
  const g = await gatewayWithKeys(on, keys);
  stops.push(g.stop);
  return g;
}

/** A prefix of its own: the key names under a prefix are made with the data key of its first gateway. */
async function ownPrefix(label: string): Promise<DialogHarness> {
  const own = await startBankHarness({ bots: bankBot({ bank: bank.url }), gateway: false, label });
  stops.push(() => own.close());
  return own;
}

describe('data key rotation', () => {
  it('a token sealed under the old key is used after rotation (SWITCHBOARD_DATA_KEYS) without a new login', async () => {
    const [oldKey, newKey] = [key(), key()];
    const from = randomNumber();
    const before = await gateway({ current: oldKey });
    const c1 = before.h.whatsapp(from);
    expect(await c1.send('balance?')).toEqual([TEXT.username]);
    expect(await c1.send('rot-ivy')).toEqual([TEXT.password]);
    expect(await c1.send('pw-rot-ivy')).toEqual([BALANCE]);
    await before.stop();

    const scope = { workspace: 'test', userId: 'u-rot-ivy' };
    const sealed = await base.redis.get(tokenKey(before.h, scope, 'bank-login'));
    // Really sealed under the old key.
    expect(createDataCipher(newKey).open(sealed!, places.token(scope, 'bank-login'))).toBeUndefined();

    const after = await gateway({ current: newKey, old: [oldKey] });
    const c2 = after.h.whatsapp(from);
    expect(await c2.send('balance?')).toEqual([BALANCE]);
    expect(await c2.send('balance?')).toEqual([BALANCE]);
    expect(bank.logins.filter((l) => l.username === 'rot-ivy')).toHaveLength(1);
    expect(await base.redis.lrange(base.keys.deadLetters(), 0, -1)).toEqual([]);
    // Rotation renamed nothing: the key names are the first gateway's.
    expect(after.h.keys.conversationId('bank', `whatsapp:${from}`)).toBe(
      before.h.keys.conversationId('bank', `whatsapp:${from}`),
    );
    await after.stop();
  });

  it('key names survive retiring the old data key: a token cached after rotation is used with the new key alone', async () => {
    const [oldKey, newKey] = [key(), key()];
    const own = await ownPrefix('auth-retire');
    const start = (keys: { current: string; old?: string[] }) => gateway(keys, own);
    const from = randomNumber();
    const first = await start({ current: oldKey });
    await first.stop();
    const record = await own.redis.get(keyNamingRecord(own.prefix));
    expect(createDataCipher(oldKey).open(record!, ['meta', 'key-naming'])).toBeDefined();

    const rotated = await start({ current: newKey, old: [oldKey] });
    const c1 = rotated.h.sms(from);
    expect(await c1.send('balance?')).toEqual([TEXT.username]);
    expect(await c1.send('rot-ivy')).toEqual([TEXT.password]);
    expect(await c1.send('pw-rot-ivy')).toEqual([BALANCE]);
    await rotated.stop();
    // Re-sealed under the new key at start-up, so the old key can go.
    expect(
      createDataCipher(newKey).open((await own.redis.get(keyNamingRecord(own.prefix)))!, [
        'meta',
        'key-naming',
      ]),
    ).toBeDefined();

    const logins = bank.logins.length;
    const retired = await start({ current: newKey });
    expect(await retired.h.sms(from).send('balance?')).toEqual([BALANCE]);
    expect(bank.logins.length).toBe(logins);
    expect(retired.h.keys.conversationId('bank', `sms:${from}`)).toBe(
      first.h.keys.conversationId('bank', `sms:${from}`),
    );
  });

  it('a gateway whose data keys cannot open the key-naming record refuses to start, and says which variable to fix', async () => {
    const [known, stranger] = [key(), key()];
    const own = await ownPrefix('auth-stranger');
    const first = await gateway({ current: known }, own);
    await first.stop();
    await expect(gatewayWithKeys(own, { current: stranger })).rejects.toThrow(
      `The key-naming record ${keyNamingRecord(own.prefix)} in Redis is sealed under a data key this process does not have. ` +
        'Put the data key it was sealed with back in SWITCHBOARD_DATA_KEYS',
    );
  });

  it('a token sealed under a key nobody holds is treated as missing: the user is asked to log in', async () => {
    // A prefix of its own: `base`'s key names belong to the data keys of the test above.
    const own = await ownPrefix('auth-foreign');
    const from = randomNumber();
    const g = await gateway({ current: key() }, own);
    const c = g.h.sms(from);
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(await c.send('rot-jon')).toEqual([TEXT.password]);
    expect(await c.send('pw-rot-jon')).toEqual([BALANCE]);

    // Replace the cached token by one sealed under a key this gateway does not know (a dropped old key).
    const scope = { workspace: 'test', userId: 'u-rot-jon' };
    const where = tokenKey(g.h, scope, 'bank-login');
    const foreign = createDataCipher(key()).seal(
      JSON.stringify({ t: 'tok-foreign', e: Date.now() + 600_000 }),
      places.token(scope, 'bank-login'),
    );
    expect(await own.redis.set(where, foreign, 'KEEPTTL')).toBe('OK');

    const calls = bank.apiCalls.length;
    expect(await c.send('balance?')).toEqual([TEXT.username]);
    expect(bank.apiCalls.length).toBe(calls); // nothing was sent with a token it could not open
    expect(await c.send('rot-jon')).toEqual([TEXT.password]);
    expect(await c.send('pw-rot-jon')).toEqual([BALANCE]);
    expect(bank.apiCalls.slice(calls).map((a) => [a.token, a.status])).toEqual([
      [bank.latestToken('u-rot-jon')!.token, 200],
    ]);
    expect(await own.redis.lrange(own.keys.deadLetters(), 0, -1)).toEqual([]);
    expect(g.h.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
