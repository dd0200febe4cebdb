import { defineConfig } from 'vitest/config';

// The suites Stryker runs against each mutant of the safety-critical core (stryker.config.json): in-process
// tests only, since a mutant lives in this process and is invisible to a spawned CLI or a bundled handler.
export default defineConfig({
  test: {
    include: [
      'test/unit/rotation.test.ts',
      'test/unit/site-answer.test.ts',
      'test/unit/push.test.ts',
      'test/unit/backoff.test.ts',
      'test/unit/staged-key.test.ts',
      'test/unit/dynamodb-ledger.test.ts',
      'test/unit/memory-ledger.test.ts',
      'test/unit/secret-versions.test.ts',
      'test/unit/wait-for-rotation.test.ts',
      'test/unit/abort.test.ts',
      'test/unit/rotation-ledger.test.ts',
      'test/integration/push.test.ts',
      'test/integration/push-deadline-margin.test.ts',
      'test/integration/retry-messages.test.ts',
      'test/integration/stripe-check.test.ts',
      'test/integration/stripe-check-fails-closed.test.ts',
    ],
    environment: 'node',
    setupFiles: ['test/support/secret-guard.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
