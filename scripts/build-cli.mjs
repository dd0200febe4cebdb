// Builds the operator CLI into dist/ (gitignored): the `prepare` script, so `npm ci` runs it. The CLI then
// starts from plain JavaScript, with no TypeScript loader; npm packages stay external (node_modules), and
// each command is its own chunk, loaded only when that command runs.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: start empty so no stale chunk is left behind.
rmSync('dist', { recursive: true, force: true });

await build({
  entryPoints: { cli: 'cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
