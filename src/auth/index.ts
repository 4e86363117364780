// The auth methods, keyed by type: the configuration schema, check-config and the turn find them here.
import { normalizedAccountId } from './accounts.js';
import type {
  AuthComponent,
  AuthDeps,
  AuthMethod,
  LinkSettings,
  RefreshOutcome,
  RevocableTokens,
  SignInOutcome,
  SignInSecrets,
  SignInStart,
} from './method.js';
import { login } from './methods/login.js';
import { oauth } from './methods/oauth.js';
import { verify } from './methods/verify.js';
import type { AuthOutcome } from '../core/ports.js';

export type {
  AuthComponent,
  AuthDeps,
  AuthMethod,
  ComponentChecks,
  HttpCall,
  IssuedTokens,
  LinkSettings,
  RefreshOutcome,
  RevocableTokens,
  SignInOutcome,
  SignInSecrets,
  SignInStart,
} from './method.js';

/** The methods Switchboard ships: a new one is its file under methods/, its import and its entry here. */
const BUILT_IN: readonly AuthMethod[] = [login, verify, oauth];

/**
 * The one registry. It is module state on purpose (the schema, check-config and the turn must agree on
 * one list) and only grows: `registerAuthMethod` adds a method from outside `src/` (a test's own, a
 * plug-in) before a configuration that uses it is loaded, and registering a type again with another
 * method throws instead of replacing it. Tests do not see each other's: vitest gives every test file
 * its own modules.
 */
const methods = new Map<string, AuthMethod>(BUILT_IN.map((method) => [method.type, method]));
const registered: (() => void)[] = [];

export function registerAuthMethod<C extends AuthComponent>(method: AuthMethod<C>): void {
  const known = methods.get(method.type);
  if (known === (method as unknown)) return;
  if (known !== undefined) throw new Error(`auth method "${method.type}" is already registered`);
  if (method.signIn === 'link' && (method.begin === undefined || method.complete === undefined))
    throw new Error(`auth method "${method.type}" signs in by link but has no begin and complete`);
  // Safe: the method is only ever called with components its own schema parsed.
  methods.set(method.type, method as unknown as AuthMethod);
  for (const listener of registered) listener();
}

/** Calls `listener` after each registration: the configuration schema rebuilds its union on `type`. */
export function onAuthMethodRegistered(listener: () => void): void {
  registered.push(listener);
}

/** The registered methods, Switchboard's own first. */
export function authMethods(): AuthMethod[] {
  return [...methods.values()];
}

export function authMethod(type: unknown): AuthMethod | undefined {
  return typeof type === 'string' ? methods.get(type) : undefined;
}

function methodOf(component: AuthComponent): AuthMethod {
  const method = methods.get(component.type);
  if (method === undefined) throw new Error(`no auth method "${component.type}" is registered`);
  return method;
}

/** Trades the credentials the user typed for an outcome, through the component's method. */
export function authenticate(
  name: string,
  component: AuthComponent,
  values: Record<string, string>,
  deps: AuthDeps,
): Promise<AuthOutcome> {
  return methodOf(component).authenticate(name, component, values, deps);
}

/** Whether the component signs users in by a link (oauth) rather than by fields they type. */
export function signsInByLink(component: AuthComponent): boolean {
  return methodOf(component).signIn === 'link';
}

/** A link component's settings (link text, lifetime, binding, what a call does). */
export function linkSettings(component: AuthComponent): LinkSettings {
  const method = methodOf(component);
  if (!method.linkSettings) throw new Error(`auth method "${component.type}" does not sign in by link`);
  return method.linkSettings(component);
}

/** A link component's authorization URL and the secrets its callback needs. */
export function beginSignIn(
  name: string,
  component: AuthComponent,
  redirectUri: string,
  deps: AuthDeps,
): Promise<SignInStart> {
  const method = methodOf(component);
  if (!method.begin) throw new Error(`auth method "${component.type}" does not sign in by link`);
  return method.begin(name, component, { redirectUri }, deps);
}

/** Trades a link component's callback for tokens. */
export function completeSignIn(
  name: string,
  component: AuthComponent,
  opts: { callbackUrl: string; redirectUri: string; secrets: SignInSecrets },
  deps: AuthDeps,
): Promise<SignInOutcome> {
  const method = methodOf(component);
  if (!method.complete) throw new Error(`auth method "${component.type}" does not sign in by link`);
  return method.complete(name, component, opts, deps);
}

/** Whether the component's method can refresh tokens (its configuration may still leave refresh out). */
export function canRefresh(component: AuthComponent): boolean {
  return methodOf(component).refresh !== undefined;
}

export function refreshTokens(
  name: string,
  component: AuthComponent,
  refreshToken: string,
  deps: AuthDeps,
): Promise<RefreshOutcome> {
  const method = methodOf(component);
  if (!method.refresh)
    return Promise.resolve({ result: 'refused', reason: `auth method "${component.type}" cannot refresh` });
  return method.refresh(name, component, refreshToken, deps);
}

/** Revokes at the provider when the method can; never throws. */
export async function revokeAtProvider(
  name: string,
  component: AuthComponent,
  tokens: RevocableTokens,
  deps: AuthDeps,
): Promise<void> {
  await methodOf(component).revoke?.(name, component, tokens, deps);
}

/** The field whose answer names the account: the method's choice, else the first field. */
export function accountField(component: AuthComponent): string {
  return methodOf(component).accountField?.(component) ?? component.fields[0]!.name;
}

/** The typed account id as failures count it (see `normalizedAccountId`), or undefined when none was typed. */
export function typedAccountId(component: AuthComponent, values: Record<string, string>): string | undefined {
  return normalizedAccountId(values[accountField(component)]);
}
