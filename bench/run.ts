/**
 * `npm run bench`: the fleet-scale benchmark. One fleet process serves every case (up to 5000
 * HTTPS sites on 127.1.x.y:8443); each measured client runs in its own process, one after the other, in
 * rotating order, so CPU and memory are accounted separately and drift in the machine's load is shared.
 * Clients: the engine, the CLI as a user runs it, the aiohttp peer (skipped, and said so, when Python or
 * its wheels are missing), bare fetch, and in the headline cases the bare-TLS floor (see processes.ts).
 * Prints the markdown report and, for a full run, writes bench/results.md and its chart bench/results.svg.
 * Options and knobs: USAGE below (`npm run bench -- --help`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fingerprint } from '../core/index.js';
import { renderChart } from './chart.js';
import { measureColdStart } from './cold-start.js';
import { measurePeerCertificate } from './peer-certificate.js';
import { type Peer, packageSize, preparePeer, runCliPush, runPeer, timeCliHelp } from './process-clients.js';
import {
  benchSecrets,
  bundleClients,
  CLIENT_KINDS,
  type ClientBundles,
  type ClientKind,
  machineCpu,
  resultsDir,
  runClient,
  startFleetProcess,
} from './processes.js';
import type { ClientJob, ClientReport } from './protocol.js';
import { machineDescription, renderResults } from './report.js';
import { type BenchCase, median, type Sample } from './samples.js';

/**
 * Three headline cases (the targets of bench/README.md), and around them a sweep of N at L=50 ms, C=50 (the chart's x axis) and
 * two cases without latency, where only CPU limits the push.
 */
const CASES: readonly BenchCase[] = [
  { n: 100, latencyMs: 0, concurrency: 1 },
  { n: 100, latencyMs: 50, concurrency: 50 },
  { n: 200, latencyMs: 50, concurrency: 50, headline: true },
  { n: 1000, latencyMs: 0, concurrency: 100 },
  { n: 1000, latencyMs: 50, concurrency: 50 },
  { n: 1000, latencyMs: 250, concurrency: 100, headline: true, decompose: true },
  { n: 5000, latencyMs: 50, concurrency: 50 },
  { n: 5000, latencyMs: 0, concurrency: 200, headline: true },
];

const QUICK_CASES: readonly BenchCase[] = [
  { n: 100, latencyMs: 50, concurrency: 50 },
  { n: 200, latencyMs: 50, concurrency: 50, headline: true },
  { n: 1000, latencyMs: 250, concurrency: 100, headline: true, decompose: true },
];

const USAGE = `Usage: npm run bench [-- --quick | --help]

  --quick (or BENCH_QUICK=1)  three small cases, one repetition, fewer cold starts: for development.

Knobs (a run with any of them, or --quick, is partial: it writes to bench/.cache/results/, never over
bench/results.md):
  BENCH_CASES="1000/250/100,5000/0/200"  only these N/L/C cases
  BENCH_CLIENTS="engine,aiohttp"         only these clients (CLIENT_KINDS in processes.ts)
  BENCH_REPS=5                           repetitions of the headline cases (default 3)
  BENCH_CPU_PROF=<dir>                   every bundled client writes a V8 CPU profile there (unminified)
  BENCH_SOURCE_MAPS=1                    bundled clients run with --enable-source-maps

Settings that keep a run complete:
  BENCH_LAMBDA_NODE=<node binary>  cold-start and host-name-certificate rows on that Node too, e.g. the
                                   Lambda's major: $(bash scripts/lambda-node.sh)
  BENCH_PEER_DIR=<dir>             push_aiohttp.py and wheels/ (default ../shared/peers from the repo root)
  BENCH_PYTHON=<python 3.11>       creates the peer's venv (default python3)
`;

const FIRST_ADDRESS = '127.1.0.1';
const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';

function parseCase(item: string): BenchCase {
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
}

function selectedCases(): readonly BenchCase[] {
  const filter = process.env.BENCH_CASES?.trim();
  if (filter) return filter.split(',').map((item) => parseCase(item.trim()));
  return quick ? QUICK_CASES : CASES;
}

function headlineReps(): number {
  const raw = Number(process.env.BENCH_REPS ?? (quick ? 1 : 3));
  if (!Number.isInteger(raw) || raw < 1 || raw > 15)
    throw new Error('BENCH_REPS must be a whole number 1–15');
  return raw;
}

/** Any knob, or --quick, makes a partial run: it must not overwrite the committed results. */
function isPartial(): boolean {
  return (
    quick ||
    ['BENCH_CASES', 'BENCH_CLIENTS', 'BENCH_REPS', 'BENCH_CPU_PROF', 'BENCH_SOURCE_MAPS'].some(
      (name) => process.env[name] !== undefined && process.env[name] !== '',
    )
  );
}

/**
 * Every case runs the engine, the CLI, the aiohttp peer and bare fetch; headline cases add the bare-TLS
 * floor; the CPU case also adds bare undici (a default Agent and one shaped like the fleet connector) and
 * bare `http.request`, which locate where the engine's CPU goes.
 */
