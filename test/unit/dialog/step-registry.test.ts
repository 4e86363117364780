// A new step kind is one file plus one registry line: a test-only kind runs through the engine, the
// config schema and check-config without any change under src/.
import { describe, expect, it } from 'vitest';
import { BotSchema, configSchemas, type BotConfig } from '../../../src/config/index.js';
import { semanticProblems } from '../../../src/config/checks.js';
import { issueProblems } from '../../../src/config/issues.js';
import { DialogEngine, STEPS, type DialogState } from '../../../src/core/dialog.js';
import type { InboundEvent } from '../../../src/core/events.js';
import type { Clock } from '../../../src/core/ports.js';
import { Templates } from '../../../src/core/templates.js';
import { confirm } from './support/confirm-step.js';
import { FakeServices } from './support/fake-services.js';

const steps = { ...STEPS, confirm };
const schemas = configSchemas(steps);

const written = {
  workspace: 'w',
  help: 'Help text.',
  flows: {
    main: [
      { confirm: { prompt: 'Shall we, {{ who }}?', save: 'answer' } },
      { say: 'You said {{ answer }}.' },
    ],
  },
};

const clock: Clock = { now: () => 1_700_000_000_000, sleep: async () => undefined };

const services = new FakeServices().ports;

describe('a step kind registered by a test', () => {
  it('parses through the config schema built from the registry, with its defaults', () => {
    const bot = schemas.BotSchema.parse(written);
    expect(bot.flows.main![0]).toEqual({
      confirm: { prompt: 'Shall we, {{ who }}?', save: 'answer', again: 'Please answer yes or no.' },
    });
  });

  it('is an unknown step to the built-in registry', () => {
    const parsed = BotSchema.safeParse(written);
    expect(parsed.success).toBe(false);
    const problems = issueProblems(parsed.error!.issues, BotSchema, {
      valueAt: (path) => path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k], written),
      redacted: () => false,
    });
    expect(problems).toEqual([
      expect.objectContaining({ path: ['flows', 'main', 0, 'confirm'], message: 'unknown step "confirm"' }),
    ]);
  });

  it('reports its own schema problems at their path, with the keys it knows', () => {
    const bad = {
      ...written,
      flows: { main: [{ confirm: { prompt: 'Sure?', save: 'answer', agian: 'x' } }] },
    };
    const parsed = schemas.BotSchema.safeParse(bad);
    expect(parsed.success).toBe(false);
    const problems = issueProblems(parsed.error!.issues, schemas.BotSchema, {
      valueAt: (path) => path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k], bad),
      redacted: () => false,
    });
    expect(problems).toEqual([
      expect.objectContaining({
        path: ['flows', 'main', 0, 'confirm', 'agian'],
        message: 'unknown key "agian"',
        meant: 'again',
      }),
    ]);
  });

  it('has check-config run its own check', () => {
    const raw = {
      workspaces: { w: { apiKeys: ['k'.repeat(32)] } },
      bots: { b: { ...written, flows: { main: [{ confirm: { prompt: '{{ oops', save: 'answer' } }] } } },
    };
    const problems = semanticProblems(raw, steps);
    expect(problems).toEqual([
      expect.objectContaining({ path: ['bots', 'b', 'flows', 'main', 0, 'confirm', 'prompt'] }),
    ]);
    expect(problems[0]!.message).toMatch(/not a valid Liquid template/);
    // The built-in registry does not know the kind, so it has nothing to check there.
    expect(semanticProblems(raw)).toEqual([]);
  });

  it('runs in the engine: asks, re-prompts after HELP and a wrong answer, saves, moves on', async () => {
    const engine = new DialogEngine({ templates: new Templates(), clock, steps });
    const bot = schemas.BotSchema.parse(written) as unknown as BotConfig;
    let state: DialogState | null = null;
    const send = async (text: string) => {
      const event = {
        id: `E-${text}`,
        kind: 'message',
        botId: 'b',
        channel: 'sms',
        identity: 'sms:+12025550100',
        from: '+12025550100',
        to: '+15005550006',
        text,
        receivedAt: clock.now(),
      } as InboundEvent;
      const result = await engine.turn(
        { botId: 'b', bot, event, now: clock.now(), optedOut: false, services },
        state,
      );
      state = result.state;
      return result.output.replies.map((r) => r.text);
    };
    expect(await send('hi')).toEqual(['Shall we, ?']);
    expect(state).toMatchObject({ pending: { kind: 'confirm', misses: 0 } });
    expect(await send('help')).toEqual(['Help text.', 'Shall we, ?']);
    expect(await send('maybe')).toEqual(['Please answer yes or no.', 'Shall we, ?']);
    expect(await send('YES')).toEqual(['You said yes.']);
    expect(state).toBeNull(); // the flow ran out of steps
  });
});
