// The data cipher: a value opens only for the place it was sealed for; the first, unbound format still opens and is marked stale.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDataCipher } from '../../../src/store/cipher.js';
import { sealTheOldWay } from '../../support/legacy-seal.js';

const KEY = randomBytes(32).toString('base64');

describe('createDataCipher', () => {
  const cipher = createDataCipher(KEY);

  it('opens a value only for the place it was sealed for', () => {
    const sealed = cipher.seal('secret', ['token', 'ws', null, 'u-1', 'login']);
    expect(cipher.open(sealed, ['token', 'ws', null, 'u-1', 'login'])).toBe('secret');
    expect(cipher.open(sealed, ['token', 'ws', null, 'u-2', 'login'])).toBeUndefined();
    expect(cipher.open(sealed, ['token', 'ws', 'ext', 'u-1', 'login'])).toBeUndefined();
    // Names are kept apart: joining two of them differently is another place.
    const joined = cipher.seal('x', ['a.b', 'c']);
    expect(cipher.open(joined, ['a', 'b.c'])).toBeUndefined();
    expect(cipher.stale(sealed)).toBe(false);
  });

  it('opens a value sealed the old way (no place) wherever it is found, and marks it stale', () => {
    const old = sealTheOldWay('legacy', KEY);
    expect(cipher.open(old, ['anything'])).toBe('legacy');
    expect(cipher.stale(old)).toBe(true);
  });

  it('marks a value sealed under an old key stale, and opens nothing it cannot read', () => {
    const previous = randomBytes(32).toString('base64');
    const rotated = createDataCipher(KEY, [previous]);
    const sealed = createDataCipher(previous).seal('v', ['p']);
    expect(rotated.open(sealed, ['p'])).toBe('v');
    expect(rotated.stale(sealed)).toBe(true);
    for (const junk of ['', 'abc', '2.x.y', 'a.b.c.d', `2.${'A'.repeat(6)}.${'A'.repeat(40)}`])
      expect(cipher.open(junk, ['p'])).toBeUndefined();
  });

  it('gives every seal its own IV, across refills of the pool IVs are drawn from, and the envelope stays 2.<key id>.<iv|tag|body>', () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      const sealed = cipher.seal(`v${i}`, ['conversation', `c${i % 7}`, 'state']);
      const [version, keyId, payload] = sealed.split('.');
      expect(version).toBe('2');
      expect(keyId).toHaveLength(6);
      const raw = Buffer.from(payload!, 'base64url');
      expect(raw).toHaveLength(12 + 16 + `v${i}`.length);
      ivs.add(raw.subarray(0, 12).toString('hex'));
      expect(cipher.open(sealed, ['conversation', `c${i % 7}`, 'state'])).toBe(`v${i}`);
      expect(cipher.open(sealed, ['conversation', `c${(i + 1) % 7}`, 'state'])).toBeUndefined();
    }
    expect(ivs.size).toBe(1500);
  });
});
