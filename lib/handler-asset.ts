/**
 * Where the rotation function's pre-built bundle is (scripts/build.ts builds it): beside the compiled
 * construct in the installed package (dist/lib → dist/assets), or in dist/ when the construct runs from
 * this repository's sources. Consumers therefore need neither esbuild nor this repository.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../lambda/errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CANDIDATES = [
  join(HERE, '..', 'assets', 'rotation-handler'),
  join(HERE, '..', 'dist', 'assets', 'rotation-handler'),
];

/** The asset directory of the rotation function; throws when the bundle was never built. */
export function rotationHandlerAsset(): string {
  const found = CANDIDATES.find((dir) => existsSync(join(dir, 'index.js')));
  if (found === undefined) {
    throw new ConfigurationError(
      `The rotation function's bundle is missing (looked in ${CANDIDATES.join(' and ')}): run \`npm run build\``,
    );
  }
  return found;
}
