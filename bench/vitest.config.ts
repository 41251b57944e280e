// The benchmark's own vitest configuration: `npx vitest run -c bench/vitest.config.ts` (or `npm run bench`).
// Separate from the root vitest.config.ts, whose projects never include bench/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['bench/**/*.run.ts'],
    // Several minutes: the plain-TCP variant alone waits ~15 s per repetition.
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    // The table goes straight to stdout, not into vitest's per-test console capture.
    disableConsoleIntercept: true,
  },
});
