/** Vitest global setup of the suites that run the package's bin: build the CLI from the sources as they are now. */
import { bundleCli } from '../../scripts/build.js';

export default async function setup(): Promise<void> {
  await bundleCli();
}
