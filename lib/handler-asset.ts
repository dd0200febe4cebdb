/**
 * Where the functions' pre-built bundles are (scripts/build.ts builds them): beside the compiled construct
 * in the installed package (dist/lib → dist/assets), or in dist/ when the construct runs from this
 * repository's sources. Consumers therefore need neither esbuild nor this repository.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../core/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ASSET_ROOTS = [join(HERE, '..', 'assets'), join(HERE, '..', 'dist', 'assets')];

/** The asset directory of a function (`rotation-handler`, `watchdog`); throws when it was never built. */
export function handlerAsset(name: 'rotation-handler' | 'watchdog'): string {
  const candidates = ASSET_ROOTS.map((root) => join(root, name));
  const found = candidates.find((dir) => existsSync(join(dir, 'index.js')));
  if (found === undefined) {
    throw new ConfigurationError(
      `The ${name} function's bundle is missing (looked in ${candidates.join(' and ')}): run \`npm run build\``,
    );
  }
  return found;
}
