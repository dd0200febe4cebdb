/**
 * Vitest global setup of the unit project: the infrastructure tests synthesize the rotation function from its
 * pre-built bundle, and the example consumer app imports the compiled package entry; build both from the
 * sources as they are now, so no test ever reads a stale build.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { bundleAll, REPO_ROOT } from '../../scripts/build.js';

export default async function setup(): Promise<void> {
  await bundleAll();
  execFileSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    },
  );
}
