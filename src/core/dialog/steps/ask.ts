// `ask: { prompt, save, ... }`: asks a question, checks the answer, saves it to a variable.
import { z } from '../../zod.js';
import {
  Count,
  Pattern,
  PositiveSeconds,
  Text,
  VariableNameSchema,
  digitsNeedKeypad,
} from '../../schema-parts.js';
import { validAnswer } from '../answers.js';
import { asMapping, defineStep } from '../step.js';
import { text } from '../text.js';
import type { Turn } from '../turn.js';

export const AskOptionsSchema = z
  .strictObject({
    prompt: Text,
    save: VariableNameSchema,
    keypad: z.boolean().default(false),
    digits: z.int().positive().optional(),
    pattern: Pattern.optional(),
    secret: z.boolean().default(false),
    retries: Count.default(2),
    /** Said before asking again after a wrong answer (default: the bot's `retry` text). */
    retry: Text.optional(),
    /** Said when the retries are used up, before the conversation ends (default: `askInvalid`). */
    invalid: Text.optional(),
    timeout: PositiveSeconds.optional(),
  })
  .superRefine(digitsNeedKeypad);
export type AskOptions = z.output<typeof AskOptionsSchema>;

interface AskPending {
  kind: 'ask';
  misses: number;
  [detail: string]: unknown;
}

async function prompt(turn: Turn, ask: AskOptions): Promise<void> {
  turn.ask(await turn.render(ask.prompt), {
    keypad: ask.keypad || ask.secret,
    secret: ask.secret,
    ...(ask.digits !== undefined ? { digits: ask.digits } : {}),
    ...(ask.timeout !== undefined ? { timeout: ask.timeout } : {}),
  });
}

/** The step's own text when it sets one, else the bot's text of that name. */
function said(turn: Turn, written: string | undefined, name: 'retry' | 'askInvalid'): Promise<string> {
  return written === undefined ? text(turn, name) : turn.render(written);
}

export const ask = defineStep<'ask', AskOptions, AskPending>({
  kind: 'ask',
  schema: AskOptionsSchema,
  check: (value, at, checks) => {
    const options = asMapping(value);
    checks.text(options.prompt, [...at, 'prompt']);
    checks.text(options.retry, [...at, 'retry']);
    checks.text(options.invalid, [...at, 'invalid']);
  },
  run: async (turn, options) => {
    await prompt(turn, options);
    const { pending } = turn.state;
    // Asked again after a wrong answer: the misses so far still count.
    turn.state.pending = { kind: 'ask', misses: pending?.kind === 'ask' ? (pending.misses ?? 0) : 0 };
    return 'waiting';
  },
  answer: async (turn, options, pending, input) => {
    if (options.secret) turn.carriedSecret = true;
    if (input !== undefined && validAnswer(options, input)) {
      turn.state.vars[options.save] = input;
      return turn.advance();
    }
    const misses = pending.misses + 1;
    if (misses > options.retries) {
      turn.say(await said(turn, options.invalid, 'askInvalid'));
      return 'ended';
    }
    // A wrong answer is told so before the question comes again (silence on a call is not an answer).
    if (input !== undefined) turn.say(await said(turn, options.retry, 'retry'));
    turn.state.pending = { kind: 'ask', misses };
    return 'next'; // runs the ask step again, which re-prompts
  },
  reprompt: (turn, options) => prompt(turn, options),
  secret: (options) => options?.secret === true,
});
