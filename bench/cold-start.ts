/**
 * Cold start of the deployed handler: bundles `lambda/handler.ts` with the construct's own build
 * (scripts/build.ts: esbuild, everything bundled, minified, CJS, platform node, target node20, packages'
 * ES module builds first, which lets esbuild drop the AWS SDK commands nobody imports — external source map
 * without sources), then times fresh `node` processes
 * requiring the bundle with the construct's environment (placeholder values, so the module-scope
 * configuration parse succeeds): as deployed, then with NODE_OPTIONS=--enable-source-maps, which the
 * construct does not set (lambda/stack-map.ts maps logged stacks lazily): what the flag would cost.
 * `npm --prefix bench run cold-start` runs it alone.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CONFIG_DEFAULTS, configEnvironment, POWERTOOLS_SETTINGS } from '../core/index.js';
import { bundleHandler } from '../scripts/build.js';
import { scratchDir } from './processes.js';
import { median } from './samples.js';

export interface ColdStartRuns {
  /** From process start to the end of `require` (performance.now() in the child), median, ms. */
  readonly sinceStartMs: number;
  /** The `require` call alone, median, ms. */
  readonly requireMs: number;
  /** Spawn to exit as the parent sees it, median, ms. */
  readonly processMs: number;
}

export interface ColdStartVariant {
  readonly label: string;
  readonly bundleBytes: number;
  readonly sourceMapBytes: number;
  readonly timing: ColdStartRuns;
}

export interface ColdStart {
  readonly runs: number;
  /** `node -e` without the handler: what any Node process costs before our code. */
  readonly emptyNode: ColdStartRuns;
  /** The first is the handler as deployed (the construct's bundle and environment): the target applies to it. */
  readonly variants: readonly [ColdStartVariant, ...ColdStartVariant[]];
}

/** Runs per variant by default; `npm run bench -- --quick` asks for fewer. */
const RUNS = 15;

/**
 * The construct's environment (lib/stripe-key-rotation.ts builds it the same way), with placeholder
 * values of the right shape so the module-scope configuration parse succeeds.
 */
const { stripeApiBase: _notDeployed, ...deployedDefaults } = CONFIG_DEFAULTS;
const HANDLER_ENV: Record<string, string> = {
  ...configEnvironment({
    ...deployedDefaults,
    stagedSecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:staged-AbCdEf',
    masterApiKeySecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:master-AbCdEf',
    sitesParameter: '/stripe-key-rotator/test/sites',
    ledgerTable: 'stripe-key-rotator-ledger',
    keyMode: 'test',
  }),
  ...Object.fromEntries(
    Object.values(POWERTOOLS_SETTINGS).map((setting) => [setting.variable, setting.default]),
  ),
  AWS_REGION: 'us-east-1',
};

interface Timing {
  readonly sinceStart: number[];
  readonly requireOnly: number[];
  readonly processWall: number[];
}

/** One fresh process; the script prints `<since start> <require>` in ms. */
function timeOnce(node: string, script: string, env: Record<string, string>, into: Timing): void {
  const started = performance.now();
  const child = spawnSync(node, ['-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  into.processWall.push(performance.now() - started);
  if (child.status !== 0) {
    throw new Error(`cold-start run failed (status ${child.status}): ${child.stderr.slice(-1000)}`);
  }
  const [since = Number.NaN, only = Number.NaN] = child.stdout.trim().split(' ').map(Number);
  into.sinceStart.push(since);
  into.requireOnly.push(only);
}

function medians(timing: Timing): ColdStartRuns {
  return {
    sinceStartMs: median(timing.sinceStart),
    requireMs: median(timing.requireOnly),
    processMs: median(timing.processWall),
  };
}

function requireScript(bundle: string): string {
  return (
    `const t0 = performance.now(); const m = require(${JSON.stringify(bundle)}); const t1 = performance.now();` +
    `if (typeof m.handler !== 'function') throw new Error('no handler export');` +
    'process.stdout.write(t1 + " " + (t1 - t0));'
  );
}

export async function measureColdStart(runs = RUNS): Promise<ColdStart> {
  // The construct's own build (scripts/build.ts).
  const asBuilt = await bundleHandler(scratchDir('bench-handler-'));
  const sourceMapsOn = { ...HANDLER_ENV, NODE_OPTIONS: '--enable-source-maps' };
  const candidates: { label: string; bundle: string; env: Record<string, string>; node: string }[] = [
    {
      label: `Node ${process.version}, as deployed: the bundle and environment the construct builds`,
      bundle: asBuilt,
      env: HANDLER_ENV,
      node: process.execPath,
    },
    {
      label: `Node ${process.version}, the same with \`NODE_OPTIONS=--enable-source-maps\` (the map parsed at load; not deployed)`,
      bundle: asBuilt,
      env: sourceMapsOn,
      node: process.execPath,
    },
  ];
  const lambdaNode = process.env.BENCH_LAMBDA_NODE?.trim();
  if (lambdaNode) {
    const version = spawnSync(lambdaNode, ['--version'], {
      encoding: 'utf8',
      timeout: 10_000,
    }).stdout?.trim();
    if (!version) throw new Error(`BENCH_LAMBDA_NODE=${lambdaNode} is not a node binary that runs here`);
    candidates.push(
      {
        label: `Node ${version} (the Lambda's runtime major), as deployed`,
        bundle: asBuilt,
        env: HANDLER_ENV,
        node: lambdaNode,
      },
      {
        label: `Node ${version}, source maps on (not deployed)`,
        bundle: asBuilt,
        env: sourceMapsOn,
        node: lambdaNode,
      },
    );
  }
  const empty: Timing = { sinceStart: [], requireOnly: [], processWall: [] };
  const timings = candidates.map((): Timing => ({ sinceStart: [], requireOnly: [], processWall: [] }));
  // Interleaved, so a burst of load on the machine hits every variant alike.
  for (let run = 0; run < runs; run += 1) {
    timeOnce(process.execPath, 'process.stdout.write(performance.now() + " 0");', {}, empty);
    candidates.forEach((candidate, index) => {
      timeOnce(candidate.node, requireScript(candidate.bundle), candidate.env, timings[index] as Timing);
    });
  }
  const [first, ...rest] = candidates.map(
    (candidate, index): ColdStartVariant => ({
      label: candidate.label,
      bundleBytes: statSync(candidate.bundle).size,
      sourceMapBytes: statSync(`${candidate.bundle}.map`).size,
      timing: medians(timings[index] as Timing),
    }),
  );
  if (first === undefined) throw new Error('no cold-start variant');
  return { runs, emptyNode: medians(empty), variants: [first, ...rest] };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  measureColdStart().then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
