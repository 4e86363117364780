// Folders import downward only: the built import graph of src/ and channels/ follows the layer order
// below, and no two folders import each other, however far round.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, ensureBuilt } from '../../support/processes.js';
import { jsFiles, specifiers } from './built-imports.js';

const DIST = join(REPO_ROOT, 'dist');

/**
 * The layers, lowest first. A folder may import its own layer's files and any layer below it, never one
 * above. `support` is the files directly in src/ (log, metrics, env).
 */
const LAYERS: readonly (readonly [layer: string, why: string])[] = [
  ['src/core', 'the pure domain: events, dialog engine, ports; imports nothing of ours'],
  ['support', 'process-wide utilities (logger, metrics, environment), over packages only'],
  ['src/net', 'the guarded outbound HTTP client every remote call goes through'],
  ['src/identity', 'tier rules, caller-ID trust, link-code policy: decisions, no Redis'],
  ['src/store', 'all Redis: records the identity rules govern, keys, scripts, connections'],
  ['src/operator-events', 'signed webhooks to the operator, queued in the store'],
  ['src/auth', 'auth methods keyed by type, calling remote APIs through net'],
  ['channels', 'every provider detail, one adapter per channel'],
  ['src/config', 'the configuration schema, composed of the auth methods and channels it names'],
  ['src/turn', 'the application layer: one turn with its ports bound over store, auth and identity'],
  ['src/queue', 'BullMQ shells over turn/: queues and workers'],
  ['src/http', 'the web side: app, webhook mounting, operator API, simulator'],
  ['src/main', 'the composition root: the only place that builds and wires the rest'],
];

const RANK = new Map(LAYERS.map(([layer], index) => [layer, index]));

/** Every relative module specifier of an emitted module. */
const relativeSpecifiers = (source: string) => specifiers(source).filter((s) => s.startsWith('.'));

/** The layer of a built file (a repository-relative path under dist/), or undefined outside src/ and channels/. */
function layerOf(path: string): string | undefined {
  const parts = path.split(sep);
  if (parts[0] === 'channels') return 'channels';
  if (parts[0] !== 'src') return undefined;
  return parts.length === 2 ? 'support' : `src/${parts[1]}`;
}

interface Edge {
  from: string;
  to: string;
  file: string;
  target: string;
}

/** The imports between layers, from the built files whose source still exists (a stale build is skipped). */
function crossings(): Edge[] {
  const files = [...jsFiles(join(DIST, 'src')), ...jsFiles(join(DIST, 'channels'))].filter((file) =>
    existsSync(join(REPO_ROOT, relative(DIST, file)).replace(/\.js$/, '.ts')),
  );
  return files.flatMap((file) => {
    const from = layerOf(relative(DIST, file));
    return relativeSpecifiers(readFileSync(file, 'utf8')).flatMap((specifier) => {
      const target = relative(DIST, resolve(dirname(file), specifier));
      const to = layerOf(target);
      return from && to && from !== to ? [{ from, to, file: relative(DIST, file), target }] : [];
    });
  });
}

/** A cycle in the layer graph, as the layers round it, or undefined. */
function cycle(edges: readonly Edge[]): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) next.set(from, (next.get(from) ?? new Set()).add(to));
  const done = new Set<string>();
  const visit = (node: string, path: string[]): string[] | undefined => {
    if (path.includes(node)) return [...path.slice(path.indexOf(node)), node];
    if (done.has(node)) return undefined;
    for (const to of next.get(node) ?? []) {
      const found = visit(to, [...path, node]);
      if (found) return found;
    }
    done.add(node);
    return undefined;
  };
  for (const node of next.keys()) {
    const found = visit(node, []);
    if (found) return found;
  }
  return undefined;
}

const upward = (edges: readonly Edge[]) =>
  edges
    .filter(({ from, to }) => (RANK.get(to) ?? Infinity) > (RANK.get(from) ?? -Infinity))
    .map(({ file, target }) => `${file} -> ${target}`);

describe('the layers of the built source', () => {
  let edges: Edge[] = [];
  beforeAll(() => {
    ensureBuilt();
    edges = crossings();
  });

  it('finds the imports it checks', () => {
    expect(edges.some(({ from, to }) => from === 'src/main' && to === 'src/http')).toBe(true);
    expect(edges.some(({ from, to }) => from === 'src/queue' && to === 'src/turn')).toBe(true);
  });

  it('places every folder in a layer', () => {
    const layers = new Set(edges.flatMap(({ from, to }) => [from, to]));
    expect([...layers].filter((layer) => !RANK.has(layer))).toEqual([]);
  });

  it('has no import from a layer to one above it', () => {
    expect(upward(edges)).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    expect(cycle(edges)).toBeUndefined();
  });

  it('catches what it looks for', () => {
    // The checks themselves: one that finds nothing would pass for the wrong reason.
    const edge = (from: string, to: string): Edge => ({
      from,
      to,
      file: `${from}/a.js`,
      target: `${to}/b.js`,
    });
    expect(upward([edge('src/queue', 'src/main'), edge('src/main', 'src/queue')])).toEqual([
      'src/queue/a.js -> src/main/b.js',
    ]);
    expect(cycle([edge('a', 'b'), edge('b', 'c'), edge('c', 'a')])).toEqual(['a', 'b', 'c', 'a']);
    expect(cycle([edge('a', 'b'), edge('a', 'c'), edge('b', 'c')])).toBeUndefined();
    expect(layerOf(join('src', 'log.js'))).toBe('support');
    expect(layerOf(join('src', 'http', 'simulator', 'router.js'))).toBe('src/http');
    expect(layerOf(join('channels', 'sms', 'sms.adapter.js'))).toBe('channels');
    expect(layerOf(join('examples', 'demo-bank', 'server.js'))).toBeUndefined();
    expect(
      specifiers(
        "import { a } from '../x.js';\nexport * from './y.js';\nimport './z.js';\nawait import('../w.js');",
      ),
    ).toEqual(['../x.js', './y.js', './z.js', '../w.js']);
  });
});
