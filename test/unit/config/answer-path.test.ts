// Paths into a JSON answer, as `save`, `token.path` and `userIdPath` write them.
import { describe, expect, it } from 'vitest';
import { answerPathSegments, readAnswerPath } from '../../../src/config/index.js';

describe('answer paths', () => {
  it('splits dotted and bracketed segments', () => {
    expect(answerPathSegments('data.items[0].amount')).toEqual(['data', 'items', 0, 'amount']);
    expect(answerPathSegments('data.items.0.amount')).toEqual(['data', 'items', '0', 'amount']);
    expect(answerPathSegments('[1].id')).toEqual([1, 'id']);
  });

  it('reads a value from an answer, either way of indexing a list', () => {
    const answer = { data: { items: [{ amount: 12.5 }, { amount: 3 }] }, user: { id: 'u-1' } };
    expect(readAnswerPath(answer, 'data.items[1].amount')).toBe(3);
    expect(readAnswerPath(answer, 'data.items.0.amount')).toBe(12.5);
    expect(readAnswerPath(answer, 'user.id')).toBe('u-1');
    expect(readAnswerPath(answer, 'user.name')).toBeUndefined();
    expect(readAnswerPath(answer, 'data.items[5].amount')).toBeUndefined();
    expect(readAnswerPath(answer, 'user.id.length')).toBeUndefined();
    expect(readAnswerPath([{ id: 7 }], '[0].id')).toBe(7);
  });
});
