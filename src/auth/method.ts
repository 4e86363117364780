// What an auth method is: the keys of its components, its configuration checks, the account it names, and the call.
import { z } from 'zod';
import { ID, PositiveSeconds, withHint, type CredentialField } from '../core/primitives.js';
import type { AuthOutcome } from '../core/ports.js';
import type { Templates } from '../core/templates.js';
import type { OutboundRequest, OutboundResponse } from '../net/outbound.js';

export type HttpCall = (request: Omit<OutboundRequest, 'allowHosts'>) => Promise<OutboundResponse>;

/** What a method's call may use: the workspace's outbound client (allowHosts applied) and the templates. */
export interface AuthDeps {
  http: HttpCall;
  templates: Templates;
}

/**
 * Whose user ids a component's typed ids are: its own (the default, the component's name), a name shared
 * with the components whose ids agree, or `false` for the workspace's own ids (those of the operator API).
 */
export const UserNamespaceSchema = z.union([
  z.literal(false),
  z.string().regex(ID, {
    error: withHint(
      'not a valid user namespace',
      'use letters, digits, "-", "_" and ".", starting with a letter or digit, or false for the workspace\'s own user ids.',
    ),
  }),
]);

/** Failed attempts counted per typed account id, whatever phone or channel they come from. */
export const AccountLimitSchema = z.strictObject({
  /** Default: three times the component's `maxAttempts` (one person's tries on all three channels). */
  maxAttempts: z.int().positive().optional(),
  /** Seconds the account is locked (also the window failures count in); default the component's `lockout`. */
  lockout: PositiveSeconds.optional(),
});

/** The keys every component has, whatever its method: a method's schema spreads them after its own. */
export const ComponentKeys = {
  ttl: PositiveSeconds.default(3600),
  userNamespace: UserNamespaceSchema.optional(),
  /** Failures of one channel identity before it is locked out, and for how long (seconds). */
  maxAttempts: z.int().positive().default(3),
  lockout: PositiveSeconds.default(900),
  account: AccountLimitSchema.optional(),
  /** Seconds the method's call may take. */
  timeout: PositiveSeconds.default(10),
};

/** An auth component as every part of Switchboard outside its method sees it. */
export interface AuthComponent {
  type: string;
  /** What the dialog asks, in order, before it calls the method. */
  fields: CredentialField[];
  ttl: number;
  userNamespace?: string | false | undefined;
  maxAttempts: number;
  lockout: number;
  account?: { maxAttempts?: number | undefined; lockout?: number | undefined } | undefined;
  timeout: number;
}

/** Tokens a service issued, as the token cache keeps them (sealed) and never logs. */
export interface IssuedTokens {
  accessToken: string;
  /** Seconds the access token is valid from now. */
  ttlSeconds: number;
  refreshToken?: string;
  /** Seconds the refresh token is valid from now, when the service says (else the component's refresh lifetime). */
  refreshTtlSeconds?: number;
  /** Values later requests may use (`{{name}}`), sealed like the token. */
  extra?: Record<string, string>;
}

