import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests start real servers, resolvers and secondaries; two cores, so keep it modest.
    maxWorkers: 2,
    // Every admin API response a test gets is checked against its documented schema.
    setupFiles: ['test/support/response-check-setup.ts'],
  },
});
