// `set: { name: <template> }`: sets variables.
import { z } from '../../zod.js';
import { Text, VariableNameSchema } from '../../schema-parts.js';
import { asMapping, defineStep } from '../step.js';

export const set = defineStep({
  kind: 'set',
  schema: z.record(VariableNameSchema, Text),
  check: (value, at, checks) => {
    for (const [name, template] of Object.entries(asMapping(value))) checks.text(template, [...at, name]);
  },
  run: async (turn, variables) => {
    for (const [name, template] of Object.entries(variables))
      turn.state.vars[name] = await turn.render(template);
    return 'advance';
  },
});
