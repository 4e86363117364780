// The port to sign-in links: start one for an auth component, see how it went, take its tokens.
import type { CachedToken } from './tokens.js';
import type { UserView } from './users.js';

export type SignInStart =
  | {
      ok: true;
      /** The session's handle: not a secret (it opens nothing alone), kept in the dialog state. */
      session: string;
      /** The link to send: it holds the one-time code, so the reply that carries it is a secret. */
      link: string;
      /** When the link stops working (ms). */
      expiresAt: number;
      /** Whether the user must type the code shown after sign-in into this conversation. */
      binding: boolean;
      /** The message that carries the link: a template with `{{link}}` (absent: the bot's `signInLink`). */
      linkText?: string | undefined;
      /** On a call: how long it holds for the sign-in (seconds), and the flow to go on with after. */
      voice: VoiceSignIn;
    }
  /** `no_text_channel`: a call, and the bot has no SMS or WhatsApp number to text the link from. */
  | { ok: false; reason: 'unavailable' | 'no_text_channel'; voice?: VoiceSignIn };

export interface VoiceSignIn {
  holdSeconds: number;
  fallbackFlow?: string | undefined;
}

/** Where a session is. `completed` waits for the binding code (or for the conversation to take it). */
export type SignInStatus =
  | { status: 'pending' }
  | { status: 'completed' }
  | { status: 'failed'; reason: 'denied' | 'error' }
  | { status: 'expired' };

export type SignInFinish =
  | { ok: true; token: CachedToken; user: UserView }
  /**
   * `wrong_code`: the binding code does not match (`attemptsLeft` more may be typed); `not_completed`:
   * the browser has not finished; `expired`: the session is over or its tokens were taken; `too_many`:
   * too many wrong codes, the session is spent.
   */
  | { ok: false; reason: 'wrong_code'; attemptsLeft: number }
  | { ok: false; reason: 'not_completed' | 'expired' | 'too_many' | 'unavailable' }
  /** The identity is another user's and the workspace forbids moving it: no token was kept. */
  | { ok: false; reason: 'move_forbidden' };

/** Implemented by `src/turn/sign-in-services.ts` over the sign-in store and the auth methods. */
export interface SignInPort {
  /** Whether the component signs in by link (its method's choice). */
  signsInByLink(component: string): boolean;
  /**
   * Starts a sign-in for the component. The dialog sends the link as a secret reply, or on a call as a
   * text message to the caller's number (`TurnOutput.texts`, sent from the bot's SMS, else WhatsApp, number).
   */
  startSignIn(component: string): Promise<SignInStart>;
  signInStatus(session: string): Promise<SignInStatus>;
  /**
   * Takes the session's tokens into this conversation: checks the binding code when the component asks
   * for one, marks the user verified by the provider's id and caches the tokens.
   */
  finishSignIn(component: string, session: string, bindingCode: string | undefined): Promise<SignInFinish>;
}
