import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most test files wait on Redis, loopback HTTP and child processes rather than compute: two or more
    // files at a time even on two cores (Vitest's default, one fewer than the cores, runs them one by one
    // there: 306 s for the suite against 171 s with two). At most four, for the processes each one starts.
    maxWorkers: Math.min(4, Math.max(2, availableParallelism())),
    globalSetup: ['test/support/global-setup.ts'],
  },
});
