// The metrics registry itself: request outcomes by status class, and names promtool accepts before any traffic.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createMetrics, statusClass } from '../../../src/metrics.js';

describe('statusClass', () => {
  it('is the status class of an answer, else what happened instead', () => {
    expect(
      [
        { status: 200, reason: 'ok' },
        { status: 302, reason: 'status' },
        { status: 404, reason: 'status' },
        { status: 503, reason: 'status' },
        { reason: 'timeout' },
        { reason: 'refused' },
        { reason: 'ECONNREFUSED' },
        { reason: 'response too large' },
      ].map(statusClass),
    ).toEqual(['2xx', '3xx', '4xx', '5xx', 'timeout', 'refused', 'network', 'network']);
  });
});

describe('a fresh registry', () => {
  it('passes promtool check metrics, with the queue gauges read once per scrape', async () => {
    let reads = 0;
    const metrics = createMetrics(async () => {
      reads += 1;
      return { conversations: 3, sends: 1, oldestWaitingSeconds: { conversations: 2.5, sends: 0 } };
    });
    const text = await metrics.registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('switchboard_queue_depth{queue="conversations"} 3');
    expect(text).toContain('switchboard_queue_oldest_waiting_seconds{queue="conversations"} 2.5');
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect([lint.status, lint.stdout, lint.stderr]).toEqual([0, '', '']);
  });
});
