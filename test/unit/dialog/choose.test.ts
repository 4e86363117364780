// The `choose` step on its own: its schema and checks, the reply it makes (the options for each channel to
// render), which answers pick an option (id, number, keypad key, title), the retry text and giving up.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BotSchema, type BotConfig } from '../../../src/config/index.js';
import { semanticProblems } from '../../../src/config/checks.js';
import { issueProblems } from '../../../src/config/issues.js';
import { numberedChoice, pickedOption } from '../../../src/core/choices.js';
import { DialogEngine } from '../../../src/core/dialog.js';
import type { Clock } from '../../../src/core/ports.js';
import { Templates } from '../../../src/core/templates.js';
import { Conversation } from './support/conversation.js';

const clock: Clock = { now: () => 1_700_000_000_000, sleep: async () => undefined };
const engine = new DialogEngine({ templates: new Templates(), clock });

const FLOWS = `
flows:
  main:
    - choose:
        prompt: "Which account, {{name}}?"
        options:
          - { id: checking, title: "Checking" }
          - { id: savings, title: "Savings", description: "{{rate}} a year" }
        save: account
    - end: "You picked {{account}}."
`;

function bot(yaml: string): BotConfig {
  return BotSchema.parse({ workspace: 'w', help: 'Help text.', ...(parse(yaml) as object) });
}

const OPTIONS = [
  { id: 'checking', title: 'Checking' },
  { id: 'savings', title: 'Savings', description: '2% a year' },
];
const PROMPT = {
  text: 'Which account, Ann?',
  ask: { keypad: false, secret: false },
  choice: { options: OPTIONS, button: 'Choose' },
};

async function started(channel: 'sms' | 'voice' | 'whatsapp' = 'sms', yaml = FLOWS) {
  const c = new Conversation(engine, bot(yaml), channel);
  const first = await c.send('hi');
  c.state!.vars.name = 'Ann';
  c.state!.vars.rate = '2%';
  return { c, first };
}

describe('the choose step', () => {
  it('parses with its defaults: two retries, the retry and give-up texts from the engine', () => {
    expect(bot(FLOWS).flows.main![0]).toEqual({
      choose: {
        prompt: 'Which account, {{name}}?',
        options: [
          { id: 'checking', title: 'Checking' },
          { id: 'savings', title: 'Savings', description: '{{rate}} a year' },
        ],
        save: 'account',
        retries: 2,
      },
    });
  });

  it('asks with the rendered prompt and options on the reply, and waits', async () => {
    const c = new Conversation(engine, bot(FLOWS));
    const first = await c.send('hi', {});
    expect(first.output.replies).toEqual([
      {
        text: 'Which account, ?',
        ask: { keypad: false, secret: false },
        choice: {
          options: [
            { id: 'checking', title: 'Checking' },
            { id: 'savings', title: 'Savings', description: 'a year' },
          ],
          button: 'Choose',
        },
      },
    ]);
    expect(c.state).toMatchObject({ flow: 'main', step: 0, pending: { kind: 'choose', misses: 0 } });
  });

  it.each([
    ['the id (a tapped button or list item)', 'savings'],
    ['the number', '2'],
    ['the title', 'Savings'],
    ['the title, in any case and with spaces around it', '  sAVINGS '],
  ])('saves the id of the option picked by %s', async (_, answer) => {
    const { c } = await started();
    const result = await c.send(answer);
    expect(result.output).toEqual({ replies: [{ text: 'You picked savings.' }], hangup: true });
  });

  it('on a call the keypad key picks the option', async () => {
    const { c } = await started('voice');
    expect(await c.say('1')).toEqual(['You picked checking.']);
  });

  it('says the retry text and asks again, then gives up with the invalid text after the retries', async () => {
    const { c } = await started();
    const again = await c.send('3');
    expect(again.output.replies).toEqual([{ text: "That's not one of the options." }, PROMPT]);
    expect(c.state).toMatchObject({ pending: { kind: 'choose', misses: 1 } });
    expect(await c.say('current')).toEqual(["That's not one of the options.", 'Which account, Ann?']);
    const last = await c.send('0');
    expect(last.output).toEqual({
      replies: [{ text: "Sorry, that's not one of the options. Goodbye." }],
      hangup: true,
    });
    expect(last.state).toBeNull();
  });

  it('says its own retry and invalid texts, rendered', async () => {
    const { c } = await started(
      'sms',
      FLOWS.replace(
        'save: account',
        'save: account\n        retry: "Not that, {{name}}."\n        retries: 1\n        invalid: "Bye, {{name}}."',
      ),
    );
    expect(await c.say('nope')).toEqual(['Not that, Ann.', 'Which account, Ann?']);
    expect(await c.say('nope')).toEqual(['Bye, Ann.']);
  });

  it('silence on a call asks again without the retry text', async () => {
    const { c } = await started('voice');
    expect(await c.say('')).toEqual(['Which account, Ann? Press 1 for Checking. Press 2 for Savings.']);
  });

  it('HELP says the help and asks again', async () => {
    const { c } = await started();
    expect((await c.send('HELP')).output.replies).toEqual([{ text: 'Help text.' }, PROMPT]);
  });
});

