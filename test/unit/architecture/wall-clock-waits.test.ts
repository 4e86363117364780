// No integration test waits for time to pass: lockouts, sessions, link codes and rate-limit minutes end by
// the gateway's injected clock, which a test moves (test/support/clock.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/processes.js';

const INTEGRATION = join(REPO_ROOT, 'test/integration');

/**
 * Sleeps that are not waits on our own clock: Redis itself is away for as long as the outage lasts
 * (real sockets notice real time).
 */
const ALLOWED_SLEEPS = new Set(['backbone/redis-blip.test.ts']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** What in `source` waits on the wall clock: comparing it with a deadline, or sleeping a second or more. */
export function wallClockWaits(source: string): string[] {
  const patterns = [
    /Date\.now\(\)\s*(?:[<>]=?|%)|(?<!=)[<>]=?\s*Date\.now\(\)/g,
    /setTimeout\(\s*\w+\s*,\s*(?:[1-9]\d{3,}|[1-9]\d?_\d{3})\s*\)/g,
    /awayFromMinuteEnd/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[0]));
}

describe('tests and the wall clock', () => {
  it('recognizes the waits it forbids, and not arithmetic on the time', () => {
    expect(wallClockWaits('await waitUntil(() => Date.now() > state.expiresAt, 3000);')).toHaveLength(1);
    expect(wallClockWaits('while (60_000 - (Date.now() % 60_000) < margin)')).toHaveLength(1);
    expect(wallClockWaits('await new Promise((resolve) => setTimeout(resolve, 2000));')).toHaveLength(1);
    expect(wallClockWaits('await new Promise((resolve) => setTimeout(resolve, 1_500));')).toHaveLength(1);
    expect(wallClockWaits('await awayFromMinuteEnd(10_000);')).toHaveLength(1);
    expect(wallClockWaits('now: () => Date.now() - 25 * 3_600_000,')).toEqual([]);
    expect(wallClockWaits('expect(Date.now() - started).toBeLessThan(5000);')).toEqual([]);
    expect(wallClockWaits('await new Promise((resolve) => setTimeout(resolve, 50));')).toEqual([]);
  });

  it('no integration test waits for time to pass', () => {
    const files = tsFiles(INTEGRATION);
    expect(files.length).toBeGreaterThan(50);
    const waits = files
      .filter((file) => !ALLOWED_SLEEPS.has(relative(INTEGRATION, file).split('\\').join('/')))
      .flatMap((file) =>
        wallClockWaits(readFileSync(file, 'utf8')).map((wait) => `${relative(INTEGRATION, file)}: ${wait}`),
      );
    expect(waits).toEqual([]);
  });
});
