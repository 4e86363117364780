// The port to lockouts: failed logins counted per identity and component.
import type { AuthComponentConfig } from './auth-component.js';

/** Implemented by `src/turn/turn-services.ts` over the lockout store. */
export interface LockoutPort {
  /** Seconds left of a lockout of this identity for the component, or 0. */
  lockedFor(component: string): Promise<number>;
  /** Records a failed login; returns the lockout in seconds when this failure locked the identity. */
  recordFailure(component: AuthComponentConfig, name: string): Promise<number>;
  clearFailures(component: string): Promise<void>;
}
