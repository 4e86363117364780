// The port to lockouts: failed logins counted per identity and component.
import type { AuthComponentConfig } from './auth-component.js';

/** A failed login recorded: the lockout it started (seconds, or 0), else the failures left before one. */
export interface FailureRecorded {
  lockedFor: number;
  /** Wrong answers the identity may still give before it is locked (absent when unknown). */
  attemptsLeft?: number;
}

/** Implemented by `src/turn/turn-services.ts` over the lockout store. */
export interface LockoutPort {
  /** Seconds left of a lockout of this identity for the component, or 0. */
  lockedFor(component: string): Promise<number>;
  /** Records a failed login: the lockout when this failure locked the identity, else the attempts left. */
  recordFailure(component: AuthComponentConfig, name: string): Promise<FailureRecorded>;
  clearFailures(component: string): Promise<void>;
}
