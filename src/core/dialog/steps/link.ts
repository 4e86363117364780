// `link: { prompt, retries, invalid }`: asks for a link code and redeems it (how a caller links on voice).
import { z } from '../../zod.js';
import { Count, Text } from '../../schema-parts.js';
import { asMapping, defineStep } from '../step.js';
import { minutesOf, text } from '../text.js';
import type { Turn } from '../turn.js';

const LinkOptionsSchema = z.strictObject({
  prompt: Text.optional(),
  retries: Count.default(2),
  invalid: Text.optional(),
});
type LinkOptions = z.output<typeof LinkOptionsSchema>;

interface LinkPending {
  kind: 'link';
  misses: number;
  [detail: string]: unknown;
}

async function prompt(turn: Turn, written: string | undefined): Promise<void> {
  // The code is a secret: gathered on the keypad on voice, never echoed, kept as [redacted] in history.
  const said = written === undefined ? await text(turn, 'linkPrompt') : await turn.render(written);
  turn.ask(said, { keypad: turn.ctx.event.channel === 'voice', secret: true });
}

export const link = defineStep<'link', LinkOptions, LinkPending>({
  kind: 'link',
  // Required (write `- link: {}` for the defaults).
  schema: LinkOptionsSchema,
  check: (value, at, checks) => {
    const options = asMapping(value);
    checks.text(options.prompt, [...at, 'prompt']);
    checks.text(options.invalid, [...at, 'invalid']);
  },
  run: async (turn, options) => {
    turn.state.pending = { kind: 'link', misses: 0 };
    await prompt(turn, options.prompt);
    return 'waiting';
  },
  answer: async (turn, options, pending, input) => {
    turn.carriedSecret = true;
    const code = input?.replace(/[\s-]/g, '') ?? '';
    const outcome = code ? await turn.services.redeemLinkCode(code) : undefined;
    if (outcome?.ok) {
      turn.userView = outcome.user; // the redemption reports user.verified itself
      turn.say(await text(turn, 'linked', { who: await turn.services.whoAmI() }));
      return turn.advance();
    }
    const misses = pending.misses + 1;
    if (outcome?.reason === 'rate_limited' || misses > options.retries) {
      // Out of tries: the flow carries on unlinked (it can check {{user.tier}}).
      turn.say(
        outcome?.reason === 'rate_limited'
          ? await text(turn, 'linkLimited', { minutes: minutesOf(outcome.retryInSeconds) })
          : options.invalid === undefined
            ? await text(turn, 'linkFailed')
            : await turn.render(options.invalid),
      );
      return turn.advance();
    }
    if (outcome) turn.say(await text(turn, outcome.reason === 'expired' ? 'linkExpired' : 'linkInvalid'));
    turn.state.pending = { kind: 'link', misses };
    await prompt(turn, options.prompt);
    return 'waiting';
  },
  reprompt: (turn, options) => prompt(turn, options.prompt),
  secret: () => true,
});
