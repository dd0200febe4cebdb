/**
 * Turns the benchmark's samples into bench/results.md: the machine, its load, the fleet-scale targets with a
 * verdict each, one row per case and client (medians over repetitions), the engine/bare ratios, cold start.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import type { ColdStart, ColdStartRuns } from './cold-start.js';
import type { ClientKind } from './processes.js';
import type { ClientReport } from './protocol.js';

export interface BenchCase {
  readonly n: number;
  readonly latencyMs: number;
  readonly concurrency: number;
  /** Named by a target: repeated and reported as a median. */
  readonly headline?: boolean;
  /** Also runs the clients that show where the engine's CPU goes. */
  readonly decompose?: boolean;
}

export interface Sample {
  readonly benchCase: BenchCase;
  readonly kind: ClientKind;
  readonly report: ClientReport;
  /** Sites the fleet says store the key after this run. */
  readonly holding: number;
  readonly logLines: number;
  readonly fleetCpuMs: number;
  /** Machine CPU used by processes other than the bench during the run, in cores. */
  readonly otherCores: number;
}

export interface ResultsInput {
  readonly machine: MachineDescription;
  readonly loadBefore: readonly number[];
  readonly loadSamples: readonly number[];
  readonly loadAfter: readonly number[];
  readonly durationS: number;
  readonly fleetSize: number;
  readonly fleetStartMs: number;
  readonly reps: number;
  readonly samples: readonly Sample[];
  readonly coldStart: ColdStart;
}

export interface MachineDescription {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly node: string;
  readonly kernel: string;
}

