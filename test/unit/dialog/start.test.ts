// The engine's `start` event (an operator started a flow): the flow runs fresh with the given variables, as if
// the user had written; the user's answer continues it.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BotSchema, type BotConfig } from '../../../src/config/index.js';
import { DialogEngine } from '../../../src/core/dialog.js';
import { DialogError } from '../../../src/core/errors.js';
import type { Clock } from '../../../src/core/ports.js';
import { Templates } from '../../../src/core/templates.js';
import { Conversation } from './support/conversation.js';

const clock: Clock = { now: () => Date.now(), sleep: async () => undefined };
const engine = new DialogEngine({ templates: new Templates(), clock });

const BOT: BotConfig = BotSchema.parse({
  workspace: 'w',
  ...(parse(`
sessionTimeout: 600
flows:
  main:
    - ask: { prompt: "Your name?", save: name }
  card_check:
    - ask: { prompt: "Was this {{amount}} payment you, {{name}}? Reply 1 or 2", save: answer, pattern: "^[12]$" }
    - switch: { value: "{{answer}}", cases: { "1": yes, "2": no } }
  yes:
    - end: "Thanks {{name}}."
  no:
    - end: "Blocked."
`) as object),
});

const start = (flow: string, vars: Record<string, string> = {}) => ({
  kind: 'start' as const,
  text: '',
  start: { flow, vars },
});

describe('a started flow', () => {
  it('runs from its first step with the variables, and the answer continues it', async () => {
    const c = new Conversation(engine, BOT);
    await c.send('hello');
    expect(c.state?.flow).toBe('main');
    const started = await c.send('', start('card_check', { name: 'Ada', amount: '£20' }));
    expect(started.output.replies.map((r) => r.text)).toEqual([
      'Was this £20 payment you, Ada? Reply 1 or 2',
    ]);
    expect(c.state).toMatchObject({
      flow: 'card_check',
      step: 0,
      vars: { name: 'Ada', amount: '£20', input: '' },
    });
    expect(c.services.events.map((e) => e.type)).toContain('conversation.started');
    const answered = await c.send('1');
    expect(answered.output.replies.map((r) => r.text)).toEqual(['Thanks Ada.']);
    expect(answered.state).toBeNull();
  });

  it('says nothing to an identity that opted out', async () => {
    const c = new Conversation(engine, BOT);
    c.optedOut = true;
    const started = await c.send('', start('card_check'));
    expect(started.output.replies).toEqual([]);
    expect(started.state).toBeNull();
  });

  it('of a flow the bot no longer has is a DialogError (dead-lettered)', async () => {
    const c = new Conversation(engine, BOT);
    await expect(c.send('', start('gone'))).rejects.toThrow(DialogError);
  });
});
