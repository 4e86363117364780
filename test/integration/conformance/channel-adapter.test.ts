// The channel adapter suite for every registered channel and the test-only JSON channel; and the gateway
// reaches channels only through their registry.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelRegistry, SandboxRecorder } from '../../../channels/index.js';
import { BotSchema } from '../../../src/config/index.js';
import { jsonChannel } from '../../fakes/json-channel/json.adapter.js';
import { startJsonReceiver, type JsonReceiver } from '../../fakes/json-channel/receiver.js';
import {
  channelAdapterConformance,
  type ChannelAdapterSubject,
} from '../../support/conformance/channel-adapter.js';
import { dataKey } from '../../support/config.js';
import { deletePrefix, keysFor, randomPrefix } from '../../support/harness.js';
import { SandboxOutbox } from '../../../src/store/sandbox-outbox.js';

const REPO = join(import.meta.dirname, '../../..');
const prefix = randomPrefix('channels');
let receiver: JsonReceiver;
let redis: Redis;
let recorder: SandboxRecorder;

beforeAll(async () => {
  receiver = await startJsonReceiver();
  redis = new Redis(process.env.REDIS_URL!);
  recorder = new SandboxRecorder(new SandboxOutbox(redis, keysFor(prefix, dataKey())));
});
afterAll(async () => {
  await receiver.close();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

// The JSON channel is built with the receiver's URL, which is known only once it listens.
const lazyJson = () => jsonChannel({ secret: 's', deliverTo: receiver.url });
const registry = new ChannelRegistry([jsonChannel({ secret: 's', deliverTo: 'http://127.0.0.1:1/' })]);
const bot = BotSchema.parse({ workspace: 'w', flows: { main: [{ say: 'Hi' }] } });
let n = 0;
const fresh = () => String(1000 + n++);

const subjects: Record<string, () => ChannelAdapterSubject> = {
  sms: () => ({
    adapter: registry.get('sms')!,
    delivery: {
      context: { bot, sender: recorder },
      addresses: () => ({ from: '+15005550006', to: `+1202555${fresh()}` }),
      received: async (to) => (await recorder.list(to)).map((m) => m.body ?? ''),
    },
  }),
  whatsapp: () => ({
    adapter: registry.get('whatsapp')!,
    delivery: {
      context: { bot, sender: recorder },
      addresses: () => ({ from: 'whatsapp:+14155238886', to: `whatsapp:+4477009${fresh()}` }),
      received: async (to) => (await recorder.list(to)).map((m) => m.body ?? ''),
    },
  }),
  voice: () => ({
    adapter: registry.get('voice')!,
    render: { bot, publicUrl: 'https://gateway.example.com' },
  }),
  json: () => ({
    adapter: lazyJson(),
    delivery: {
      context: { bot, sender: recorder },
      addresses: () => ({ from: 'conformance-bot', to: `user-${fresh()}` }),
      received: async (to) => receiver.replies.filter((r) => r.to === to).map((r) => r.text),
    },
  }),
};

describe('every registered channel has a conformance subject', () => {
  it('names the same channels as the registry', () => {
    expect(Object.keys(subjects).sort()).toEqual(
      registry
        .all()
        .map((a) => a.name)
        .sort(),
    );
  });
});

for (const [name, make] of Object.entries(subjects)) channelAdapterConformance(name, async () => make());

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

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
