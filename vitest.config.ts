import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One temporary root per run, removed at the end (test/temp-root.ts).
    globalSetup: ['test/temp-root.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/harness/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/cache-server/**/*.test.ts'],
          // Tests that create objects on the engine belong to e2e, which runs alone (leak checks compare snapshots).
          exclude: ['test/harness/container.test.ts', 'test/harness/user.test.ts'],
        },
      },
      {
        test: {
          // Real engine: the bed daemon (DOCKER_HOST) must be up; files run one at a time on 2 cores.
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/harness/container.test.ts', 'test/harness/user.test.ts'],
          setupFiles: ['test/e2e/setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
