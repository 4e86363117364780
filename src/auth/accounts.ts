// Which account an auth component's credentials name: the user id a success binds to, the id failures count against.
import type { AuthComponent } from './method.js';

/**
 * The typed account id as failures count it: one account however it is typed ("Bob ", "bob", "b o b"
 * all count together), so that spacing and case do not multiply an attacker's tries.
 */
export function normalizedAccountId(typed: string | undefined): string | undefined {
  const id = typed?.normalize('NFKC').replace(/\s+/g, '').toLowerCase();
  return id ? id : undefined;
}

/** The namespace of a component's typed user ids, or undefined when they are the workspace's own ids. */
export function userNamespace(name: string, component: AuthComponent): string | undefined {
  if (component.userNamespace === false) return undefined;
  return component.userNamespace ?? name;
}

/**
 * The user a success binds the identity to. An id the service answered (`userIdPath`) is the
 * workspace's own; a typed id is prefixed with the component's namespace, so that typing "1001" to
 * one component never makes you the "1001" of another.
 */
export function namespacedUserId(
  name: string,
  component: AuthComponent,
  userId: string,
  from: 'service' | 'typed',
): string {
  if (from === 'service') return userId;
  const namespace = userNamespace(name, component);
  return namespace === undefined ? userId : `${namespace}:${userId}`;
}

/** The failures that lock an account, and for how long (seconds; also the window they count in). */
export function accountPolicy(component: AuthComponent): { maxAttempts: number; lockoutSeconds: number } {
  return {
    maxAttempts: component.account?.maxAttempts ?? 3 * component.maxAttempts,
    lockoutSeconds: component.account?.lockout ?? component.lockout,
  };
}

/** A user id as the user knows it: without the namespace Switchboard put in front of what they typed. */
export function displayedUserId(userId: string, namespaces: Iterable<string>): string {
  for (const namespace of namespaces) {
    if (userId.startsWith(`${namespace}:`) && userId.length > namespace.length + 1)
      return userId.slice(namespace.length + 1);
  }
  return userId;
}
