/**
 * `npm run bench:unresolvable`: `push` to fleets whose host names never resolve (`site-N.unresolvable.invalid`,
 * RFC 6761), the CLI exactly as a user runs it and the aiohttp script on the same sites file. Measures peak
 * memory (VmHWM, sampled every 20 ms), spawn → exit, and how long each process lingers after its last line
 * on stdout (the summary). The targets: under 250 MB at 10,000 sites, gone within 2 s of the summary.
 *
 * No lookup leaves the machine: each client runs with a stand-in resolver preloaded (sim/nxdomain-resolver.ts
 * for the CLI, peer-nxdomain.py for the peer) that answers every lookup NXDOMAIN after BENCH_RESOLVER_MS,
 * four at a time as getaddrinfo on libuv's thread pool; each row checks the stand-in answered. The CLI runs
 * with --concurrency 256 --timeout 100ms --canary 0, so that 3 attempts per site end in seconds while lookups
 * pile up behind those four threads: the case where a lookup outliving its attempt could keep a dead socket,
 * and the process, alive. The peer runs with --concurrency 256 and its own 10 s total timeout, and is stopped
 * at PEER_LIMIT_MS (the table says so).
 *
 * Writes bench/unresolvable.md and bench/unresolvable.svg (a partial run, BENCH_UNRESOLVABLE_SIZES=… or
 * BENCH_RESOLVER_MS=…, writes to bench/.cache/results/ instead).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { REPO_ROOT } from '../scripts/build.js';
import { childEnv, type Finished, preparePeer, runMeasured } from './process-clients.js';
import { BENCH_DIR, benchSecrets, resultsDir, scratchDir } from './processes.js';
import { machineDescription } from './report.js';

const SIZES = (process.env.BENCH_UNRESOLVABLE_SIZES ?? '1000,2000,5000,10000').split(',').map(Number);
const PEER_SIZES = new Set([1000, 2000]);
const CLI_LIMIT_MS = 180_000;
const PEER_LIMIT_MS = 90_000;
const TARGET_RSS_MB = 250;
const TARGET_LINGER_MS = 2_000;
/** How long the stand-in resolver takes to answer NXDOMAIN: a local caching resolver's answer by default. */
const RESOLVER_MS = Number(process.env.BENCH_RESOLVER_MS ?? 1);
/** What the stand-in resolvers write on stderr as the process exits. */
const PEER_NXDOMAIN = join(BENCH_DIR, 'peer-nxdomain.py');
const RESOLVER_REPORT = /sim resolver: lookups answered ENOTFOUND: (\d+)/;

interface Row {
  readonly client: 'cli' | 'aiohttp';
  readonly sites: number;
  readonly finished: Finished;
  /** What the client's summary says, or why there is none. */
  readonly outcome: string;
}

