/**
 * What bench/deployed.ts measures and how deployed.md shows it: the points, Lambda's CPU share and list
 * prices, the cost of a rotation, and the tables.
 */
import { MB_PER_VCPU } from './cpu-quota.js';
import { f0, f1, f2 } from './samples.js';

export const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type Step = (typeof STEPS)[number];

/** List prices, Arm (the construct's architecture), US East (N. Virginia), first tier: docs/sizing.md. */
export const LAMBDA_PRICES = {
  perGbSecond: 0.0000133334,
  perRequest: 0.2 / 1e6,
  source: 'https://aws.amazon.com/lambda/pricing/',
} as const;

export interface StepFigures {
  readonly step: Step;
  readonly wallMs: number;
  readonly cpuMs: number;
  /** The process's peak so far. */
  readonly peakRssMb: number;
  /** AWS calls by operation (X-Amz-Target). */
  readonly awsCalls: Readonly<Record<string, number>>;
}

export interface Point {
  readonly memoryMb: number;
  readonly sites: number;
  readonly ledger: 'dynamodb' | 'memory';
  /** The CPU quota in cores, or undefined when no cgroup could be made. */
  readonly cores: number | undefined;
  readonly init: { readonly wallMs: number; readonly cpuMs: number; readonly peakRssMb: number };
  readonly steps: readonly StepFigures[];
  readonly stored: number;
  readonly requests: number;
  readonly lookups: { readonly answered: number; readonly refused: number };
  readonly logLines: number;
  /** Busy CPU of the whole machine during the run, all cores, seconds. */
  readonly machineCpuS: number;
  readonly load: readonly number[];
}

/** Billed: the four invocations (1 ms granularity) and one cold start's init, which Lambda bills too. */
export function rotationCost(point: Point): number {
  const billedMs =
    Math.ceil(point.init.wallMs) + point.steps.reduce((sum, step) => sum + Math.ceil(step.wallMs), 0);
  return (
    (billedMs / 1000) * (point.memoryMb / 1024) * LAMBDA_PRICES.perGbSecond +
    STEPS.length * LAMBDA_PRICES.perRequest
  );
}

export const totalWallMs = (point: Point): number => point.steps.reduce((sum, s) => sum + s.wallMs, 0);
export const totalCpuMs = (point: Point): number => point.steps.reduce((sum, s) => sum + s.cpuMs, 0);
export const stepOf = (point: Point, step: Step): StepFigures | undefined =>
  point.steps.find((s) => s.step === step);
const calls = (figures: StepFigures): number =>
  Object.values(figures.awsCalls).reduce((sum, value) => sum + value, 0);

/** Calls per service across the rotation: `DynamoDB 402, SSM 3, Secrets Manager 14`. */
function callsByService(point: Point): string {
  const services = new Map<string, number>();
  for (const step of point.steps) {
    for (const [operation, count] of Object.entries(step.awsCalls)) {
      const prefix = operation.split('.')[0] ?? operation;
      const service = prefix.startsWith('DynamoDB')
        ? 'DynamoDB'
        : prefix === 'AmazonSSM'
          ? 'SSM'
          : prefix === 'secretsmanager'
            ? 'Secrets Manager'
            : prefix;
      services.set(service, (services.get(service) ?? 0) + count);
    }
  }
  return [...services.entries()].map(([service, count]) => `${service} ${count}`).join(', ');
}

function operationsList(point: Point): string {
  const all = new Map<string, number>();
  for (const step of point.steps) {
    for (const [operation, count] of Object.entries(step.awsCalls)) {
      all.set(operation, (all.get(operation) ?? 0) + count);
    }
  }
  return [...all.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([operation, count]) => `${operation.split('.').pop()} ${count}`)
    .join(', ');
}

export interface DeployedReport {
  readonly points: readonly Point[];
  readonly skipped: readonly string[];
  readonly latencyMs: number;
  readonly partial: boolean;
  readonly command: string;
  readonly machine: { cpu: string; cores: number; memoryGiB: number; node: string };
  /** The run's length, unknown when re-rendered from saved points. */
  readonly totalS?: number;
  readonly prices: typeof LAMBDA_PRICES;
  readonly niceness: number;
}

const loadText = (load: readonly number[]) => load.map((value) => value.toFixed(2)).join(' / ');

