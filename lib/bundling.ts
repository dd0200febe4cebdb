/**
 * How every function of this construct is built: the same sources, the same pinned dependencies, the same
 * esbuild settings; each function only names its entry point in lambda/.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Entry, runtime and bundling of a function whose handler is `handler` in `lambda/<entry>`. */
export function bundledEntry(entry: string): NodejsFunctionProps {
  return {
    entry: join(PROJECT_ROOT, 'lambda', entry),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    bundling: {
      // Bundle everything, SDK included: our pinned SDK versions, not whatever the runtime ships.
      externalModules: [],
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      format: OutputFormat.CJS,
      // ESM builds first: esbuild can tree-shake them (the SDK's CJS builds it cannot). 1.41 -> 1.06 MB and a
      // faster cold start (bench/results.md); bench/cold-start.ts and the bundled-handler test use the same.
      mainFields: ['module', 'main'],
      // Node 20 so the same bundle runs on the development machine for benchmarks.
      target: 'node20',
      forceDockerBundling: false,
    },
  };
}

/** Minified bundle: without this, stack traces in the logs point into one long line. */
export const SOURCE_MAPS_ENVIRONMENT = { NODE_OPTIONS: '--enable-source-maps' } as const;
