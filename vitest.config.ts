import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Three suites: `unit` and `integration` need nothing but Node; `emulator` needs `moto_server` on PATH.
export default defineConfig({
  test: {
    projects: [
      {
        resolve: {
          // The example consumer app imports the package by name: here, its own compiled entry (npm run build).
          alias: { 'stripe-key-rotator': fileURLToPath(new URL('./dist/lib/index.js', import.meta.url)) },
        },
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/build-package.ts'],
          setupFiles: ['test/support/secret-guard.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/build-cli.ts'],
          setupFiles: ['test/support/secret-guard.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'emulator',
          include: ['test/emulator/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/build-cli.ts'],
          setupFiles: ['test/support/secret-guard.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
