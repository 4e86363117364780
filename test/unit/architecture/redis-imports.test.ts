// All Redis access lives in src/store: no other source imports ioredis (bar the composition root), and no Lua lives elsewhere.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

/** Where ioredis may be imported: the store, and the composition root. */
const MAY_IMPORT_IOREDIS = [/^src\/store\//, /^src\/main\//];

function sources(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|js|mts|lua)$/.test(entry.name) ? [path] : [];
  });
}

const files = [...sources('src'), ...sources('channels')];

/** An import or re-export of ioredis (static or dynamic, type-only included). */
const IOREDIS = /(?:from\s*|import\s*\(\s*|import\s+)['"]ioredis['"]/;
/** Lua that talks to Redis: `redis.call(` or `redis.pcall(` in a script's source. */
const LUA = /\bredis\.p?call\s*\(/;

describe('Redis lives in src/store', () => {
  it('finds the sources it checks', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain('src/store/scripts.ts');
  });

  it('no file outside src/store and the composition root imports ioredis', () => {
    const offenders = files.filter(
      (file) =>
        !MAY_IMPORT_IOREDIS.some((allowed) => allowed.test(file)) &&
        IOREDIS.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('no Lua script lives outside src/store', () => {
    const offenders = files.filter(
      (file) =>
        !file.startsWith('src/store/') &&
        (file.endsWith('.lua') || LUA.test(readFileSync(join(root, file), 'utf8'))),
    );
    expect(offenders).toEqual([]);
  });

  it('the checks catch what they look for', () => {
    expect(IOREDIS.test("import type { Redis } from 'ioredis';")).toBe(true);
    expect(IOREDIS.test("export { Redis } from 'ioredis';")).toBe(true);
    expect(IOREDIS.test("await import('ioredis')")).toBe(true);
    expect(IOREDIS.test("import 'ioredis';")).toBe(true);
    expect(IOREDIS.test("import { Redis } from './ioredis-like.js';")).toBe(false);
    expect(LUA.test("local n = redis.call('INCR', KEYS[1])")).toBe(true);
    expect(LUA.test('redis.pcall("GET", KEYS[1])')).toBe(true);
    expect(MAY_IMPORT_IOREDIS.some((allowed) => allowed.test('src/queue/queues.ts'))).toBe(false);
  });
});
