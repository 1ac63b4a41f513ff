import { defineConfig } from 'vitest/config';

// Integration tests create network namespaces and real interfaces; running test
// files one at a time keeps them from competing for the machine's two cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // An exception thrown into N-API (from a datapath event handler) only
    // warns by default; make it an error the run reports.
    execArgv: ['--force-node-api-uncaught-exceptions-policy=true'],
  },
});
