// Sign-in link sessions: the one-time link code, the provider round trip's secrets, the tokens until the
// conversation takes them. Every secret is sealed or kept only as a keyed hash.
import type { IssuedTokens, SignInSecrets } from '../auth/method.js';

/** Where a sign-in was started: enough to resume that conversation and nothing the user typed. */
export interface SignInOrigin {
  workspace: string;
  botId: string;
  /** The auth component's name in the bot. */
  component: string;
  /** The conversation that waits. */
  cid: string;
  channel: string;
  identity: string;
  /** The conversation's addresses, for the `signin` event that resumes it (as an inbound event's). */
  from: string;
  to: string;
  provider?: Record<string, string>;
  /** The user must type the code the success page shows into this conversation. */
  binding: boolean;
}

export type SessionStatus = 'pending' | 'started' | 'completed' | 'failed' | 'taken';

/**
 * The sign-in sessions. Implemented by `RedisSignInStore`.
 *
 * A session is made with its link code (`create`); the link's page spends the code once (`spend`) and
 * keeps the secrets of the provider round trip under the state; the callback takes them once by state
 * (`takeByState`); the exchange's tokens are kept sealed (`complete`) until the conversation claims them
 * with the binding code (`claim`). No code, state, verifier, token or binding code is stored in clear.
 */
export interface SignInStore {
  create(
    origin: SignInOrigin,
    linkTtlSeconds: number,
  ): Promise<{ session: string; code: string; expiresAt: number }>;
  /** What the link's GET shows: never spends the code (link previews and scanners fetch it). */
  peek(
    code: string,
  ): Promise<{ status: 'live'; origin: SignInOrigin } | { status: 'used' | 'expired' | 'unknown' }>;
  /**
   * The Continue button's POST: spends the code (once, whoever races), keeps `secrets` sealed under the
   * state's hash, and ties them to the browser by `browserKey` (a random cookie value, kept hashed).
   */
  spend(
    code: string,
    secrets: SignInSecrets,
    browserKey: string,
  ): Promise<
    | { ok: true; session: string; origin: SignInOrigin }
    | { ok: false; reason: 'used' | 'expired' | 'unknown' }
  >;
  /** The callback: takes the secrets by state, once; `other_browser` when the cookie is not the one that started it. */
  takeByState(
    state: string,
    browserKey: string | undefined,
  ): Promise<
    | { ok: true; session: string; origin: SignInOrigin; secrets: SignInSecrets }
    | { ok: false; reason: 'unknown' | 'used' | 'other_browser' }
  >;
  /** The exchange succeeded: keeps the tokens sealed and the binding code hashed until claimed. */
  complete(
    session: string,
    result: { userId: string; tokens: IssuedTokens; bindingCode?: string },
  ): Promise<void>;
  fail(session: string, reason: 'denied' | 'error'): Promise<void>;
  status(session: string): Promise<{ status: SessionStatus; reason?: 'denied' | 'error' } | undefined>;
  /**
   * Takes the tokens once, checking the binding code when the origin asked for one; a wrong code counts,
   * and the third spends the session.
   */
  claim(
    session: string,
    bindingCode: string | undefined,
  ): Promise<
    | { ok: true; userId: string; tokens: IssuedTokens; origin: SignInOrigin }
    | { ok: false; reason: 'wrong_code'; attemptsLeft: number }
    | { ok: false; reason: 'not_completed' | 'expired' | 'too_many' }
  >;
}
