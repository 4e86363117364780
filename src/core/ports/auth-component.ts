// What the engine reads of a bot's auth component; the configuration's own type fills it in.

/** One credential the user is asked for. */
export interface CredentialFieldShape {
  name: string;
  prompt: string;
  secret: boolean;
  keypad: boolean;
  digits?: number | undefined;
  pattern?: string | undefined;
}

export interface AuthComponentShape {
  readonly fields: readonly CredentialFieldShape[];
}

/**
 * Filled in by `src/config/schema.ts` (declaration merging) with the configuration's full component type,
 * so that the runtime's implementation of the ports sees every option while core imports nothing of config.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a declaration-merging slot
export interface DialogConfigTypes {}

export type AuthComponentConfig = DialogConfigTypes extends {
  authComponent: infer C extends AuthComponentShape;
}
  ? C
  : AuthComponentShape;
