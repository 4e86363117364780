// The port to auth components: call one with what the user typed.
import type { AuthComponentConfig } from './auth-component.js';

/** The result of calling an auth component with the credentials the user gave. */
export type AuthOutcome =
  | {
      result: 'success';
      token: string;
      ttlSeconds: number;
      userId: string;
      extra?: Record<string, string>;
      /** A component with refresh: the refresh token and its lifetime (seconds), cached sealed beside the token. */
      refreshToken?: string;
      refreshTtlSeconds?: number;
    }
  | {
      result: 'wrong_credentials';
      /** Seconds the typed account is now locked, when this failure locked it (whoever tries next). */
      accountLockedSeconds?: number;
    }
  | { result: 'unavailable'; reason: string }
  /** The typed account is locked: no auth call was made. */
  | { result: 'locked'; seconds: number };

/** Implemented by `src/turn/turn-services.ts` over `src/auth`. */
export interface AuthenticationPort {
  /** Calls the component named `name` (unless the typed account is locked). */
  authenticate(
    component: AuthComponentConfig,
    fields: Record<string, string>,
    name: string,
  ): Promise<AuthOutcome>;
}
