// `choose: { prompt, options: [{ id, title, description? }], save, ... }`: asks the user to pick one
// option and saves its id. Each channel presents the options its own way (see `Reply.choice`).
import { MAX_OPTIONS, keypadKey, pickedOption } from '../../choices.js';
import type { ChoiceOption } from '../../events.js';
import { z } from '../../zod.js';
import { Count, PositiveSeconds, Text, VariableNameSchema, withHint } from '../../schema-parts.js';
import { asMapping, defineStep } from '../step.js';
import { text } from '../text.js';
import type { Turn } from '../turn.js';

/** An option's id: what the answer saves and a tapped button sends back (Twilio allows 200 characters). */
const OptionId = z.preprocess(
  (v) => (typeof v === 'number' ? String(v) : v),
  z.string().trim().min(1).max(200),
);

const OptionSchema = z.strictObject({
  id: OptionId,
  title: Text,
  description: Text.optional(),
});

export const ChooseOptionsSchema = z.strictObject({
  prompt: Text,
  options: z
    .array(OptionSchema)
    .min(1)
    .max(MAX_OPTIONS)
    .superRefine((options, ctx) => {
      const seen = new Set<string>();
      options.forEach((option, i) => {
        if (seen.has(option.id)) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'id'],
            message: withHint(`option id "${option.id}" is used twice`, 'give each option its own id.'),
          });
        }
        seen.add(option.id);
        // A number typed on SMS picks by position: an id that is another position's number is ambiguous.
        if (/^[0-9]+$/.test(option.id) && option.id !== String(i + 1)) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'id'],
            message: withHint(
              `option id "${option.id}" is a number but the option is number ${i + 1} in the list`,
              `use id "${i + 1}" or a word (a typed number always means the option at that position).`,
            ),
          });
        }
      });
    }),
  save: VariableNameSchema,
  /** Said before asking again after an answer that is not an option. */
  retry: Text.optional(),
  retries: Count.default(2),
  /** Said when the answers ran out; the conversation ends. */
  invalid: Text.optional(),
  timeout: PositiveSeconds.optional(),
});
export type ChooseOptions = z.output<typeof ChooseOptionsSchema>;

interface ChoosePending {
  kind: 'choose';
  misses: number;
  [detail: string]: unknown;
}

/** The options with their titles and descriptions rendered (they may be templates). */
async function rendered(turn: Turn, choose: ChooseOptions): Promise<ChoiceOption[]> {
  return Promise.all(
    choose.options.map(async (o) => {
      const description = o.description === undefined ? '' : (await turn.render(o.description)).trim();
      return {
        id: o.id,
        title: (await turn.render(o.title)).trim(),
        ...(description !== '' ? { description } : {}),
      };
    }),
  );
}

/** The prompt; on a call followed by "Press 1 for …." for each option (0 for a tenth), in the bot's words. */
async function prompt(turn: Turn, choose: ChooseOptions): Promise<void> {
  const options = await rendered(turn, choose);
  const asked = (await turn.render(choose.prompt)).trim();
  const keys = turn.onCall
    ? await Promise.all(
        options.map((o, i) => text(turn, 'choosePress', { key: keypadKey(i), title: o.title.trim() })),
      )
    : [];
  turn.replies.push({
    text: [asked, ...keys].filter((part) => part !== '').join(' '),
    ask: {
      keypad: false,
      secret: false,
      ...(choose.timeout !== undefined ? { timeout: choose.timeout } : {}),
    },
    choice: { options, button: await text(turn, 'chooseButton') },
  });
}

export const choose = defineStep<'choose', ChooseOptions, ChoosePending>({
  kind: 'choose',
  schema: ChooseOptionsSchema,
  check: (value, at, checks) => {
    const options = asMapping(value);
    checks.text(options.prompt, [...at, 'prompt']);
    checks.text(options.retry, [...at, 'retry']);
    checks.text(options.invalid, [...at, 'invalid']);
    if (Array.isArray(options.options)) {
      options.options.forEach((option, i) => {
        const o = asMapping(option);
        checks.text(o.title, [...at, 'options', i, 'title']);
        checks.text(o.description, [...at, 'options', i, 'description']);
      });
    }
  },
  run: async (turn, options) => {
    await prompt(turn, options);
    const { pending } = turn.state;
    // Asked again after a wrong answer: the misses so far still count.
    turn.state.pending = {
      kind: 'choose',
      misses: pending?.kind === 'choose' ? (pending.misses ?? 0) : 0,
    };
    return 'waiting';
  },
  answer: async (turn, options, pending, input) => {
    const picked =
      input === undefined ? undefined : pickedOption(await rendered(turn, options), input, turn.onCall);
    if (picked) {
      turn.state.vars[options.save] = picked.id;
      return turn.advance();
    }
    const misses = pending.misses + 1;
    if (misses > options.retries) {
      turn.say(
        options.invalid === undefined
          ? await text(turn, 'chooseInvalid')
          : await turn.render(options.invalid),
      );
      return 'ended';
    }
    // Silence on a call is asked again as it was; a wrong answer is told so first.
    if (input !== undefined)
      turn.say(
        options.retry === undefined ? await text(turn, 'retryChoice') : await turn.render(options.retry),
      );
    turn.state.pending = { kind: 'choose', misses };
    return 'next'; // runs the choose step again, which re-prompts
  },
  reprompt: (turn, options) => prompt(turn, options),
});