export function renderDeployedReport(report: DeployedReport): string {
  const loads = report.points.map((p) => p.load[0] ?? 0);
  const deployed = report.points.filter((p) => p.ledger === 'dynamodb');
  const lines: string[] = [
    '# The rotation as deployed',
    '',
    `Written by \`${report.command}\` (bench/deployed.ts) on ${new Date().toISOString().slice(0, 10)}${report.totalS === undefined ? '' : `; the run took ${f0(report.totalS)} s`}.` +
      (report.partial ? ' **A partial grid**: see "The full grid" below.' : ''),
    '',
    '## Machine, load and method',
    '',
    `- ${report.machine.cpu}, ${report.machine.cores} cores, ${f1(report.machine.memoryGiB)} GiB; Node ${report.machine.node} (the Lambda runs Node 24 on Arm: compare sizes within this table, not with Lambda's absolute times).`,
    `- Load: the 1-min load average at the end of the rows ran from ${f2(Math.min(...loads))} to ${f2(Math.max(...loads))} on these ${report.machine.cores} cores (load average 1/5/15 min at the end of the last row: ${loadText(report.points.at(-1)?.load ?? [])}). The machine was shared with other work: each row shows the 1-min load at its end and the busy CPU of the whole machine during it. moto, the fleet and the handler ran at niceness ${report.niceness}, so that the stand-ins for AWS and the sites are not starved by the machine's other work (the handler is held to its quota anyway).`,
    "- **What runs**: the rotation handler bundled by scripts/build.ts (the asset the construct deploys), loaded by a small driver in a fresh `node` process that invokes it four times (createSecret, setSecret, testSecret, finishSecret) as Secrets Manager does, with a 900 s remaining-time clock. It reads the secrets from Secrets Manager, the site list from SSM (standard-tier `String` parameters of at most 4 KB under a path) and writes the DynamoDB ledger, all through the real adapters: Secrets Manager and SSM played by moto, DynamoDB by dynalite (in memory, a table per rotation; moto's Query of a 5,000-site rotation outlasted the function's 15 s AWS call deadline on this machine). It checks the new key against a Stripe stand-in, and pushes with the deployed defaults (concurrency 10, one canary, 3 attempts).",
    `- **The fleet**: sim/wildcard-fleet.ts, HTTPS template sites named \`site-<n>.sites.test\` served by one wildcard certificate on 8 loopback addresses, each answering after ${report.latencyMs} ms, in the orchestrator's process. The handler's process has sim/sites-resolver-preload.ts loaded with \`--import\`: every lookup is answered from the fleet's addresses, none reaches the machine's resolver ("lookups" below counts them).`,
    `- **CPU share**: the handler's process runs in a cgroup-v1 CPU quota of memory / ${MB_PER_VCPU} of one core (period 100 ms), Lambda's share ([Lambda guide](https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html)), capped at the machine's cores. moto (Python), dynalite, the counting proxy and the fleet run outside the quota: their CPU is not in these figures, as AWS's own is not in a Lambda's.`,
    "- **Figures**: wall and CPU (`process.cpuUsage`, every thread) around each invocation; peak RSS is the process's `maxRSS` after the step (it only grows); AWS calls are counted by a proxy between the handler and the emulators, by `X-Amz-Target`. Init is the bundle's `require` (the cold start).",
    `- **Cost**: the four invocations' durations plus one init, billed per ms at the memory size, at ${report.prices.perGbSecond} USD per GB-s and ${report.prices.perRequest * 1e6} USD per million requests (Arm, the construct's architecture; US East, first tier: ${report.prices.source}). Secrets Manager, SSM and DynamoDB requests are priced separately by AWS and not included.`,
  ];
  if (report.skipped.length > 0) {
    lines.push(
      '',
      ...report.skipped.map((why) => `- **No CPU quota**: ${why}; those rows ran on the whole machine.`),
    );
  }
  lines.push(
    '',
    '![Rotation time and cost against memory size, one line per fleet size](deployed.svg)',
    '',
    '## The rotation, per memory size and fleet size',
    '',
    '| sites | memory MB | CPU quota (cores) | rotation wall s | setSecret wall s | CPU s (4 steps) | CPU ms/site | peak RSS MB | AWS calls | cost USD | stored / sites | lookups | machine busy (cores) | load 1 min |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const p of deployed) {
    const wall = totalWallMs(p);
    const set = stepOf(p, 'setSecret');
    lines.push(
      `| ${p.sites} | ${p.memoryMb} | ${p.cores === undefined ? 'none' : f2(p.cores)} | ${f1(wall / 1000)} | ${f1((set?.wallMs ?? 0) / 1000)} | ${f1(totalCpuMs(p) / 1000)} | ${f2(totalCpuMs(p) / p.sites)} | ${f0(p.steps.at(-1)?.peakRssMb ?? 0)} | ${p.steps.reduce((sum, s) => sum + calls(s), 0)} | ${rotationCost(p).toFixed(5)} | ${p.stored} / ${p.sites} | ${p.lookups.answered} | ${f2(p.machineCpuS / (wall / 1000))} | ${f2(p.load[0] ?? 0)} |`,
    );
  }
  lines.push(
    '',
    '## Each step',
    '',
    "Wall s / CPU s / peak RSS MB / AWS calls, per invocation; init is the cold start (the bundle's `require`).",
    '',
    '| sites | memory MB | init | createSecret | setSecret | testSecret | finishSecret |',
    '| ---: | ---: | --- | --- | --- | --- | --- |',
  );
  for (const p of deployed) {
    const cells = STEPS.map((name) => {
      const s = stepOf(p, name);
      return s === undefined
        ? '—'
        : `${f1(s.wallMs / 1000)} / ${f2(s.cpuMs / 1000)} / ${f0(s.peakRssMb)} / ${calls(s)}`;
    });
    lines.push(
      `| ${p.sites} | ${p.memoryMb} | ${f2(p.init.wallMs / 1000)} / ${f2(p.init.cpuMs / 1000)} / ${f0(p.init.peakRssMb)} | ${cells.join(' | ')} |`,
    );
  }
  lines.push(
    '',
    '## AWS calls of one rotation',
    '',
    '| sites | by service | by operation |',
    '| ---: | --- | --- |',
  );
  for (const n of [...new Set(deployed.map((p) => p.sites))]) {
    const p = deployed.find((point) => point.sites === n);
    if (p !== undefined) lines.push(`| ${n} | ${callsByService(p)} | ${operationsList(p)} |`);
  }
  const memory = report.points.filter((p) => p.ledger === 'memory');
  if (memory.length > 0) {
    lines.push(
      '',
      "## The DynamoDB ledger's share of the CPU",
      '',
      'The same rotation, at the same memory size, by the handler built with the in-memory ledger instead of the DynamoDB adapter (bench/deployed-memory-ledger.ts); the difference is what the ledger (its item codec, the batch writer, the SDK calls and their HTTP) costs the function.',
      '',
      '| sites | memory MB | CPU s, DynamoDB ledger | CPU s, in-memory ledger | ledger share of the CPU | setSecret CPU s, DynamoDB / in-memory | setSecret share | rotation wall s, DynamoDB / in-memory |',
      '| ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |',
    );
    for (const m of memory) {
      const d = deployed.find((p) => p.sites === m.sites && p.memoryMb === m.memoryMb);
      if (d === undefined) continue;
      const share = (a: number, b: number) => `${f0((100 * (a - b)) / a)} %`;
      const dSet = stepOf(d, 'setSecret')?.cpuMs ?? 0;
      const mSet = stepOf(m, 'setSecret')?.cpuMs ?? 0;
      lines.push(
        `| ${m.sites} | ${m.memoryMb} | ${f1(totalCpuMs(d) / 1000)} | ${f1(totalCpuMs(m) / 1000)} | ${share(totalCpuMs(d), totalCpuMs(m))} | ${f2(dSet / 1000)} / ${f2(mSet / 1000)} | ${share(dSet, mSet)} | ${f1(totalWallMs(d) / 1000)} / ${f1(totalWallMs(m) / 1000)} |`,
      );
    }
  }
  if (report.partial) {
    lines.push(
      '',
      '## The full grid',
      '',
      '`npm --prefix bench run deployed` (no options) runs N = 1,000, 5,000 and 10,000 at 512, 1,024, 1,769 and 3,008 MB with the ledger comparison at 1,769 MB, and writes bench/deployed.md.',
    );
  }
  return `${lines.join('\n')}\n`;
}
