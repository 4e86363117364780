// The port to time: the engine reads the time and waits only through it, so tests can drive it.

/** Implemented by `src/main/system-clock.ts` (the real time); tests pass their own. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}
