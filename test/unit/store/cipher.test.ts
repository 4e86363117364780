// The data cipher: a value opens only for the place it was sealed for; the first, unbound format still opens and is marked stale.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDataCipher } from '../../../src/store/cipher.js';

const KEY = randomBytes(32).toString('base64');

function sealTheOldWay(plain: string, key: string): string {
  const bytes = Buffer.from(key, 'base64');
  const id = createHash('sha256').update(bytes).digest('base64url').slice(0, 6);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', bytes, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `${id}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

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
});
