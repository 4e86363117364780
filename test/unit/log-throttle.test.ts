// throttled(): one line per repeated reason per interval, with the count of what was dropped.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { throttled } from '../../src/log-throttle.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('throttled', () => {
  it('logs a reason once per interval, then again with how many repeats it dropped; a new reason at once', () => {
    vi.useFakeTimers({ now: 0 });
    const lines: [string, Record<string, unknown>][] = [];
    const log = throttled((m, meta) => lines.push([m, meta]), 'worker error', 1000);
    log('ECONNREFUSED');
    log('ECONNREFUSED');
    log('ECONNREFUSED');
    vi.setSystemTime(500);
    log('ETIMEDOUT');
    vi.setSystemTime(1600);
    log('ETIMEDOUT');
    log('ETIMEDOUT');
    vi.setSystemTime(2700);
    log('ETIMEDOUT');
    log('ECONNREFUSED');
    expect(lines).toEqual([
      ['worker error', { reason: 'ECONNREFUSED' }],
      ['worker error', { reason: 'ETIMEDOUT' }],
      ['worker error', { reason: 'ETIMEDOUT' }],
      ['worker error', { reason: 'ETIMEDOUT', repeats: 1 }],
      ['worker error', { reason: 'ECONNREFUSED', repeats: 2 }],
    ]);
  });
});