export function machineDescription(): MachineDescription {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux: the model stays unknown, everything else still applies.
  }
  return {
    cpu,
    cores: availableParallelism(),
    memoryGb: totalmem() / 1024 ** 3,
    node: process.version,
    kernel: `${process.platform} ${release()}`,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/** ⌈N/C⌉·L: the wall time if latency were the only cost. */
export function idealMs(c: BenchCase): number {
  return Math.ceil(c.n / c.concurrency) * c.latencyMs;
}

export interface Summary {
  readonly benchCase: BenchCase;
  readonly kind: ClientKind;
  readonly runs: number;
  readonly wallMs: number;
  readonly wallRange: readonly [number, number];
  readonly cpuPerSiteMs: number;
  readonly cpuRange: readonly [number, number];
  readonly peakRssMb: number;
  readonly rssBeforeMb: number;
  readonly sitesPerS: number;
  /** Lowest over the runs: one unconfirmed site in any run shows. */
  readonly confirmed: number;
  readonly holding: number;
  readonly fleetCpuPerSiteMs: number;
  readonly logLines: number;
  readonly otherCores: number;
}

function caseKey(c: BenchCase): string {
  return `${c.n}/${c.latencyMs}/${c.concurrency}`;
}

function unique(cases: readonly BenchCase[]): BenchCase[] {
  return [...new Map(cases.map((c) => [caseKey(c), c])).values()];
}

export function summarize(samples: readonly Sample[]): Summary[] {
  const groups = new Map<string, Sample[]>();
  for (const sample of samples) {
    const key = `${caseKey(sample.benchCase)}/${sample.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as Sample;
    const walls = group.map((s) => s.report.wallMs);
    const wallMs = median(walls);
    const cpus = group.map((s) => (s.report.cpuUserMs + s.report.cpuSystemMs) / s.report.sites);
    return {
      benchCase: first.benchCase,
      kind: first.kind,
      runs: group.length,
      wallMs,
      wallRange: [Math.min(...walls), Math.max(...walls)],
      cpuPerSiteMs: median(cpus),
      cpuRange: [Math.min(...cpus), Math.max(...cpus)],
      peakRssMb: median(group.map((s) => s.report.peakRssMb)),
      rssBeforeMb: median(group.map((s) => s.report.rssBeforeMb)),
      sitesPerS: first.benchCase.n / (wallMs / 1000),
      confirmed: Math.min(...group.map((s) => s.report.confirmed)),
      holding: Math.min(...group.map((s) => s.holding)),
      fleetCpuPerSiteMs: median(group.map((s) => s.fleetCpuMs / s.report.sites)),
      logLines: median(group.map((s) => s.logLines)),
      otherCores: median(group.map((s) => s.otherCores)),
    };
  });
}

const KIND_LABELS: Readonly<Record<ClientKind, string>> = {
  engine: 'engine',
  fetch: 'bare fetch',
  undici: 'bare undici',
  'engine-agent': 'engine, general-purpose Agent',
  'undici-fleet': 'bare undici, fleet dispatcher',
  'tls-floor': 'bare TLS floor',
};

const f0 = (value: number): string => value.toFixed(0);
const f1 = (value: number): string => value.toFixed(1);
const f2 = (value: number): string => value.toFixed(2);

function find(
  summaries: readonly Summary[],
  n: number,
  latencyMs: number,
  concurrency: number,
  kind: ClientKind,
): Summary | undefined {
  return summaries.find(
    (s) =>
      s.kind === kind &&
      s.benchCase.n === n &&
      s.benchCase.latencyMs === latencyMs &&
      s.benchCase.concurrency === concurrency,
  );
}

interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

function verdicts(summaries: readonly Summary[], cold: ColdStart): Verdict[] {
  const list: Verdict[] = [];
  const engine = find(summaries, 1000, 250, 100, 'engine');
  const fetch = find(summaries, 1000, 250, 100, 'fetch');
  const big = find(summaries, 5000, 0, 200, 'engine');
  const missing = (target: string): Verdict => ({ target, measured: 'case not run', met: undefined });
  if (engine && fetch) {
    list.push({
      target: 'N=1000, L=250, C=100: engine wall ≤ bare fetch wall',
      measured: `${f0(engine.wallMs)} ms vs ${f0(fetch.wallMs)} ms (ratio ${f2(engine.wallMs / fetch.wallMs)})`,
      met: engine.wallMs <= fetch.wallMs,
    });
    list.push({
      target: 'N=1000, L=250, C=100: engine CPU/site ≤ 0.6 × bare fetch',
      measured: `${f2(engine.cpuPerSiteMs)} ms vs ${f2(fetch.cpuPerSiteMs)} ms (ratio ${f2(engine.cpuPerSiteMs / fetch.cpuPerSiteMs)})`,
      met: engine.cpuPerSiteMs <= 0.6 * fetch.cpuPerSiteMs,
    });
  } else {
    list.push(missing('N=1000, L=250, C=100: engine wall ≤ bare fetch wall'));
    list.push(missing('N=1000, L=250, C=100: engine CPU/site ≤ 0.6 × bare fetch'));
  }
  if (engine) {
    list.push({
      target: 'N=1000, L=250, C=100: engine peak RSS ≤ 150 MB',
      measured: `${f0(engine.peakRssMb)} MB`,
      met: engine.peakRssMb <= 150,
    });
  } else list.push(missing('N=1000, L=250, C=100: engine peak RSS ≤ 150 MB'));
  if (big) {
    list.push({
      target: 'N=5000, L=0, C=200: every site confirmed',
      measured: `${big.confirmed}/5000 reported, ${big.holding}/5000 stored (worst run)`,
      met: big.confirmed === 5000 && big.holding === 5000,
    });
    list.push({
      target: 'N=5000, L=0, C=200: engine peak RSS ≤ 250 MB',
      measured: `${f0(big.peakRssMb)} MB`,
      met: big.peakRssMb <= 250,
    });
  } else {
    list.push(missing('N=5000, L=0, C=200: every site confirmed'));
    list.push(missing('N=5000, L=0, C=200: engine peak RSS ≤ 250 MB'));
  }
  const [plain, deployed] = cold.variants;
  list.push({
    target: 'Bundled handler: cold import ≤ 150 ms (`node` on the esbuild output, from process start)',
    measured:
      `${f0(plain.timing.sinceStartMs)} ms (require alone ${f0(plain.timing.requireMs)} ms)` +
      (deployed
        ? `; as deployed, with \`--enable-source-maps\`: ${f0(deployed.timing.sinceStartMs)} ms`
        : ''),
    met: plain.timing.sinceStartMs <= 150,
  });
  list.push({
    target: 'Bundled handler: bundle ≤ 1 MB',
    measured: `${plain.bundleBytes} bytes (${f2(plain.bundleBytes / 1e6)} MB)`,
    met: plain.bundleBytes <= 1e6,
  });
  return list;
}

function coldRow(name: string, bytes: string, runs: ColdStartRuns): string {
  return `| ${name} | ${bytes} | ${f0(runs.sinceStartMs)} | ${f0(runs.requireMs)} | ${f0(runs.processMs)} |`;
}

