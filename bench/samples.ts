/** The benchmark's samples and what is computed from them: cases, medians per case and client, lookups. */
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
  /** Whole-process clients (CLI, aiohttp peer): spawn to exit, process start included. */
  readonly processWallMs?: number;
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
  /** The whole process's CPU per site, start-up included (for the bundled clients: up to the report). */
  readonly processCpuPerSiteMs: number;
  readonly peakRssMb: number;
  readonly rssBeforeMb: number;
  readonly sitesPerS: number;
  /** Lowest over the runs: one unconfirmed site in any run shows. */
  readonly confirmed: number;
  readonly holding: number;
  readonly fleetCpuPerSiteMs: number;
  readonly logLines: number;
  readonly otherCores: number;
  readonly processWallMs: number | undefined;
}

function caseKey(c: BenchCase): string {
  return `${c.n}/${c.latencyMs}/${c.concurrency}`;
}

export function unique(cases: readonly BenchCase[]): BenchCase[] {
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
      processCpuPerSiteMs: median(group.map((s) => s.report.processCpuMs / s.report.sites)),
      peakRssMb: median(group.map((s) => s.report.peakRssMb)),
      rssBeforeMb: median(group.map((s) => s.report.rssBeforeMb)),
      sitesPerS: first.benchCase.n / (wallMs / 1000),
      confirmed: Math.min(...group.map((s) => s.report.confirmed)),
      holding: Math.min(...group.map((s) => s.holding)),
      fleetCpuPerSiteMs: median(group.map((s) => s.fleetCpuMs / s.report.sites)),
      logLines: median(group.map((s) => s.logLines)),
      otherCores: median(group.map((s) => s.otherCores)),
      processWallMs:
        first.processWallMs === undefined ? undefined : median(group.map((s) => s.processWallMs ?? 0)),
    };
  });
}

export const KIND_LABELS: Readonly<Record<ClientKind, string>> = {
  engine: 'engine',
  cli: 'CLI push (whole process)',
  aiohttp: 'aiohttp peer',
  fetch: 'bare fetch',
  undici: 'bare undici',
  'undici-fleet': 'bare undici, one-shot Agent',
  'tls-floor': 'bare TLS floor',
  'node-https': 'bare node:http over tls',
};

export const f0 = (value: number): string => value.toFixed(0);
export const f1 = (value: number): string => value.toFixed(1);
export const f2 = (value: number): string => value.toFixed(2);

/** The summary of one case and client, if it ran. */
export function find(
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
