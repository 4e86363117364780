// `switch: { value, cases, default }`: jumps to the flow named for the rendered value.
import { z } from '../../zod.js';
import { NonEmpty, Text } from '../../schema-parts.js';
import { asMapping, defineStep } from '../step.js';

export const switchStep = defineStep({
  kind: 'switch',
  schema: z.strictObject({
    value: Text,
    cases: z.record(z.string(), NonEmpty),
    default: NonEmpty.optional(),
  }),
  check: (value, at, checks) => {
    const options = asMapping(value);
    checks.text(options.value, [...at, 'value']);
    for (const [caseValue, flow] of Object.entries(asMapping(options.cases)))
      checks.flow(flow, [...at, 'cases', caseValue]);
    checks.flow(options.default, [...at, 'default']);
  },
  run: async (turn, options) => {
    const value = await turn.render(options.value);
    const target = Object.hasOwn(options.cases, value) ? options.cases[value] : options.default;
    if (!target) return 'advance';
    turn.jump(target);
    return 'jumped';
  },
});
