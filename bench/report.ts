/**
 * Turns the benchmark's samples into bench/results.md: the machine, its load, the targets with a verdict
 * each, one row per case and client (medians over repetitions), the ratios to the aiohttp peer, where the
 * CPU goes, cold start and the CLI's start.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import type { ColdStartRuns } from './cold-start.js';
import type { ClientKind } from './processes.js';
import type { MachineDescription, ResultsInput } from './results-input.js';
import {
  f0,
  f1,
  f2,
  find,
  idealMs,
  KIND_LABELS,
  median,
  type Summary,
  summarize,
  unique,
} from './samples.js';
import { userWallMs, verdicts } from './targets.js';

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
    `- Measured clients: the engine (the Lambda's push, bundled, measured around the push), the CLI's \`push\`` +
      ' exactly as a user runs it (`node bin/stripe-key-rotator.js push --sites-file … --concurrency C --force`,' +
      ' measured from spawn to exit), ' +
      (input.peer.available
        ? "the aiohttp peer (the propagation guide's asynchronous script, unchanged, aiohttp installed offline" +
          ' into a venv; measured around the script, aiohttp already imported, and from spawn to exit),'
        : `**not** the aiohttp peer (skipped: ${input.peer.reason}; every target against it shows "—"),`) +
      ' bare `fetch`, and in the headline cases the bare-TLS floor.',
    '',
    `![Wall time against N for each client](${input.chartFile})`,
    '',
    `[The chart](${input.chartFile}) plots the "wall ms" column below against N.`,
    '',
    '## Targets',
    '',
    '| target | measured | met |',
    '| --- | --- | --- |',
    ...verdicts(summaries, input).map(
      (v) => `| ${v.target} | ${v.measured} | ${v.met === undefined ? '—' : v.met ? 'yes' : '**no**'} |`,
    ),
    '',
    'Where a target is missed, [bench/README.md](README.md) gives the cause, with profiles.',
    '',
    '## Push: every case and client',
    '',
    `Headline cases (**bold**) ran ${input.reps} times in rotating client order; their rows are medians [range].` +
      ' Wall and CPU are measured around the push only, except for the CLI: its wall is spawn to exit and its' +
      " CPU the whole process's (`cutime` + `cstime` from /proc, 10 ms resolution), start-up included." +
      " Peak RSS is the client process's `maxRSS` (the CLI's VmHWM, sampled every 20 ms) in MB = 10⁶ bytes;" +
      ' "spawn → exit" is what a user waits for with the whole-process clients;' +
      ' ideal = ⌈N/C⌉·L (the engine and the CLI also wait one L for their canary first).',
    '',
    '| N | L ms | C | client | runs | wall ms | spawn → exit ms | ideal ms | sites/s | CPU ms/site | peak RSS MB | RSS before push MB | confirmed / stored | log lines | fleet CPU ms/site | other load (cores) |',
    '| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...summaries.map((s) => {
      const c = s.benchCase;
      const bold = (text: string): string => (c.headline ? `**${text}**` : text);
      const wall =
        s.runs > 1 ? `${f0(s.wallMs)} [${f0(s.wallRange[0])}–${f0(s.wallRange[1])}]` : f0(s.wallMs);
      const cpu =
        s.runs > 1 ? `${f2(s.cpuPerSiteMs)} [${f2(s.cpuRange[0])}–${f2(s.cpuRange[1])}]` : f2(s.cpuPerSiteMs);
      return (
        `| ${bold(String(c.n))} | ${bold(String(c.latencyMs))} | ${bold(String(c.concurrency))} | ${KIND_LABELS[s.kind]} | ${s.runs} |` +
        ` ${wall} | ${s.processWallMs === undefined ? '—' : f0(s.processWallMs)} | ${f0(idealMs(c))} | ${f0(s.sitesPerS)} | ${cpu} |` +
        ` ${f0(s.peakRssMb)} | ${Number.isNaN(s.rssBeforeMb) ? '—' : f0(s.rssBeforeMb)} |` +
        ` ${s.confirmed} / ${s.holding} | ${f0(s.logLines)} | ${f2(s.fleetCpuPerSiteMs)} | ${f2(s.otherCores)} |`
      );
    }),
    '',
    '## Ratios to the aiohttp peer (below 1: cheaper than aiohttp)',
    '',
    "Wall: the engine and fetch by their push alone against the peer's push alone; the CLI spawn to exit" +
      ' against the peer spawn to exit.',
    '',
    '| N | L ms | C | wall engine | wall CLI | wall fetch | CPU engine | CPU CLI | CPU fetch | RSS engine | RSS CLI | RSS fetch |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const peer of summaries.filter((s) => s.kind === 'aiohttp')) {
    const c = peer.benchCase;
    const at = (kind: ClientKind): Summary | undefined =>
      find(summaries, c.n, c.latencyMs, c.concurrency, kind);
    const ratio = (s: Summary | undefined, value: (s: Summary) => number): string =>
      s === undefined ? '—' : f2(value(s) / value(peer));
    const [engine, cli, fetch] = [at('engine'), at('cli'), at('fetch')];
    push(
      `| ${c.n} | ${c.latencyMs} | ${c.concurrency} | ${ratio(engine, (s) => s.wallMs)} | ${ratio(cli, userWallMs)} |` +
        ` ${ratio(fetch, (s) => s.wallMs)} | ${ratio(engine, (s) => s.cpuPerSiteMs)} | ${ratio(cli, (s) => s.cpuPerSiteMs)} |` +
        ` ${ratio(fetch, (s) => s.cpuPerSiteMs)} | ${ratio(engine, (s) => s.peakRssMb)} | ${ratio(cli, (s) => s.peakRssMb)} |` +
        ` ${ratio(fetch, (s) => s.peakRssMb)} |`,
    );
  }
  if (!summaries.some((s) => s.kind === 'aiohttp'))
    push('| — | — | — | aiohttp peer not run | | | | | | | | |');
  for (const c of unique(summaries.filter((s) => s.benchCase.decompose).map((s) => s.benchCase))) {
    const at = (kind: ClientKind): Summary | undefined =>
      find(summaries, c.n, c.latencyMs, c.concurrency, kind);
    const steps: readonly [ClientKind, string][] = [
      [
        'tls-floor',
        "`tls.connect` + one hand-written request: handshake, certificate checks (Node's default host-name check, on the detailed chain), sockets",
      ],
      ['node-https', "+ Node's own HTTP client (`http.request`, llhttp), as the engine uses it"],
      [
        'engine',
        '+ the engine: canary, timeouts, classification, retries armed, confirmations logged 100 to a line, ledger; − the chain: its host-name check reads the leaf certificate only',
      ],
      [
        'undici-fleet',
        'bare undici through a one-shot Agent shaped like the fleet connector (one TLS context, no keep-alive)',
      ],
      ['undici', 'bare undici through a default Agent (new TLS context per site, keep-alive)'],
      ['fetch', 'bare global fetch'],
      ['cli', 'the CLI as a user runs it, process start included'],
      ['aiohttp', 'the aiohttp peer'],
    ];
    const peer = at('aiohttp');
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
      ...(peer === undefined ? [] : [`| 0.9 × aiohttp peer | the target | ${f2(0.9 * peer.cpuPerSiteMs)} |`]),
    );
  }
  push(
    '',
    '## Cold start of the bundled handler',
    '',
    '`lambda/handler.ts` bundled as the CDK construct does (esbuild: everything bundled, minified, CJS, platform' +
      ' node, target node20, ES module builds first, external source map without sources), then required by fresh' +
      " `node -e` processes with the construct's environment (placeholder values); medians of" +
      ` ${coldStart.runs} runs per row, interleaved. The bundle size counts \`index.js\` only (the source map is` +
      " read only with source maps on). Building the fleet connector at module scope loads Node's root" +
      ' certificate store: the first AWS call of an invocation would load it otherwise.',
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
    "## The CLI's start",
    '',
    `\`node bin/stripe-key-rotator.js --help\` as a user runs it, spawn to exit: median ${f0(input.cliHelp.medianMs)} ms` +
      ` over ${input.cliHelp.runs} runs (\`node -e\` alone: ${f0(coldStart.emptyNode.processMs)} ms). The CLI rows above` +
      ' include the same start.',
    '',
    "## The host-name check's certificate",
    '',
    "CPU per connection of the certificate object Node's TLS client builds for its host-name check: the" +
      ' detailed one it asks for (every issuer as JS objects, with DER and digests) and the leaf alone, which the' +
      ' fleet connector hands it instead (bench/peer-certificate.ts: one loopback connection, an ECDSA P-256 leaf' +
      ` and its CA, ${input.peerCertificate[0]?.calls ?? 0} calls per round, median of 5 rounds).`,
    '',
    '| Node | detailed certificate µs | leaf only µs | saved per connection µs |',
    '| --- | ---: | ---: | ---: |',
    ...input.peerCertificate.map(
      (cost) =>
        `| ${cost.node} | ${f0(cost.detailedUs)} | ${f0(cost.leafUs)} | ${f0(cost.detailedUs - cost.leafUs)} |`,
    ),
    '',
    '## The package',
    '',
    `\`npm pack\`: a ${f0(input.packageSize.tarballBytes / 1024)} KiB tarball of ${input.packageSize.files} files; installed` +
      ` with \`--omit=dev\` it adds ${f0(input.packageSize.unpackedBytes / 1024)} KiB and no dependency of its own` +
      ' (`aws-cdk-lib` and `constructs` are peers the consumer already has). scripts/check-package.sh installs it' +
      ' into an empty directory and synthesizes examples/consumer-app from it.',
    '',
  );
  return `${lines.join('\n')}\n`;
}