function clientsFor(c: BenchCase, peer: Peer): readonly ClientKind[] {
  const wanted = process.env.BENCH_CLIENTS?.split(',').map((kind) => kind.trim());
  const base: readonly ClientKind[] = ['engine', 'cli', 'aiohttp', 'fetch'];
  const extra: readonly ClientKind[] = c.decompose
    ? ['tls-floor', 'undici', 'undici-fleet', 'node-https']
    : c.headline
      ? ['tls-floor']
      : [];
  return CLIENT_KINDS.filter(
    (kind) =>
      (wanted === undefined || wanted.includes(kind)) &&
      (base.includes(kind) || extra.includes(kind)) &&
      (kind !== 'aiohttp' || peer.available),
  );
}

/** Far above any expected wall time, so only a stuck client hits it. */
function clientTimeoutMs(c: BenchCase): number {
  return 60_000 + Math.ceil(c.n / c.concurrency) * c.latencyMs * 4 + c.n * 30;
}

interface Measured {
  readonly report: ClientReport;
  readonly logLines: number;
  readonly processWallMs?: number;
}

function measureClient(
  kind: ClientKind,
  job: Omit<ClientJob, 'type'>,
  bundles: ClientBundles,
  peer: Peer,
  timeoutMs: number,
): Promise<Measured> {
  const processJob = { ...job, caFile: bundles.caFile };
  if (kind === 'cli') return runCliPush(processJob, timeoutMs);
  if (kind === 'aiohttp') {
    if (!peer.available) throw new Error(`aiohttp peer unavailable: ${peer.reason}`);
    return runPeer(peer, processJob, timeoutMs);
  }
  return runClient(bundles, kind, job, timeoutMs);
}

async function main(): Promise<void> {
  const cases = selectedCases();
  const partial = isPartial();
  const reps = headlineReps();
  const started = Date.now();

  const peer = preparePeer();
  console.error(
    peer.available
      ? `aiohttp peer: ${peer.script} (venv ${peer.venv})`
      : `aiohttp peer skipped: ${peer.reason}`,
  );

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
    const kinds = clientsFor(benchCase, peer);
    for (let rep = 0; rep < repetitions; rep += 1) {
      // Rotating the order spreads any drift in the machine's load over every client.
      const order = kinds.map((_, i) => kinds[(i + rep) % kinds.length] as ClientKind);
      for (const kind of order) {
        const { cpuMs: fleetBefore } = await fleet.reset();
        const machineBefore = machineCpu();
        const selfBefore = process.cpuUsage();
        const windowStart = performance.now();
        const { report, logLines, processWallMs } = await measureClient(
          kind,
          {
            urls: fleet.urls.slice(0, benchCase.n),
            concurrency: benchCase.concurrency,
            key: secrets.key,
            masterApiKey: secrets.masterApiKey,
            caPem: fleet.caPem,
          },
          bundles,
          peer,
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
          ...(processWallMs === undefined ? {} : { processWallMs }),
        };
        samples.push(sample);
        console.error(
          `N=${benchCase.n} L=${benchCase.latencyMs} C=${benchCase.concurrency} ${kind.padEnd(12)} ` +
            `wall ${report.wallMs.toFixed(0)} ms` +
            (processWallMs === undefined ? '' : ` (spawn→exit ${processWallMs.toFixed(0)} ms)`) +
            `, cpu/site ${((report.cpuUserMs + report.cpuSystemMs) / benchCase.n).toFixed(2)} ms, ` +
            `peak RSS ${report.peakRssMb.toFixed(0)} MB, confirmed ${report.confirmed}/${benchCase.n}, fleet holds ${holding}, ` +
            `fleet cpu ${(sample.fleetCpuMs / 1000).toFixed(1)} s, other load ${otherCores.toFixed(2)} cores`,
        );
      }
    }
  }
  fleet.close();

  const coldRuns = quick ? 5 : 15;
  const coldStart = await measureColdStart(coldRuns);
  const helpRuns = Array.from({ length: coldRuns }, () => timeCliHelp());
  const peerCertificate = await measurePeerCertificate();
  clearInterval(sampler);
  const chartFile = 'results.svg';
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
    cliHelp: { runs: helpRuns.length, medianMs: median(helpRuns) },
    peerCertificate,
    packageSize: packageSize(),
    peer: peer.available ? { available: true } : { available: false, reason: peer.reason },
    chartFile,
  });
  process.stdout.write(markdown);
  const outDir = resultsDir(partial);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.md'), markdown);
  writeFileSync(join(outDir, chartFile), renderChart(samples));
  console.error(
    `written to ${join(outDir, 'results.md')} and ${chartFile}${partial ? ' (a partial run: bench/results.md is left alone)' : ''}`,
  );
  const unconfirmed = samples.filter(
    (s) => s.report.confirmed !== s.benchCase.n || s.holding !== s.benchCase.n,
  );
  if (unconfirmed.length > 0) {
    console.error(`${unconfirmed.length} run(s) left sites unconfirmed (see the table)`);
    process.exitCode = 1;
  }
}

if (args.includes('--help')) {
  process.stdout.write(USAGE);
} else if (args.some((arg) => arg !== '--quick')) {
  console.error(`Unknown argument(s): ${args.filter((arg) => arg !== '--quick').join(' ')}\n\n${USAGE}`);
  process.exitCode = 2;
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
