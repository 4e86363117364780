// `say: <text>`: sends a message and moves on.
import { Text } from '../../schema-parts.js';
import { defineStep } from '../step.js';

export const say = defineStep({
  kind: 'say',
  schema: Text,
  check: (value, at, checks) => checks.text(value, at),
  run: async (turn, text) => {
    turn.say(await turn.render(text));
    return 'advance';
  },
});
