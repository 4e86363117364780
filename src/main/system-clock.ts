// The real time: the clock of every gateway unless a test passes its own (in process only).
import type { Clock } from '../core/ports/clock.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
