// The "who am I" answer for each tier.
import { describe, expect, it } from 'vitest';
import { isWhoAmI, whoAmIText } from '../../../src/identity/who-am-i.js';

describe('whoAmIText', () => {
  it('names a verified user', () => {
    expect(whoAmIText({ tier: 'verified', userId: 'm-1', name: 'Zhang San' })).toBe(
      'You are Zhang San (verified).',
    );
  });
  it('names a verified user without a name by their user id', () => {
    expect(whoAmIText({ tier: 'verified', userId: 'm-1' })).toBe('You are verified as m-1.');
  });
  it('says an unverified name is unverified', () => {
    expect(whoAmIText({ tier: 'unverified', userId: 'anon:x', name: 'Zhang San' })).toBe(
      'You are Zhang San (unverified).',
    );
    expect(whoAmIText({ tier: 'unverified', userId: 'anon:x', email: 'zs@example.com' })).toBe(
      'You are zs@example.com (unverified).',
    );
  });
  it('does not know an anonymous user', () => {
    expect(whoAmIText({ tier: 'anonymous', userId: 'anon:x' })).toBe("I don't know you yet.");
  });
});

describe('isWhoAmI', () => {
  it('recognises the question in any case, with or without punctuation', () => {
    expect(['who am i', 'Who am I?', '  WHO  AM  I ?! ', 'whoami'].map(isWhoAmI)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['who am i to you', 'who', 'am i'].map(isWhoAmI)).toEqual([false, false, false]);
  });
});
