#!/usr/bin/env node
// The package's `bin` (`npx stripe-key-rotator ...`): runs the CLI compiled into dist/cli by `npm run build`,
// which `npm pack` runs (the `prepack` script) and ships. No TypeScript loader at run time.
try {
  await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli/main.js'))
    throw error;
  process.stderr.write("stripe-key-rotator: the CLI is not built yet; run 'npm run build'.\n");
  process.exitCode = 2;
}
