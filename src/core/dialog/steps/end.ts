// `end: <text>` (or `end:` alone): says goodbye and ends the conversation.
import { Text } from '../../schema-parts.js';
import { defineStep } from '../step.js';

export const end = defineStep({
  kind: 'end',
  schema: Text.nullable(),
  check: (value, at, checks) => checks.text(value, at),
  run: async (turn, text) => {
    if (text) turn.say(await turn.render(text));
    return 'ended';
  },
});
