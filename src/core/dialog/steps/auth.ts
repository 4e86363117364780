// `auth: <component>`: makes sure the user holds a token of the component, asking for credentials if not.
import { NonEmpty } from '../../schema-parts.js';
import { ensureToken } from '../credentials.js';
import { defineStep } from '../step.js';

export const auth = defineStep({
  kind: 'auth',
  schema: NonEmpty,
  check: (value, at, checks) => checks.auth(value, at),
  run: async (turn, component) => {
    const ready = await ensureToken(turn, component);
    return ready === 'ready' ? 'advance' : ready;
  },
});
