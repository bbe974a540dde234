import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration files share real servers; files run in parallel, tests in a file serially.
    pool: 'forks',
    // fast-check's seed: fixed under CI=true, fresh elsewhere (test/support/fast-check-seed.ts).
    setupFiles: ['test/support/fast-check-seed.ts'],
  },
});
