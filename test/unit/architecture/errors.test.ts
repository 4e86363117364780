// Every error class names itself: logs and dead-letter reasons read `OutboundTimeoutError: …`, never `Error: …`.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, ensureBuilt } from '../../support/processes.js';

const ROOTS = ['dist/src', 'dist/channels'].map((dir) => join(REPO_ROOT, dir));

/** Modules that cannot be imported here: they are read instead (see below). */
const NOT_IMPORTED = new Set([
  'dist/src/main/cli.js', // runs the command line when loaded
]);
/** The simulator's browser script: it needs a DOM, and declares no error class. */
const BROWSER = join(REPO_ROOT, 'dist/src/http/simulator/page');

/** Argument lists tried in turn until one constructs the class (error constructors differ). */
const ARGUMENTS: unknown[][] = [
  ['a message'],
  [[]], // ConfigError: its problems
  [400, 'a_code', 'a message'], // ApiError
  ['host.example', 'a reason', 'a message'], // RemoteApiError
];

type ErrorClass = new (...args: unknown[]) => Error;

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === BROWSER ? [] : jsFiles(path);
    return entry.name.endsWith('.js') ? [path] : [];
  });
}

function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === 'function' && value.prototype instanceof Error;
}

function instance(cls: ErrorClass): Error | undefined {
  for (const args of ARGUMENTS) {
    try {
      return new cls(...args);
    } catch {
      // the next argument list
    }
  }
  return undefined;
}

/** The error classes an emitted module declares (exported or not), by name. */
function declaredErrorClasses(source: string): string[] {
  return [...source.matchAll(/\bclass\s+(\w+)\s+extends\s+(\w+)/g)]
    .filter(([, , base]) => base!.endsWith('Error'))
    .map(([, name]) => name!);
}

describe('error classes', () => {
  const found = new Map<ErrorClass, string>(); // class → the module that exports it
  let files: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    files = ROOTS.flatMap(jsFiles);
    for (const file of files) {
      if (NOT_IMPORTED.has(relative(REPO_ROOT, file))) continue;
      const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const value of Object.values(exports)) {
        if (isErrorClass(value) && !found.has(value)) found.set(value, relative(REPO_ROOT, file));
      }
    }
  }, 60_000);

  it('finds the classes it checks', () => {
    const names = [...found.keys()].map((cls) => cls.name);
    expect(names).toEqual(
      expect.arrayContaining(['DialogError', 'ConfigError', 'OutboundTimeoutError', 'SendRejectedError']),
    );
    expect(found.size).toBeGreaterThanOrEqual(20);
  });

  it('gives every exported error class a name that is its own', () => {
    const wrong = [...found].flatMap(([cls, file]) => {
      const error = instance(cls);
      if (!error) return [`${file}: ${cls.name} (none of the test's argument lists constructs it)`];
      return error.name === cls.name ? [] : [`${file}: ${cls.name} is named "${error.name}"`];
    });
    expect(wrong).toEqual([]);
  });

  it('gives no two error classes the same name', () => {
    const byName = new Map<string, string[]>();
    for (const [cls, file] of found) byName.set(cls.name, [...(byName.get(cls.name) ?? []), file]);
    expect([...byName].filter(([, files]) => files.length > 1)).toEqual([]);
  });

  it('names the error classes of modules it cannot import, and declares none unexported elsewhere', () => {
    const exported = new Set([...found.keys()].map((cls) => cls.name));
    const wrong = files.flatMap((file) => {
      const source = readFileSync(file, 'utf8');
      return declaredErrorClasses(source)
        .filter((name) => !exported.has(name))
        .filter((name) => !new RegExp(`class\\s+${name}\\b[^{]*\\{\\s*name\\s*=\\s*'${name}';`).test(source))
        .map((name) => `${relative(REPO_ROOT, file)}: ${name} does not set name = '${name}'`);
    });
    expect(wrong).toEqual([]);
  });

  it('has no error class nobody throws', () => {
    const sources = files.map((file) => readFileSync(file, 'utf8')).join('\n');
    const unused = [...found.keys()]
      .map((cls) => cls.name)
      .filter((name) => !new RegExp(`new\\s+${name}\\b|extends\\s+${name}\\b`).test(sources));
    expect(unused).toEqual([]);
  });
});
