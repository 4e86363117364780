// How tests run a gateway and wait for it: one harness starts every in-process gateway, and tests wait
// for a turn through the product's hook, not for its log line.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function testFiles(dir = join(ROOT, 'test')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testFiles(path);
    return entry.name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });
}

const files = testFiles().map((path) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }));

describe('the test harness', () => {
  it('is the only place a test starts a gateway in process', () => {
    const starters = files.filter((f) =>
      /import \{[^}]*\bstartGateway\b[^}]*\} from '[^']*main\/gateway\.js'/.test(f.text),
    );
    expect(starters.map((f) => f.path)).toEqual(['test/support/harness.ts']);
  });

  it('waits for a turn through the hook; only the log of a spawned process is waited on for one', () => {
    const waits = /waitFor\w*\(\s*'turn (handled|dead-lettered)'/;
    const mentions = /'turn handled'/;
    // Reads the log after the fact, to show the log it scanned for secrets spoke of every turn.
    const readsLogOnly = ['test/integration/auth/canary.test.ts'];
    const spawns = /\.spawn\(|spawnSwitchboard\(/;
    const offenders = files.filter(
      (f) =>
        f.path !== 'test/support/harness.test.ts' &&
        !spawns.test(f.text) &&
        (waits.test(f.text) || (mentions.test(f.text) && !readsLogOnly.includes(f.path))),
    );
    expect(offenders.map((f) => f.path)).toEqual([]);
    // The check sees what it is meant to see: the worker-crash test, whose workers are child processes,
    // still waits on their log.
    expect(files.filter((f) => waits.test(f.text)).map((f) => f.path)).toContain(
      'test/integration/backbone/worker-crash.test.ts',
    );
  });
});
