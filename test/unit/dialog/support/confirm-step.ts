// A step kind that exists only in tests: `confirm: { prompt, save }` asks a yes/no question.
// It is one file, registered by the test that uses it: no file under src/ knows it.
import { z } from 'zod';
import { asMapping, defineStep, type Turn } from '../../../../src/core/dialog.js';

const ConfirmOptions = z.strictObject({
  prompt: z.string(),
  save: z.string().regex(/^[a-z]+$/),
  again: z.string().default('Please answer yes or no.'),
});
type Confirm = z.output<typeof ConfirmOptions>;

interface ConfirmPending {
  kind: 'confirm';
  misses: number;
  [detail: string]: unknown;
}

async function prompt(turn: Turn, options: Confirm): Promise<void> {
  turn.ask(await turn.render(options.prompt), { keypad: false, secret: false });
}

export const confirm = defineStep<'confirm', Confirm, ConfirmPending>({
  kind: 'confirm',
  schema: ConfirmOptions,
  check: (value, at, checks) => checks.text(asMapping(value).prompt, [...at, 'prompt']),
  run: async (turn, options) => {
    turn.state.pending = { kind: 'confirm', misses: 0 };
    await prompt(turn, options);
    return 'waiting';
  },
  answer: async (turn, options, pending, input) => {
    const answer = input?.toLowerCase();
    if (answer === 'yes' || answer === 'no') {
      turn.state.vars[options.save] = answer;
      return turn.advance();
    }
    turn.say(options.again);
    turn.state.pending = { ...pending, misses: pending.misses + 1 };
    await prompt(turn, options);
    return 'waiting';
  },
  reprompt: (turn, options) => prompt(turn, options),
});