function loadText(values: readonly number[]): string {
  return values.map(f2).join(' / ');
}

export function renderResults(input: ResultsInput): string {
  const { machine, coldStart } = input;
  const summaries = summarize(input.samples);
  const lines: string[] = [];
  const push = (...more: string[]): void => {
    lines.push(...more);
  };
  const duringMax = input.loadSamples.length > 0 ? Math.max(...input.loadSamples) : Number.NaN;

  push(
    '# Fleet-scale benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}; the whole run took ${f0(input.durationS)} s.`,
    '',
    '## Machine',
    '',
    `- CPU: ${machine.cpu}, ${machine.cores} cores; memory ${f1(machine.memoryGb)} GiB; ${machine.kernel}; Node ${machine.node}.`,
    `- Load average (1/5/15 min) before: ${loadText(input.loadBefore)}; after: ${loadText(input.loadAfter)};` +
      ` 1-min average during the run: median ${f2(median(input.loadSamples))}, max ${f2(duringMax)}.` +
      ' The bench itself keeps about 1–2 cores busy; "other load" below is what the rest of the machine used' +
      ' meanwhile (from /proc/stat, minus the client, the fleet and the orchestrator).',
    `- Fleet: ${input.fleetSize} HTTPS template sites (sim/template-fleet.ts) in their own process, one loopback` +
      ` address each (127.1.0.1, 127.1.0.2, …, port 8443), ECDSA P-256 certificates from a throwaway CA;` +
      ` started in ${f1(input.fleetStartMs / 1000)} s. Clients are bundled with esbuild like the Lambda and run` +
      ' one at a time, each in a fresh `node` process.',
    '',
    '## Targets',
    '',
    '| target | measured | met |',
    '| --- | --- | --- |',
    ...verdicts(summaries, coldStart).map(
      (v) => `| ${v.target} | ${v.measured} | ${v.met === undefined ? '—' : v.met ? 'yes' : '**no**'} |`,
    ),
    '',
    'Where a target is missed, [bench/README.md](README.md) gives the cause, with profiles.',
    '',
    '## Push: every case and client',
    '',
    `Headline cases (**bold**) ran ${input.reps} times in rotating client order; their rows are medians [range].` +
      " Wall and CPU are measured around the push only; peak RSS is the client process's `maxRSS` (MB = 10⁶ bytes);" +
      ' ideal = ⌈N/C⌉·L (the engine also waits one L for its canary first).',
    '',
    '| N | L ms | C | client | runs | wall ms | ideal ms | sites/s | CPU ms/site | peak RSS MB | RSS before push MB | confirmed / stored | log lines | fleet CPU ms/site | other load (cores) |',
    '| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...summaries.map((s) => {
      const c = s.benchCase;
      const bold = (text: string): string => (c.headline ? `**${text}**` : text);
      const wall =
        s.runs > 1 ? `${f0(s.wallMs)} [${f0(s.wallRange[0])}–${f0(s.wallRange[1])}]` : f0(s.wallMs);
      const cpu =
        s.runs > 1 ? `${f2(s.cpuPerSiteMs)} [${f2(s.cpuRange[0])}–${f2(s.cpuRange[1])}]` : f2(s.cpuPerSiteMs);
      return (
        `| ${bold(String(c.n))} | ${bold(String(c.latencyMs))} | ${bold(String(c.concurrency))} | ${KIND_LABELS[s.kind]} | ${s.runs} |` +
        ` ${wall} | ${f0(idealMs(c))} | ${f0(s.sitesPerS)} | ${cpu} | ${f0(s.peakRssMb)} | ${f0(s.rssBeforeMb)} |` +
        ` ${s.confirmed} / ${s.holding} | ${f0(s.logLines)} | ${f2(s.fleetCpuPerSiteMs)} | ${f2(s.otherCores)} |`
      );
    }),
    '',
    '## Engine / bare ratios (below 1: the engine is cheaper)',
    '',
    '| N | L ms | C | wall engine/fetch | CPU engine/fetch | RSS engine/fetch | wall engine/undici | CPU engine/undici | RSS engine/undici |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const engine of summaries.filter((s) => s.kind === 'engine')) {
    const c = engine.benchCase;
    const fetch = find(summaries, c.n, c.latencyMs, c.concurrency, 'fetch');
    const undici = find(summaries, c.n, c.latencyMs, c.concurrency, 'undici');
    const ratio = (a: number, b: number | undefined): string => (b === undefined ? '—' : f2(a / b));
    push(
      `| ${c.n} | ${c.latencyMs} | ${c.concurrency} | ${ratio(engine.wallMs, fetch?.wallMs)} | ${ratio(engine.cpuPerSiteMs, fetch?.cpuPerSiteMs)} |` +
        ` ${ratio(engine.peakRssMb, fetch?.peakRssMb)} | ${ratio(engine.wallMs, undici?.wallMs)} | ${ratio(engine.cpuPerSiteMs, undici?.cpuPerSiteMs)} |` +
        ` ${ratio(engine.peakRssMb, undici?.peakRssMb)} |`,
    );
  }
  for (const c of unique(summaries.filter((s) => s.benchCase.decompose).map((s) => s.benchCase))) {
    const at = (kind: ClientKind): Summary | undefined =>
      find(summaries, c.n, c.latencyMs, c.concurrency, kind);
    const steps: readonly [ClientKind, string][] = [
      ['tls-floor', '`tls.connect` + one hand-written request: handshake, certificate checks, sockets'],
      ['undici-fleet', "+ undici's HTTP client, through the engine's dispatcher"],
      ['engine', '+ the engine: canary, timeouts, classification, retries armed, logs, ledger'],
      ['undici', 'bare undici through a default Agent (new TLS context per site, keep-alive)'],
      ['fetch', 'bare global fetch'],
    ];
    const fetch = at('fetch');
    push(
      '',
      `## Where the CPU goes (N=${c.n}, L=${c.latencyMs} ms, C=${c.concurrency})`,
      '',
      '| client | what it adds | CPU ms/site (median [range]) |',
      '| --- | --- | ---: |',
      ...steps.flatMap(([kind, what]) => {
        const s = at(kind);
        return s === undefined
          ? []
          : [
              `| ${KIND_LABELS[kind]} | ${what} | ${f2(s.cpuPerSiteMs)} [${f2(s.cpuRange[0])}–${f2(s.cpuRange[1])}] |`,
            ];
      }),
      ...(fetch === undefined ? [] : [`| 0.6 × bare fetch | the target | ${f2(0.6 * fetch.cpuPerSiteMs)} |`]),
    );
  }
  const before = summaries.filter((s) => s.kind === 'engine-agent');
  if (before.length > 0) {
    push(
      '',
      "## The engine's dispatcher: a general-purpose Agent (before) → `createFleetDispatcher`",
      '',
      'Same engine, same cases; only the undici dispatcher differs (keep-alive Agent with `connect: { ca }` vs one' +
        ' shared TLS context, no keep-alive, one connection per origin).',
      '',
      '| N | L ms | C | wall ms | CPU ms/site | peak RSS MB |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const agent of before) {
      const c = agent.benchCase;
      const fleet = find(summaries, c.n, c.latencyMs, c.concurrency, 'engine');
      if (fleet === undefined) continue;
      push(
        `| ${c.n} | ${c.latencyMs} | ${c.concurrency} | ${f0(agent.wallMs)} → ${f0(fleet.wallMs)} |` +
          ` ${f2(agent.cpuPerSiteMs)} → ${f2(fleet.cpuPerSiteMs)} | ${f0(agent.peakRssMb)} → ${f0(fleet.peakRssMb)} |`,
      );
    }
  }
  push(
    '',
    '## Cold start of the bundled handler',
    '',
    '`lambda/handler.ts` bundled as the CDK construct does (esbuild: everything bundled, minified, CJS, platform' +
      ' node, target node20, ES module builds first, external source map without sources), then required by fresh' +
      " `node -e` processes with the construct's environment (placeholder values); medians of" +
      ` ${coldStart.runs} runs per row, interleaved. The bundle size counts \`index.js\` only (the source map is` +
      " read only with source maps on). Building the fleet dispatcher at module scope loads Node's root" +
      ' certificate store (about 25 ms): the first AWS call of an invocation would load it otherwise.',
    '',
    '| run | bundle bytes (map) | ms since process start | require() alone ms | spawn → exit ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    coldRow('`node -e` without the handler', '—', coldStart.emptyNode),
    ...coldStart.variants.map((variant) =>
      coldRow(
        variant.label,
        `${variant.bundleBytes} (${f0(variant.sourceMapBytes / 1024)} KiB)`,
        variant.timing,
      ),
    ),
    '',
  );
  return `${lines.join('\n')}\n`;
}
