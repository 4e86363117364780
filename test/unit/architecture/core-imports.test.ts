// src/core is pure: its built import graph never leaves it, and the engine takes time only from its clock port.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, ensureBuilt } from '../../support/processes.js';
import { jsFiles, specifiers } from './built-imports.js';

const CORE = join(REPO_ROOT, 'dist/src/core');

/**
 * Bare packages core may import: zod (the step schemas) and liquidjs (templates). Both are pure
 * libraries, doing no I/O and reading no environment.
 */
const ALLOWED_PACKAGES = new Set(['zod', 'liquidjs']);

/** What a specifier reaches outside core, or undefined when it stays inside (or is an allowed package). */
function escape(file: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) {
    const target = resolve(dirname(file), specifier);
    return target === CORE || target.startsWith(CORE + sep) ? undefined : relative(REPO_ROOT, target);
  }
  const name = specifier.startsWith('@')
    ? specifier.split('/').slice(0, 2).join('/')
    : specifier.split('/')[0]!;
  return ALLOWED_PACKAGES.has(name) ? undefined : specifier;
}

describe('the built core', () => {
  let files: string[] = [];
  beforeAll(() => {
    ensureBuilt();
    files = jsFiles(CORE);
  });

  it('finds the modules it checks', () => {
    const names = files.map((f) => relative(CORE, f));
    expect(names).toContain('dialog.js');
    expect(names).toContain(join('dialog', 'engine.js'));
    expect(names).toContain(join('ports', 'clock.js'));
  });

  it('imports nothing outside src/core but zod and liquidjs', () => {
    const leaving = files.flatMap((file) =>
      specifiers(readFileSync(file, 'utf8'))
        .map((specifier) => escape(file, specifier))
        .filter((target) => target !== undefined)
        .map((target) => `${relative(CORE, file)} -> ${target}`),
    );
    expect(leaving).toEqual([]);
  });

  it('each allowed package comes in through one file: zod.ts and templates.ts', () => {
    const doors = files.flatMap((file) =>
      specifiers(readFileSync(file, 'utf8'))
        .filter((specifier) => ALLOWED_PACKAGES.has(specifier))
        .map((specifier) => `${relative(CORE, file)} -> ${specifier}`),
    );
    expect(doors.sort()).toEqual(['templates.js -> liquidjs', 'zod.js -> zod']);
  });

  it('reads the specifiers the check relies on', () => {
    // The parser itself: a check that finds nothing would pass for the wrong reason.
    const sample = [
      "import { a } from '../config/index.js';",
      "export { b } from 'node:fs';",
      "import 'yaml';",
      "const c = await import('../net/errors.js');",
      "import {\n  d,\n  e,\n} from './inside.js';",
    ].join('\n');
    expect(specifiers(sample).sort()).toEqual(
      ['../config/index.js', '../net/errors.js', './inside.js', 'node:fs', 'yaml'].sort(),
    );
    const file = join(CORE, 'dialog', 'engine.js');
    expect(escape(file, '../ports/clock.js')).toBeUndefined();
    expect(escape(file, '../../config/index.js')).toBe(join('dist', 'src', 'config', 'index.js'));
    expect(escape(file, 'zod')).toBeUndefined();
    expect(escape(file, 'node:fs')).toBe('node:fs');
  });

  it('keeps the dialog engine off the wall clock: time comes from its Clock port', () => {
    const dialog = files.filter((f) => relative(CORE, f).startsWith(`dialog${sep}`));
    expect(dialog.length).toBeGreaterThan(5);
    const uses = dialog.flatMap((file) => {
      const source = readFileSync(file, 'utf8');
      return ['Date.now(', 'setTimeout(', 'new Date(']
        .filter((call) => source.includes(call))
        .map((call) => `${relative(CORE, file)}: ${call}`);
    });
    expect(uses).toEqual([]);
  });
});
