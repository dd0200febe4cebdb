/**
 * Cold start of the deployed handler: bundles `lambda/handler.ts` exactly as the CDK construct does
 * (lib/stripe-key-rotation.ts: esbuild, everything bundled, minified, CJS, platform node, target node20,
 * packages' ES module builds first — `mainFields: ['module', 'main']`, which lets esbuild drop the AWS SDK
 * commands nobody imports — external source map without sources, NODE_OPTIONS=--enable-source-maps), then
 * times fresh `node` processes requiring the bundle with the construct's environment (placeholder values, so
 * the module-scope configuration parse succeeds). Two variants show what the options cost: the same bundle
 * without source-map support, and esbuild's default CJS-first resolution.
 * `tsx bench/cold-start.ts` runs it alone.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { REPO_ROOT, scratchDir } from './processes.js';
import { median } from './report.js';

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
  /** The first is the construct as it is: the target applies to it. */
  readonly variants: readonly [ColdStartVariant, ...ColdStartVariant[]];
}

const RUNS = 15;

/** The construct's environment, with placeholder values of the right shape. */
const HANDLER_ENV = {
  STAGED_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:staged-AbCdEf',
  MASTER_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:master-AbCdEf',
  SITES_PARAMETER: '/stripe-key-rotator/test/sites',
  LEDGER_TABLE: 'stripe-key-rotator-ledger',
  KEY_MODE: 'test',
  WHEN_NOTHING_STAGED: 'repropagate',
  PUSH_CONCURRENCY: '100',
  SITE_TIMEOUT_MS: '10000',
  SITE_ATTEMPTS: '3',
  CANARY_SITES: '1',
  STRIPE_CHECK: 'on',
  POWERTOOLS_SERVICE_NAME: 'stripe-key-rotator',
  POWERTOOLS_METRICS_NAMESPACE: 'StripeKeyRotator',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  AWS_REGION: 'us-east-1',
};

interface Timing {
  readonly sinceStart: number[];
  readonly requireOnly: number[];
  readonly processWall: number[];
}

/** One fresh process; the script prints `<since start> <require>` in ms. */
function timeOnce(script: string, env: Record<string, string>, into: Timing): void {
  const started = performance.now();
  const child = spawnSync(process.execPath, ['-e', script], {
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

/** The construct's `bundling.mainFields` (lib/stripe-key-rotation.ts). */
export const DEPLOYED_MAIN_FIELDS = ['module', 'main'] as const;

/** Bundles the handler as the CDK construct does (other `mainFields` for comparison); returns its path. */
export async function bundleHandler(
  outdir: string,
  mainFields: readonly string[] = DEPLOYED_MAIN_FIELDS,
): Promise<string> {
  const outfile = join(outdir, 'index.js');
  await build({
    entryPoints: [join(REPO_ROOT, 'lambda', 'handler.ts')],
    outfile,
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    mainFields: [...mainFields],
    logLevel: 'error',
  });
  return outfile;
}

function requireScript(bundle: string): string {
  return (
    `const t0 = performance.now(); const m = require(${JSON.stringify(bundle)}); const t1 = performance.now();` +
    `if (typeof m.handler !== 'function') throw new Error('no handler export');` +
    'process.stdout.write(t1 + " " + (t1 - t0));'
  );
}

export async function measureColdStart(): Promise<ColdStart> {
  const asBuilt = await bundleHandler(scratchDir('bench-handler-'));
  // esbuild's default for platform node (CJS first): what the construct deployed before it set mainFields.
  const mainFirst = await bundleHandler(scratchDir('bench-handler-cjs-'), ['main', 'module']);
  const candidates = [
    {
      label:
        "as the construct deploys it (`mainFields: ['module', 'main']`, `NODE_OPTIONS=--enable-source-maps`)",
      bundle: asBuilt,
      env: { ...HANDLER_ENV, NODE_OPTIONS: '--enable-source-maps' },
    },
    { label: 'same bundle, without `--enable-source-maps`', bundle: asBuilt, env: HANDLER_ENV },
    {
      label: "esbuild's default `mainFields` (CJS first), with `--enable-source-maps`",
      bundle: mainFirst,
      env: { ...HANDLER_ENV, NODE_OPTIONS: '--enable-source-maps' },
    },
  ];
  const empty: Timing = { sinceStart: [], requireOnly: [], processWall: [] };
  const timings = candidates.map((): Timing => ({ sinceStart: [], requireOnly: [], processWall: [] }));
  // Interleaved, so a burst of load on the machine hits every variant alike.
  for (let run = 0; run < RUNS; run += 1) {
    timeOnce('process.stdout.write(performance.now() + " 0");', {}, empty);
    candidates.forEach((candidate, index) => {
      timeOnce(requireScript(candidate.bundle), candidate.env, timings[index] as Timing);
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
  return { runs: RUNS, emptyNode: medians(empty), variants: [first, ...rest] };
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
