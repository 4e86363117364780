// The real time, bound to the engine's clock port where the engine is built.
import type { Clock } from '../core/ports/clock.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
