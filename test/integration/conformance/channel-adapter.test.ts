// Every channel keeps the adapter contract, the built-in ones and one added from outside alike; and the
// gateway reaches channels only through their registry.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChannelRegistry, type ChannelAdapter } from '../../../channels/index.js';
import { jsonChannel } from '../../fakes/json-channel/json.adapter.js';

const REPO = join(import.meta.dirname, '../../..');
const registry = new ChannelRegistry([jsonChannel({ secret: 's', deliverTo: 'http://127.0.0.1:1/' })]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe.each(registry.all().map((adapter) => [adapter.name, adapter] as [string, ChannelAdapter]))(
  'the %s channel',
  (_name, adapter) => {
    it('answers its replies one way: texts it delivers, or the answer of the webhook that waits', () => {
      if (adapter.renderTurn) {
        expect(adapter.apology).toBeTypeOf('function');
        expect(adapter.deliver).toBeUndefined();
      } else {
        expect(adapter.deliver).toBeTypeOf('function');
        expect(adapter.toTexts?.('Hello.')).toEqual(['Hello.']);
      }
    });

    it('mounts at least one webhook route, each with a body reader', () => {
      expect(adapter.routes.length).toBeGreaterThan(0);
      for (const route of adapter.routes) {
        expect(route.path).toMatch(/^\//);
        expect(route.body).toBeTypeOf('function');
      }
    });
  },
);

describe('the channel registry', () => {
  it('gives every route to one channel only', () => {
    const paths = registry.all().flatMap((a) => a.routes.map((r) => r.path));
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('refuses a second channel of the same name', () => {
    expect(() => new ChannelRegistry([{ name: 'sms', routes: [] }])).toThrow('two channels are named "sms"');
  });

  it('is the only way from src/ into channels/ (no adapter or provider module imported directly)', () => {
    const reaching = sourceFiles(join(REPO, 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/from '([^']*channels\/[^']*)'/g)]
        .map((m) => m[1]!)
        .filter((target) => !target.endsWith('channels/index.js'))
        .map((target) => `${relative(REPO, file)} -> ${target}`),
    );
    expect(reaching).toEqual([]);
  });
});
