// How a typed link code is read: spacing, dashes, case and look-alike letters do not matter.
import { describe, expect, it } from 'vitest';
import { normalizeLinkCode } from '../../../src/identity/link-codes.js';

describe('normalizeLinkCode', () => {
  it('ignores spaces, dashes, dots and case, and reads I, L and O as 1, 1 and 0', () => {
    expect(normalizeLinkCode('k7m2q-x9pab')).toBe('K7M2QX9PAB');
    expect(normalizeLinkCode(' K7M2 QX9P AB ')).toBe('K7M2QX9PAB');
    expect(normalizeLinkCode('1O2l-3i4.5o')).toBe('102131450');
    expect(normalizeLinkCode('4821 0937 55')).toBe('4821093755');
  });
});
