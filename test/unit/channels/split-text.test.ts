// splitText: Twilio's 1,600-character limit, cut on word boundaries where there is one.
import { describe, expect, it } from 'vitest';
import { splitText } from '../../../channels/channel.js';
import { MAX_TEXT } from '../../../channels/twilio/messaging.js';

describe('splitText', () => {
  it('keeps a text at the limit whole', () => {
    const text = 'x'.repeat(MAX_TEXT);
    expect(splitText(text, MAX_TEXT)).toEqual([text]);
  });

  it('cuts at the last space before the limit and drops the space', () => {
    expect(splitText('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(splitText('aaa bbbb ccc', 7)).toEqual(['aaa', 'bbbb', 'ccc']);
  });

  it('prefers a later newline to an earlier space', () => {
    expect(splitText('aa bb cc\ndd', 9)).toEqual(['aa bb cc', 'dd']);
  });

  it('cuts a word longer than the limit at the limit', () => {
    expect(splitText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('splits 1,799 characters of words into 1,592 and 206', () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${String(i).padStart(4, '0')}`);
    const parts = splitText(words.join(' '), MAX_TEXT);
    expect(parts).toEqual([words.slice(0, 177).join(' '), words.slice(177).join(' ')]);
    expect(parts.map((p) => p.length)).toEqual([1592, 206]);
  });

  it('never returns an empty part, and nothing for blank text', () => {
    expect(splitText('   ', MAX_TEXT)).toEqual([]);
    expect(splitText(`${'a'.repeat(10)}          ${'b'.repeat(3)}`, 10)).toEqual(['a'.repeat(10), 'bbb']);
  });

  it('loses no characters but the spaces it cuts at', () => {
    const text = Array.from({ length: 900 }, (_, i) => `w${i}`).join(' ');
    const parts = splitText(text, MAX_TEXT);
    expect(parts.every((p) => p.length <= MAX_TEXT && p.length > 0)).toBe(true);
    expect(parts.join(' ')).toBe(text);
  });
});
