/** The targets the results are judged against (bench/README.md), each with its verdict. */

import type { ClientKind } from './processes.js';
import type { ResultsInput } from './results-input.js';
import { f0, f2, find, type Summary } from './samples.js';

export interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

/** Spawn to exit for whole-process clients, the push alone for the others. */
export function userWallMs(s: Summary): number {
  return s.processWallMs ?? s.wallMs;
}

/** Each target of bench/README.md against this run's figures. */
export function verdicts(summaries: readonly Summary[], input: ResultsInput): Verdict[] {
  const list: Verdict[] = [];
  const ratio = (a: number, b: number): string => f2(a / b);
  const compare = (
    target: string,
    mine: Summary | undefined,
    peer: Summary | undefined,
    value: (s: Summary) => number,
    unit: string,
    format: (v: number) => string,
    limit: number,
    extra: (mine: Summary, peer: Summary) => string = () => '',
  ): void => {
    if (mine === undefined || peer === undefined) {
      list.push({
        target,
        measured: mine !== undefined && !input.peer.available ? 'aiohttp peer not run' : 'case not run',
        met: undefined,
      });
      return;
    }
    const a = value(mine);
    const b = value(peer);
    list.push({
      target,
      measured: `${format(a)} ${unit} vs ${format(b)} ${unit} (ratio ${ratio(a, b)})${extra(mine, peer)}`,
      met: a <= limit * b,
    });
  };
  const at = (n: number, l: number, c: number, kind: ClientKind) => find(summaries, n, l, c, kind);
  const engine = at(1000, 250, 100, 'engine');
  const cli = at(1000, 250, 100, 'cli');
  const peer = at(1000, 250, 100, 'aiohttp');
  const cpu = (s: Summary): number => s.cpuPerSiteMs;
  const rss = (s: Summary): number => s.peakRssMb;
  const pushOnly = (_: Summary, p: Summary): string => `; aiohttp's push alone ${f0(p.wallMs)} ms`;
  compare(
    'N=1000, L=250, C=100: engine wall ≤ 0.9 × aiohttp (push alone, both)',
    engine,
    peer,
    (s) => s.wallMs,
    'ms',
    f0,
    0.9,
  );
  compare(
    'N=1000, L=250, C=100: CLI wall ≤ 0.9 × aiohttp (spawn → exit, both)',
    cli,
    peer,
    userWallMs,
    'ms',
    f0,
    0.9,
    pushOnly,
  );
  compare('N=1000, L=250, C=100: engine CPU/site ≤ 0.9 × aiohttp', engine, peer, cpu, 'ms', f2, 0.9);
  // Like its wall time, the CLI's CPU is the whole process's; so is the peer's it is judged against.
  compare(
    'N=1000, L=250, C=100: CLI CPU/site ≤ 0.9 × aiohttp (whole process, start-up included, both)',
    cli,
    peer,
    (s) => s.processCpuPerSiteMs,
    'ms',
    f2,
    0.9,
    (mine, p) =>
      `; aiohttp's push alone ${f2(p.cpuPerSiteMs)} ms (ratio ${ratio(mine.processCpuPerSiteMs, p.cpuPerSiteMs)})`,
  );
  compare('N=1000, L=250, C=100: engine peak RSS ≤ 0.5 × aiohttp', engine, peer, rss, 'MB', f0, 0.5);
  compare('N=1000, L=250, C=100: CLI peak RSS ≤ 0.5 × aiohttp', cli, peer, rss, 'MB', f0, 0.5);
  compare(
    'N=200, L=50, C=50: CLI wall ≤ aiohttp (spawn → exit, both)',
    at(200, 50, 50, 'cli'),
    at(200, 50, 50, 'aiohttp'),
    userWallMs,
    'ms',
    f0,
    1,
    pushOnly,
  );
  const big = at(5000, 0, 200, 'engine');
  const bigPeer = at(5000, 0, 200, 'aiohttp');
  compare(
    'N=5000, L=0, C=200: engine throughput ≥ aiohttp (push alone; compared as wall time)',
    big,
    bigPeer,
    (s) => s.wallMs,
    'ms',
    f0,
    1,
    (m, p) => ` = ${f0(m.sitesPerS)} vs ${f0(p.sitesPerS)} sites/s`,
  );
  if (big) {
    list.push({
      target: 'N=5000, L=0, C=200: engine confirms every site',
      measured: `${big.confirmed}/5000 reported, ${big.holding}/5000 stored (worst run)`,
      met: big.confirmed === 5000 && big.holding === 5000,
    });
    list.push({
      target: 'N=5000, L=0, C=200: engine peak RSS ≤ 250 MB',
      measured: `${f0(big.peakRssMb)} MB`,
      met: big.peakRssMb <= 250,
    });
  } else {
    list.push({
      target: 'N=5000, L=0, C=200: engine confirms every site, peak RSS ≤ 250 MB',
      measured: 'case not run',
      met: undefined,
    });
  }
  list.push({
    target: 'CLI `--help` ≤ 150 ms (spawn → exit)',
    measured: `${f0(input.cliHelp.medianMs)} ms (median of ${input.cliHelp.runs})`,
    met: input.cliHelp.medianMs <= 150,
  });
  const cold = input.coldStart;
  const deployed = cold.variants[0];
  list.push({
    target:
      'Deployed handler: cold load ≤ 150 ms (`require` of the bundle, with the environment and source-map setting the construct deploys)',
    measured:
      `${f0(deployed.timing.requireMs)} ms (from process start ${f0(deployed.timing.sinceStartMs)} ms, ` +
      `of which Node's own start ${f0(cold.emptyNode.sinceStartMs)} ms)`,
    met: deployed.timing.requireMs <= 150,
  });
  list.push({
    target: 'Deployed handler: bundle ≤ 1 MB',
    measured: `${deployed.bundleBytes} bytes (${f2(deployed.bundleBytes / 1e6)} MB)`,
    met: deployed.bundleBytes <= 1e6,
  });
  return list;
}
