/** Vitest global setup: the infrastructure tests synthesize the rotation function from its pre-built bundle; build it from the sources as they are now. */
import { bundleHandler, HANDLER_ASSET_DIR } from '../../scripts/build.js';

export default async function setup(): Promise<void> {
  await bundleHandler(HANDLER_ASSET_DIR);
}
