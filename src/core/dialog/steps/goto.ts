// `goto: <flow>`: carries on at the start of another flow.
import { NonEmpty } from '../../schema-parts.js';
import { defineStep } from '../step.js';

export const goto = defineStep({
  kind: 'goto',
  schema: NonEmpty,
  check: (value, at, checks) => checks.flow(value, at),
  run: async (turn, flow) => {
    turn.jump(flow);
    return 'jumped';
  },
});
