import { defineConfig } from 'vitest/config';

// One vitest run for the whole monorepo: every package's tests, sources run directly from src/.
export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'packages/*/bench/*.test.ts',
      'examples/*/src/**/*.test.ts',
    ],
    pool: 'forks',
    testTimeout: 120_000,
  },
});