function sitesFile(size: number): string {
  const file = join(scratchDir('bench-unresolvable-'), 'sites.txt');
  const lines = Array.from({ length: size }, (_, i) => `https://site-${i}.unresolvable.invalid`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** The CLI's stand-in resolver as one plain ES module: the CLI runs as shipped, with no TypeScript loader. */
async function bundleResolver(): Promise<string> {
  const outfile = join(scratchDir('bench-resolver-'), 'nxdomain-resolver.mjs');
  await build({
    entryPoints: [join(REPO_ROOT, 'sim', 'nxdomain-resolver.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
  });
  return outfile;
}

/** The clients' environment: the two keys and the stand-in resolver's answer time. */
function env(secrets: { key: string; masterApiKey: string }): NodeJS.ProcessEnv {
  return childEnv({
    STRIPE_SECRET_KEY: secrets.key,
    TEMPLATE_MASTER_API_KEY: secrets.masterApiKey,
    SIM_RESOLVER_ANSWER_MS: String(RESOLVER_MS),
  });
}

/** How many lookups the stand-in answered, from its line on stderr; 0 when it was not loaded. */
function lookupsAnswered(finished: Finished): number {
  return Number(RESOLVER_REPORT.exec(finished.stderrTail)?.[1] ?? 0);
}

async function runCli(
  size: number,
  file: string,
  secrets: { key: string; masterApiKey: string },
  resolver: string,
): Promise<Row> {
  const finished = await runMeasured(
    process.execPath,
    [
      '--import',
      pathToFileURL(resolver).href,
      join(REPO_ROOT, 'bin', 'stripe-key-rotator.js'),
      'push',
      '--sites-file',
      file,
      '--force',
      '--canary',
      '0',
      '--concurrency',
      '256',
      '--timeout',
      '100ms',
      '--quiet',
    ],
    env(secrets),
    CLI_LIMIT_MS,
  );
  const summary = /(\d+) confirmed, (\d+) failed, (\d+) not attempted/.exec(finished.stdout)?.[0];
  return { client: 'cli', sites: size, finished, outcome: summary ?? `no summary (exit ${finished.code})` };
}

async function runPeer(
  size: number,
  file: string,
  secrets: { key: string; masterApiKey: string },
  peer: Extract<ReturnType<typeof preparePeer>, { available: true }>,
): Promise<Row> {
  const finished = await runMeasured(
    peer.python,
    [PEER_NXDOMAIN, peer.script, '--sites-file', file, '--concurrency', '256'],
    env(secrets),
    PEER_LIMIT_MS,
  );
  const tally = /(\d+)\/(\d+) confirmed/.exec(finished.stdout)?.[0];
  const outcome =
    finished.code === null
      ? `stopped at ${PEER_LIMIT_MS / 1000} s, no summary yet`
      : (tally ?? `no summary (exit ${finished.code})`);
  return { client: 'aiohttp', sites: size, finished, outcome };
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

function render(rows: readonly Row[], peerNote: string): string {
  const machine = machineDescription();
  const lines = [
    '# push to hosts that never resolve',
    '',
    `Generated by \`npm run bench:unresolvable\` on ${new Date().toISOString().slice(0, 10)}, ${machine.cpu} ` +
      `(${machine.cores} cores), Node ${process.versions.node}. Every lookup was answered NXDOMAIN by a stand-in ` +
      `resolver in the client's process after ${RESOLVER_MS} ms (four at a time in Node, as getaddrinfo on ` +
      `libuv's pool; in Python on the threads asyncio resolves on); none reached the machine's resolver. ${peerNote}`,
    '',
    `Targets: peak RSS under ${TARGET_RSS_MB} MB at 10,000 sites; the process gone within ` +
      `${TARGET_LINGER_MS / 1000} s of its summary. Chart: [unresolvable.svg](unresolvable.svg).`,
    '',
    '| client | sites | peak RSS (MB) | spawn → exit (s) | summary → exit (s) | lookups | result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map(({ client, sites, finished, outcome }) => {
      const ended = finished.code !== null;
      const linger = ended ? seconds(finished.wallMs - finished.lastStdoutMs) : '—';
      const lookups = ended ? lookupsAnswered(finished) : '—';
      return `| ${client} | ${sites} | ${mb(finished.peakRssBytes)} | ${seconds(finished.wallMs)} | ${linger} | ${lookups} | ${outcome} |`;
    }),
    '',
    'cli: `push --sites-file F --force --canary 0 --concurrency 256 --timeout 100ms --quiet` (3 attempts per ' +
      'site, as by default). aiohttp: `push_aiohttp.py --sites-file F --concurrency 256` (one attempt, 10 s ' +
      'total timeout per site).',
    '',
  ];
  return lines.join('\n');
}

/** Peak RSS against N, one line per client, the target as a dashed line. */
function chart(rows: readonly Row[]): string {
  const width = 560;
  const height = 320;
  const m = { left: 60, right: 20, top: 30, bottom: 44 };
  const sizes = [...new Set(rows.map((r) => r.sites))].sort((a, b) => a - b);
  const low = Math.log10(Math.min(...sizes) / 1.5);
  const high = Math.log10(Math.max(...sizes) * 1.5);
  const top = Math.max(TARGET_RSS_MB * 1.2, ...rows.map((r) => (r.finished.peakRssBytes / 1e6) * 1.1));
  const x = (n: number): number =>
    m.left + ((Math.log10(n) - low) / (high - low)) * (width - m.left - m.right);
  const y = (value: number): number => height - m.bottom - (value / top) * (height - m.top - m.bottom);
  const colors = { cli: '#2ca02c', aiohttp: '#d62728' } as const;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    '<title>Peak RSS of push against the number of sites that never resolve, for each client</title>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left}" y="18" font-weight="bold">Peak RSS (MB) against sites that never resolve</text>`,
    `<line x1="${m.left}" y1="${y(TARGET_RSS_MB)}" x2="${width - m.right}" y2="${y(TARGET_RSS_MB)}" stroke="#999" stroke-dasharray="5,4"/>`,
    `<text x="${width - m.right - 4}" y="${y(TARGET_RSS_MB) - 4}" text-anchor="end" fill="#666">target ${TARGET_RSS_MB} MB</text>`,
    `<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="black"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="black"/>`,
    ...sizes.map((n) => `<text x="${x(n)}" y="${height - m.bottom + 16}" text-anchor="middle">${n}</text>`),
    `<text x="${(width + m.left) / 2}" y="${height - 8}" text-anchor="middle">sites (log scale)</text>`,
    ...[0, 100, 200, 300, 400, 500, 600, 800, 1000]
      .filter((v) => v <= top)
      .map((v) => `<text x="${m.left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`),
  ];
  (['cli', 'aiohttp'] as const).forEach((client, index) => {
    const points = rows
      .filter((r) => r.client === client)
      .sort((a, b) => a.sites - b.sites)
      .map((r) => [x(r.sites), y(r.finished.peakRssBytes / 1e6)] as const);
    if (points.length === 0) return;
    parts.push(
      `<polyline fill="none" stroke="${colors[client]}" stroke-width="2" points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`,
      ...points.map(
        ([px, py]) => `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${colors[client]}"/>`,
      ),
      `<text x="${m.left + 10 + index * 90}" y="${m.top + 14}" fill="${colors[client]}">■ ${client}</text>`,
    );
  });
  parts.push('</svg>\n');
  return parts.join('\n');
}

async function main(): Promise<void> {
  const secrets = benchSecrets();
  const peer = preparePeer();
  const peerNote = peer.available
    ? `The aiohttp rows run at ${[...PEER_SIZES].join(' and ')} sites only (each bounded by ${PEER_LIMIT_MS / 1000} s).`
    : `The aiohttp rows are skipped: ${peer.reason}.`;
  const resolver = await bundleResolver();
  console.error(`stand-in resolver: NXDOMAIN after ${RESOLVER_MS} ms; ${peerNote}`);
  const rows: Row[] = [];
  for (const size of SIZES) {
    const file = sitesFile(size);
    const runs = [() => runCli(size, file, secrets, resolver)];
    if (peer.available && PEER_SIZES.has(size)) runs.push(() => runPeer(size, file, secrets, peer));
    for (const run of runs) {
      const row = await run();
      rows.push(row);
      console.error(
        `${row.client.padEnd(8)} N=${size}: peak RSS ${mb(row.finished.peakRssBytes)} MB, spawn→exit ` +
          `${seconds(row.finished.wallMs)} s, summary→exit ${seconds(row.finished.wallMs - row.finished.lastStdoutMs)} s, ${row.outcome}`,
      );
    }
  }
  const partial =
    process.env.BENCH_UNRESOLVABLE_SIZES !== undefined || process.env.BENCH_RESOLVER_MS !== undefined;
  const outDir = resultsDir(partial);
  mkdirSync(outDir, { recursive: true });
  const markdown = render(rows, peerNote);
  writeFileSync(join(outDir, 'unresolvable.md'), markdown);
  writeFileSync(join(outDir, 'unresolvable.svg'), chart(rows));
  process.stdout.write(markdown);
  console.error(`written to ${join(outDir, 'unresolvable.md')} and unresolvable.svg`);
  const cli = rows.filter((r) => r.client === 'cli');
  const missed = cli.filter(
    (r) =>
      r.finished.code === null ||
      r.finished.wallMs - r.finished.lastStdoutMs > TARGET_LINGER_MS ||
      (r.sites === 10_000 && r.finished.peakRssBytes / 1e6 >= TARGET_RSS_MB),
  );
  if (missed.length > 0) {
    console.error(`${missed.length} CLI run(s) missed a target (see the table)`);
    process.exitCode = 1;
  }
  // A client that ended without the stand-in's count looked its hosts up somewhere else.
  const unguarded = rows.filter((r) => r.finished.code !== null && lookupsAnswered(r.finished) === 0);
  if (unguarded.length > 0) {
    console.error(`${unguarded.length} run(s) show no lookup answered by the stand-in resolver`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
