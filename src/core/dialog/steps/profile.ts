// `profile: { name, email }`: asks for the user's name and email and saves them, unverified.
import { z } from '../../zod.js';
import { withHint } from '../../schema-parts.js';
import { asMapping, defineStep } from '../step.js';
import { text } from '../text.js';
import type { Turn } from '../turn.js';

type Field = 'name' | 'email';

const ProfileOptionsSchema = z
  .strictObject({
    name: z.union([z.boolean(), z.string()]).optional(),
    email: z.union([z.boolean(), z.string()]).optional(),
  })
  .refine((p) => p.name !== undefined || p.email !== undefined, {
    error: withHint(
      'a profile step asks for at least one of name and email',
      'add "name: true" or "email: true".',
    ),
  });
type ProfileOptions = z.output<typeof ProfileOptionsSchema>;

interface ProfilePending {
  kind: 'profile';
  field: Field;
  misses: number;
  [detail: string]: unknown;
}

async function prompt(turn: Turn, options: ProfileOptions, field: Field): Promise<void> {
  const configured = options[field];
  const said =
    typeof configured === 'string'
      ? await turn.render(configured)
      : await text(turn, field === 'name' ? 'profileName' : 'profileEmail');
  turn.ask(said, { keypad: false, secret: false });
}

export const profile = defineStep<'profile', ProfileOptions, ProfilePending>({
  kind: 'profile',
  schema: ProfileOptionsSchema,
  check: (value, at, checks) => {
    const options = asMapping(value);
    checks.text(options.name, [...at, 'name']);
    checks.text(options.email, [...at, 'email']);
  },
  run: async (turn, options) => {
    const first = options.name ? 'name' : 'email';
    turn.state.pending = { kind: 'profile', field: first, misses: 0 };
    await prompt(turn, options, first);
    return 'waiting';
  },
  answer: async (turn, options, pending, input) => {
    const valid =
      input !== undefined &&
      input.length > 0 &&
      input.length <= 200 &&
      (pending.field === 'name' || /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input));
    if (!valid) {
      if (pending.misses + 1 > 2) return turn.advance();
      if (pending.field === 'email' && input) turn.say(await text(turn, 'profileInvalidEmail'));
      turn.state.pending = { ...pending, misses: pending.misses + 1 };
      await prompt(turn, options, pending.field);
      return 'waiting';
    }
    await turn.services.saveProfile({ [pending.field]: input });
    turn.state.vars[pending.field] = input;
    if (pending.field === 'name' && options.email) {
      turn.state.pending = { kind: 'profile', field: 'email', misses: 0 };
      await prompt(turn, options, 'email');
      return 'waiting';
    }
    turn.userView = undefined; // the tier may have changed
    return turn.advance();
  },
  reprompt: (turn, options, pending) => prompt(turn, options, pending.field),
});
