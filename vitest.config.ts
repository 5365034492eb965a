import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/core/**/*.test.ts', 'test/server/**/*.test.ts'] } },
      {
        // Real browser, real server, real trainer: one file at a time on a 2-core machine.
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 120_000, fileParallelism: false },
      },
    ],
  },
})