/** What a link method's sign-in keeps server-side between the redirect and the callback. */
export interface SignInSecrets {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface SignInStart {
  /** The provider's authorization URL, with the state, nonce and PKCE challenge in it. */
  url: string;
  secrets: SignInSecrets;
}

export type SignInOutcome =
  | ({ result: 'success'; userId: string } & IssuedTokens)
  /** The provider or the user said no (access_denied, invalid_grant, a state or nonce that does not match). */
  | { result: 'refused'; reason: string }
  | { result: 'unavailable'; reason: string };

export type RefreshOutcome =
  | ({ result: 'success' } & IssuedTokens)
  /** `invalid_grant` and the like: the refresh token is no good, the user must sign in again. */
  | { result: 'refused'; reason: string }
  | { result: 'unavailable'; reason: string };

/** How a link component's sign-in behaves in the conversation. */
export interface LinkSettings {
  /** The message that carries the link: a template with `{{link}}` (default: the bot's text `signInLink`). */
  linkText?: string | undefined;
  /** Seconds the link (and the sign-in it starts) stays usable. */
  linkTtlSeconds: number;
  /** The user types the code the success page shows into the conversation before the token is used. */
  binding: boolean;
  /** On a call: seconds the call holds for the sign-in before it gives up. */
  voiceHoldSeconds: number;
  /** On a call: the flow to go on with when the sign-in does not finish in time (e.g. a keypad PIN). */
  voiceFallbackFlow?: string | undefined;
  /** Seconds a refresh token lives when the provider does not say. */
  refreshTtlSeconds: number;
}

export interface RevocableTokens {
  accessToken?: string;
  refreshToken?: string;
}

/** A path into the configuration as written. */
export type ConfigPath = PropertyKey[];

/** The checks check-config lends a method for its component as written (before defaults, read defensively). */
export interface ComponentChecks {
  /** A URL the gateway calls: a valid template, a literal http(s) scheme and host in the workspace's allowHosts. */
  url(value: unknown, path: ConfigPath): void;
  /** Rendered text: a valid Liquid template. */
  text(value: unknown, path: ConfigPath): void;
  /** Header values, each rendered text. */
  headers(value: unknown, path: ConfigPath): void;
  /** A request body: its text leaves are templates. */
  body(value: unknown, path: ConfigPath): void;
  /** The name of a flow of the bot, when it is text. */
  flow(value: unknown, path: ConfigPath): void;
  /** A problem of the method's own, at `path`. */
  problem(path: ConfigPath, message: string, hint?: string): void;
}

/**
 * One way of signing a user in, registered by its `type` (see `src/auth/index.ts`). Its file holds all
 * that is particular to it: the configuration schema, check-config's checks, the account its answers
 * name, and the call that trades them for an outcome.
 */
export interface AuthMethod<C extends AuthComponent = AuthComponent> {
  /** The components' `type:` in the configuration. */
  readonly type: string;
  /**
   * The component's keys, `type: z.literal(type)` first: one option of the configuration's union on
   * `type`. Its refinements are the rules the schema can say (a key that needs another, for example).
   */
  readonly schema: z.ZodObject & z.ZodType<C>;
  /**
   * How the user gives their credentials. 'fields' (the default): the dialog asks each of `fields`,
   * then calls `authenticate` with the answers. 'link': the method collects no typed fields; the dialog
   * sends a sign-in link instead, and the method's `begin` and `complete` do the provider's part.
   */
  readonly signIn?: 'fields' | 'link';
  /**
   * A link method: where to send the user's browser to sign in, with the values the callback needs
   * (kept sealed server-side, never in the URL the user holds).
   */
  begin?(name: string, component: C, opts: { redirectUri: string }, deps: AuthDeps): Promise<SignInStart>;
  /** A link method: trades the provider's callback (its full URL, query included) for tokens. */
  complete?(
    name: string,
    component: C,
    opts: { callbackUrl: string; redirectUri: string; secrets: SignInSecrets },
    deps: AuthDeps,
  ): Promise<SignInOutcome>;
  /** A link method: how its links behave, from its component. */
  linkSettings?(component: C): LinkSettings;
  /** Trades a refresh token for fresh tokens (RFC 6749 section 6); methods without refresh leave it out. */
  refresh?(name: string, component: C, refreshToken: string, deps: AuthDeps): Promise<RefreshOutcome>;
  /** Revokes tokens at the provider (RFC 7009) when it has a revocation endpoint; never throws. */
  revoke?(name: string, component: C, tokens: RevocableTokens, deps: AuthDeps): Promise<void>;
  /** check-config's checks beyond the schema (URLs, hosts, templates); field prompts are checked for every method. */
  check?(component: Record<string, unknown>, path: ConfigPath, checks: ComponentChecks): void;
  /** Whether the users are named by the service's answer, never `namespace:what-they-typed` (as written). */
  namesUsersByAnswer?(component: Record<string, unknown>): boolean;
  /** The field whose answer names the account (failures count against it); default the first field. */
  accountField?(component: C): string;
  /**
   * Trades the values the user typed for an outcome. The values are never logged or kept here.
   * `name` is the component's name: typed user ids are namespaced by it (see `namespacedUserId`).
   */
  authenticate(
    name: string,
    component: C,
    values: Record<string, string>,
    deps: AuthDeps,
  ): Promise<AuthOutcome>;
}
