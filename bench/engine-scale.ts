/**
 * The push engine past the site cap: the engine client (client-engine.ts, the Lambda's push with its ledger
 * writes in memory) against sim/wildcard-fleet.ts at N = 5,000 to 50,000 named sites, names answered by
 * sim/sites-resolver.ts (no lookup leaves the machine), in a cgroup-v1 CPU quota of Lambda's share at one
 * memory size. Shows whether CPU per site stays flat and memory bounded as N grows. Writes
 * engine-scale.md, or with other options than the defaults, into bench/.cache/results/.
 *
 * `npm --prefix bench run engine-scale -- [--sites 5000,10000,25000,50000] [--memory 1769] [--latency 100]
 * [--concurrency 100]`
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startWildcardFleet } from '../sim/wildcard-fleet.js';
import { cpuGroup, cpuQuotaCores, removeGroup } from './cpu-quota.js';
import { benchSecrets, bundleClients, machineCpu, resultsDir, runClient } from './processes.js';
import { f0, f1, f2 } from './samples.js';

const DEFAULTS = { sites: '5000,10000,25000,50000', memory: '1769', latency: '100', concurrency: '100' };
const { values } = parseArgs({
  options: {
    sites: { type: 'string', default: DEFAULTS.sites },
    memory: { type: 'string', default: DEFAULTS.memory },
    latency: { type: 'string', default: DEFAULTS.latency },
    concurrency: { type: 'string', default: DEFAULTS.concurrency },
  },
});
const sizes = (values.sites ?? DEFAULTS.sites).split(',').map(Number);
const memoryMb = Number(values.memory);
const latencyMs = Number(values.latency);
const concurrency = Number(values.concurrency);
const partial = (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]).some(
  (key) => values[key] !== DEFAULTS[key],
);

interface Row {
  readonly sites: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakRssMb: number;
  readonly rssBeforeMb: number;
  readonly confirmed: number;
  readonly stored: number;
  readonly machineBusyCores: number;
  readonly load: number;
}

const started = performance.now();
const loadBefore = loadavg();
const secrets = benchSecrets();
const fleet = await startWildcardFleet({
  size: Math.max(...sizes),
  masterApiKey: secrets.masterApiKey,
  addresses: { first: '127.0.62.1', count: 16 },
  latencyMs,
});
const bundles = await bundleClients(fleet.caPem, ['engine']);
const cores = cpuQuotaCores(memoryMb, cpus().length);
const rows: Row[] = [];
const failures: string[] = [];
let quotaNote = `a cgroup-v1 CPU quota of ${f2(cores)} cores (Lambda's share at ${memoryMb} MB)`;
try {
  for (const n of sizes) {
    fleet.reset();
    const group = cpuGroup(`bench-engine-scale-${process.pid}-${n}`, cores);
    if (group.why !== undefined) quotaNote = `no CPU quota: ${group.why}`;
    const busyBefore = machineCpu().busy;
    try {
      const { report } = await runClient(
        bundles,
        'engine',
        {
          urls: fleet.urls.slice(0, n),
          concurrency,
          key: secrets.key,
          masterApiKey: secrets.masterApiKey,
          caPem: fleet.caPem,
          addresses: fleet.addresses,
        },
        16 * 60_000,
        group.path,
      );
      rows.push({
        sites: n,
        wallMs: report.wallMs,
        cpuMs: report.cpuUserMs + report.cpuSystemMs,
        peakRssMb: report.peakRssMb,
        rssBeforeMb: report.rssBeforeMb,
        confirmed: report.confirmed,
        stored: fleet.storing(secrets.key),
        machineBusyCores: (machineCpu().busy - busyBefore) / (report.wallMs / 1000),
        load: loadavg()[0] ?? 0,
      });
      console.error(`${n} sites: ${f1(report.wallMs / 1000)} s, ${f0(report.peakRssMb)} MB`);
    } catch (error) {
      failures.push(`${n} sites: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    } finally {
      removeGroup(group.path);
    }
  }
} finally {
  await fleet.close();
}

const lines = [
  '# The push engine past the site cap',
  '',
  `Written by \`npm --prefix bench run engine-scale${partial ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bench/engine-scale.ts) on ${new Date().toISOString().slice(0, 10)}; the run took ${f0((performance.now() - started) / 1000)} s.`,
  '',
  `- Machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ${f1(totalmem() / 2 ** 30)} GiB; Node ${process.version}. Load average (1/5/15 min) before: ${loadBefore.map((v) => v.toFixed(2)).join(' / ')}; after: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(
      ' / ',
    )}. The machine was shared with other work; "machine busy" is the busy CPU of the whole machine during the push.`,
  `- The engine client (bench/client-engine.ts: \`createFleetPusher\` with a canary, 3 attempts, 10 s per attempt, a Powertools logger, every result saved to the in-memory ledger), bundled and run with plain \`node\` in ${quotaNote}; measured around the push only.`,
  `- Sites: sim/wildcard-fleet.ts, \`site-<n>.sites.test\` under one wildcard certificate on 16 loopback addresses, answering after ${latencyMs} ms, in the orchestrator's process (outside the quota). The engine's fleet connector looks the names up through sim/sites-resolver.ts (\`lookup\` option): nothing reaches the machine's resolver.`,
  `- Concurrency ${concurrency}. CPU is \`process.cpuUsage()\` around the push (every thread); peak RSS is the process's \`maxRSS\`.`,
  '',
  '| sites | wall s | sites/s | CPU s | CPU ms/site | peak RSS MB | RSS before push MB | confirmed / stored | machine busy (cores) | load 1 min |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.sites} | ${f1(r.wallMs / 1000)} | ${f0(r.sites / (r.wallMs / 1000))} | ${f1(r.cpuMs / 1000)} | ${f2(r.cpuMs / r.sites)} | ${f0(r.peakRssMb)} | ${f0(r.rssBeforeMb)} | ${r.confirmed} / ${r.stored} | ${f2(r.machineBusyCores)} | ${f2(r.load)} |`,
  ),
  ...(failures.length === 0 ? [] : ['', ...failures.map((failure) => `- **Not measured**: ${failure}`)]),
  '',
];
const dir = resultsDir(partial);
writeFileSync(join(dir, 'engine-scale.md'), lines.join('\n'));
console.error(`wrote ${join(dir, 'engine-scale.md')}`);
process.exit(0);
