// Identity records bound to their place: a binding or history entry copied to another identity does not count there; an old-format binding still opens and is sealed again.
import { afterEach, describe, expect, it } from 'vitest';
import { createDataCipher } from '../../../src/store/cipher.js';
import { places } from '../../../src/store/places.js';
import { sealTheOldWay } from '../../support/legacy-seal.js';
import { dataKey, identityWorld, type IdentityWorld } from './setup.js';

const KEY = dataKey();
const ANN = 'sms:+15552220001';
const BOB = 'sms:+15552220002';

const worlds: IdentityWorld[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});
async function world(): Promise<IdentityWorld> {
  const w = await identityWorld({ cipher: createDataCipher(KEY) });
  worlds.push(w);
  return w;
}
const record = (w: IdentityWorld, identity: string) =>
  w.keys.identityRecord(w.keys.identityHash('acme', identity));

describe('identity values bound to their place', () => {
  it("a binding copied into another identity's record does not make that identity the user", async () => {
    const w = await world();
    await w.identity.markVerified({ workspace: 'acme', identity: ANN, userId: 'member-1', via: 'auth' });
    await w.identity.touch('acme', BOB);
    const binding = await w.redis.hget(record(w, ANN), 'bind');
    expect(binding).not.toBeNull();
    expect(await w.redis.hset(record(w, BOB), 'bind', binding!)).toBe(1);

    const bob = await w.identity.resolveUser({ workspace: 'acme', identity: BOB });
    expect(bob).toMatchObject({ tier: 'anonymous', userId: `anon:${w.keys.identityHash('acme', BOB)}` });
    expect((await w.identity.resolveUser({ workspace: 'acme', identity: ANN })).userId).toBe('member-1');
  });

  it("a history entry copied into another identity's history is not shown there", async () => {
    const w = await world();
    const anon = async (identity: string) => w.identity.resolveUser({ workspace: 'acme', identity });
    await w.identity.appendHistory(await anon(ANN), { direction: 'in', channel: 'sms', text: 'ann', at: 1 });
    await w.identity.appendHistory(await anon(BOB), { direction: 'in', channel: 'sms', text: 'bob', at: 2 });
    const annHistory = w.keys.identityHistory(w.keys.identityHash('acme', ANN));
    const bobHistory = w.keys.identityHistory(w.keys.identityHash('acme', BOB));
    const [entry] = await w.redis.lrange(annHistory, 0, 0);
    await w.redis.lpush(bobHistory, entry!);

    const bob = { workspace: 'acme', userId: (await anon(BOB)).userId };
    expect((await w.identity.readHistory(bob)).map((e) => e.text)).toEqual(['bob']);
  });

  it('a binding sealed the old way (no place) still opens, and is sealed again for its place', async () => {
    const w = await world();
    await w.identity.markVerified({ workspace: 'acme', identity: ANN, userId: 'member-2', via: 'auth' });
    const place = places.binding('acme', ANN);
    const plain = w.cipher.open((await w.redis.hget(record(w, ANN), 'bind'))!, place)!;
    const old = sealTheOldWay(plain, KEY);
    await w.redis.hset(record(w, ANN), 'bind', old);

    expect((await w.identity.resolveUser({ workspace: 'acme', identity: ANN })).userId).toBe('member-2');
    const now = (await w.redis.hget(record(w, ANN), 'bind'))!;
    expect(now).not.toBe(old);
    expect(now.startsWith('2.')).toBe(true);
    expect(w.cipher.open(now, place)).toBe(plain);
    expect(w.cipher.open(now, places.binding('acme', BOB))).toBeUndefined();
  });
});