describe('which answer picks which option', () => {
  const ten = Array.from({ length: 10 }, (_, i) => ({ id: `o${i + 1}`, title: `Option ${i + 1}` }));

  it('by number on a text channel: 1 to 10', () => {
    expect(pickedOption(ten, '10', false)?.id).toBe('o10');
    expect(pickedOption(ten, '0', false)).toBeUndefined();
    expect(pickedOption(ten, '11', false)).toBeUndefined();
  });

  it('by key on a call: 1 to 9, then 0 for the tenth', () => {
    expect(pickedOption(ten, '9', true)?.id).toBe('o9');
    expect(pickedOption(ten, '0', true)?.id).toBe('o10');
    expect(pickedOption(ten, '10', true)).toBeUndefined();
  });

  it('by title with inner spaces collapsed; nothing for an empty answer', () => {
    expect(pickedOption(ten, 'option   3', false)?.id).toBe('o3');
    expect(pickedOption(ten, '   ', false)).toBeUndefined();
  });

  it('numbers the options under the prompt, with their descriptions', () => {
    expect(
      numberedChoice('Pick one:', [
        { id: 'a', title: 'A', description: 'first' },
        { id: 'b', title: 'B' },
      ]),
    ).toBe('Pick one:\n1. A (first)\n2. B');
  });
});

describe('check-config on choose', () => {
  function problems(options: unknown[], extra: Record<string, unknown> = {}) {
    const written = {
      workspace: 'w',
      flows: { main: [{ choose: { prompt: 'Pick', options, save: 'x', ...extra } }] },
    };
    const parsed = BotSchema.safeParse(written);
    if (parsed.success) return [];
    return issueProblems(parsed.error.issues, BotSchema, {
      valueAt: (path) => path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k], written),
      redacted: () => false,
    }).map((p) => ({ path: p.path.join('.'), message: p.message }));
  }

  it('takes 1 to 10 options', () => {
    expect(problems([])).toEqual([
      { path: 'flows.main.0.choose.options', message: expect.stringMatching(/at least 1/) },
    ]);
    const eleven = Array.from({ length: 11 }, (_, i) => ({ id: `o${i}`, title: `T${i}` }));
    expect(problems(eleven)).toEqual([
      { path: 'flows.main.0.choose.options', message: expect.stringMatching(/at most 10/) },
    ]);
    expect(problems(eleven.slice(0, 10))).toEqual([]);
  });

  it('wants each id once, and a numeric id to be its own position', () => {
    expect(
      problems([
        { id: 'a', title: 'A' },
        { id: 'a', title: 'B' },
        { id: 1, title: 'C' },
      ]),
    ).toEqual([
      { path: 'flows.main.0.choose.options.1.id', message: 'option id "a" is used twice' },
      {
        path: 'flows.main.0.choose.options.2.id',
        message: 'option id "1" is a number but the option is number 3 in the list',
      },
    ]);
    expect(
      problems([
        { id: 1, title: 'One' },
        { id: 2, title: 'Two' },
      ]),
    ).toEqual([]);
  });

  it('checks the prompt, titles, descriptions and texts as templates', () => {
    const raw = {
      workspaces: { w: { apiKeys: ['k'.repeat(32)] } },
      bots: {
        b: {
          workspace: 'w',
          flows: {
            main: [
              {
                choose: {
                  prompt: '{{ oops',
                  options: [{ id: 'a', title: '{% if %}', description: '{{ x' }],
                  save: 'x',
                  retry: '{{ r',
                },
              },
            ],
          },
        },
      },
    };
    expect(semanticProblems(raw).map((p) => p.path.join('.'))).toEqual([
      'bots.b.flows.main.0.choose.prompt',
      'bots.b.flows.main.0.choose.retry',
      'bots.b.flows.main.0.choose.options.0.title',
      'bots.b.flows.main.0.choose.options.0.description',
    ]);
  });
});
