#!/usr/bin/env node
// The package's `bin` (`npx stripe-key-rotator ...` after `npm ci`): runs the CLI compiled into dist/ by the
// `prepare` script that `npm ci` runs. Without it (installed with --ignore-scripts), run `npm run prepare`.
try {
  await import('../dist/cli.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli.js')) throw error;
  process.stderr.write(
    "stripe-key-rotator: the CLI is not built yet; run 'npm run prepare' (npm ci does it).\n",
  );
  process.exitCode = 2;
}
