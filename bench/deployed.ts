/**
 * The rotation as deployed: the bundled rotation handler (scripts/build.ts, the build the construct deploys)
 * runs the four steps of a rotation in its own `node` process, through the real Secrets Manager, SSM and
 * DynamoDB adapters against moto (Secrets Manager, SSM) and dynalite (DynamoDB), pushing to a fleet of named
 * sites (sim/wildcard-fleet.ts) that a stand-in resolver preloaded into the process answers
 * (sim/sites-resolver-preload.ts): no lookup leaves the machine. The process runs in a cgroup-v1 CPU quota of
 * Lambda's share for each memory size (memory / 1,769 of one core), and reports each step's wall time, CPU
 * and peak RSS; a counting proxy between the handler and the emulators counts the AWS calls. The same rotation with the in-memory ledger (the handler built with it, at one core)
 * gives the DynamoDB ledger's share of the CPU. Writes deployed.md and deployed.svg, or with any option
 * other than the full grid, the same into bench/.cache/results/.
 *
 * `npm --prefix bench run deployed -- [--sizes 512,1024] [--sites 1000,5000] [--latency 100]`
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { cpus, loadavg, setPriority, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { build } from 'esbuild';
import { bundleHandler, REPO_ROOT } from '../scripts/build.js';
import { startStripeStub } from '../sim/stripe-stub.js';
import { startWildcardFleet } from '../sim/wildcard-fleet.js';
import {
  createLedgerTable,
  motoClientConfig,
  motoClients,
  startMoto,
  startMotoRotation,
} from '../test/support/moto.js';
import { cpuGroup, cpuQuotaCores, removeGroup } from './cpu-quota.js';
import { renderDeployedChart } from './deployed-chart.js';
import {
  LAMBDA_PRICES,
  type Point,
  renderDeployedReport,
  STEPS,
  type StepFigures,
} from './deployed-report.js';
import { BENCH_CACHE, benchSecrets, machineCpu, resultsDir, scratchDir, track } from './processes.js';

/** The largest fleet first: the one the default memory size is chosen by, should the grid be cut short. */
const FULL = { sizes: [512, 1024, 1769, 3008], sites: [10000, 5000, 1000] } as const;
const TIMEOUT_MS = 900_000;
/** Spreads the handler's connections over this many loopback addresses' worth of ephemeral ports. */
const FLEET_ADDRESSES = 8;
/** Every point as it is measured, so an interrupted grid still leaves its points (`--render`). */
const POINTS_FILE = join(BENCH_CACHE, 'deployed-points.json');
/** Niceness of this process and its children (moto, the handler). */
const PRIORITY = -5;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string' },
    sites: { type: 'string' },
    latency: { type: 'string', default: '100' },
    'ledger-at': { type: 'string', default: '1769' },
    help: { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.error(
    'npm --prefix bench run deployed -- [--sizes 512,1024,1769,3008] [--sites 1000,5000,10000] [--latency 100] [--ledger-at 1769 | none] [--render: the saved points again]',
  );
  process.exit(0);
}
const list = (text: string | undefined, fallback: readonly number[]) =>
  text === undefined ? [...fallback] : text.split(',').map(Number);
const sizes = list(values.sizes, FULL.sizes);
const siteCounts = list(values.sites, FULL.sites);
const latencyMs = Number(values.latency);
const ledgerAt = values['ledger-at'] === 'none' ? undefined : Number(values['ledger-at']);
const sameSet = (a: readonly number[], b: readonly number[]) =>
  [...a].sort((x, y) => x - y).join() === [...b].sort((x, y) => x - y).join();
const partial = !sameSet(sizes, FULL.sizes) || !sameSet(siteCounts, FULL.sites) || latencyMs !== 100;

const scratch = scratchDir('bench-deployed-');

/** The driver: loads the bundle (the cold start), then runs the four steps as Lambda would invoke them. */
const DRIVER = `
const t0 = performance.now(); const c0 = process.cpuUsage();
const { handler } = require(process.env.BENCH_BUNDLE);
const cpu = (c) => (c.user + c.system) / 1000;
const rss = () => (process.resourceUsage().maxRSS * 1024) / 1e6;
process.send({ type: 'init', wallMs: performance.now() - t0, cpuMs: cpu(process.cpuUsage(c0)), peakRssMb: rss() });
const event = (Step) => ({ Step, SecretId: process.env.BENCH_SECRET_ARN, ClientRequestToken: process.env.BENCH_TOKEN });
(async () => {
  for (const step of ${JSON.stringify(STEPS)}) {
    const started = performance.now(); const c = process.cpuUsage();
    await handler(event(step), { getRemainingTimeInMillis: () => ${TIMEOUT_MS} - (performance.now() - started) });
    await new Promise((resolve) => process.send({ type: 'step', step, wallMs: performance.now() - started,
      cpuMs: cpu(process.cpuUsage(c)), peakRssMb: rss() }, resolve));
  }
})().then(() => process.disconnect(), (error) => { console.error('FAILED ' + error.name + ': ' + error.message); process.exit(1); });
`;

async function bundles(): Promise<{
  deployed: string;
  memoryLedger: string;
  preload: string;
  driver: string;
}> {
  const deployed = await bundleHandler(join(scratch, 'deployed'));
  const memoryLedger = await bundleHandler(join(scratch, 'memory-ledger'), {
    entryPoints: [join(REPO_ROOT, 'bench', 'deployed-memory-ledger.ts')],
  });
  const preload = join(scratch, 'sites-resolver.mjs');
  await build({
    entryPoints: [join(REPO_ROOT, 'sim', 'sites-resolver-preload.ts')],
    outfile: preload,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
  });
  const driver = join(scratch, 'driver.cjs');
  writeFileSync(driver, DRIVER);
  return { deployed, memoryLedger, preload, driver };
}

/**
 * DynamoDB played by dynalite (in memory, its own process): moto's Query of a 5,000-site rotation's items
 * outlasted the function's 15 s AWS call deadline on this machine, and moto slows down with every item it
 * holds; dynalite answers every call the ledger makes (GetItem, PutItem, UpdateItem, Query, BatchWriteItem).
 */
async function startDynalite(): Promise<{ endpoint: string }> {
  const cli = join(REPO_ROOT, 'bench', 'node_modules', 'dynalite', 'cli.js');
  const child = track(
    spawn(process.execPath, [cli, '--host', '127.0.0.1', '--port', '0', '--createTableMs', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const found = /listening at: https?:\/\/[^:]+:(\d+)/.exec(out);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`dynalite exited (${code}): ${out}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}` };
}

/** Counts the AWS calls (by X-Amz-Target) on their way to moto, DynamoDB's to dynalite. */
async function countingProxy(target: string, dynamodbTarget: string) {
  const counts = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const operation = String(req.headers['x-amz-target'] ?? `${req.method} ${req.url}`);
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    const upstream = new URL(operation.startsWith('DynamoDB_') ? dynamodbTarget : target);
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    take(): Record<string, number> {
      const taken = Object.fromEntries(counts);
      counts.clear();
      return taken;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  // The stand-ins for AWS and the sites (moto, this process) and the handler (capped by its quota anyway)
  // inherit a slightly higher priority than the machine's other work: AWS and real sites are not starved by
  // the function's neighbours.
  setPriority(PRIORITY);
  const built = await bundles();
  const moto = await startMoto();
  const dynalite = await startDynalite();
  const proxy = await countingProxy(moto.endpoint, dynalite.endpoint);
  const clients = motoClients(moto);
  const dynamodb = new DynamoDBClient({ ...motoClientConfig(moto), endpoint: dynalite.endpoint });
  const { masterApiKey } = benchSecrets();
  const fleet = await startWildcardFleet({
    size: Math.max(...siteCounts),
    masterApiKey,
    addresses: { first: '127.0.61.1', count: FLEET_ADDRESSES },
    latencyMs,
  });
  const stripe = await startStripeStub(await fleet.ca.issue({ ips: ['127.0.0.1'] }));
  const caFile = join(scratch, 'ca.pem');
  writeFileSync(caFile, fleet.caPem);

  // One site list per N: standard-tier parameters (at most 4 KB each) under a path, as docs/sizing.md counts them.
  for (const n of siteCounts) {
    let chunk: string[] = [];
    let part = 0;
    const flush = async () => {
      await clients.ssm.send(
        new PutParameterCommand({
          Name: `/bench/${n}/sites-${String(part).padStart(4, '0')}`,
          Type: 'String',
          Value: chunk.join('\n'),
          Overwrite: true,
        }),
      );
      part += 1;
      chunk = [];
    };
    for (const url of fleet.urls.slice(0, n)) {
      if (chunk.join('\n').length + url.length + 1 > 4096) await flush();
      chunk.push(url);
    }
    if (chunk.length > 0) await flush();
  }

  const points: Point[] = [];
  const skipped: string[] = [];
  let run = 0;
  const runOne = async (memoryMb: number, sites: number, ledger: 'dynamodb' | 'memory'): Promise<void> => {
    run += 1;
    const current = benchSecrets().key;
    const next = benchSecrets().key;
    stripe.keys.set(current, { account: 'acct_1Bench', livemode: false });
    stripe.keys.set(next, { account: 'acct_1Bench', livemode: false });
    const create = async (name: string, value: string) =>
      (
        await clients.sm.send(
          new CreateSecretCommand({ Name: `/bench/run-${run}/${name}`, SecretString: value }),
        )
      ).ARN ?? '';
    const arn = await create('secret-key', current);
    const staged = await create('staged-key', next);
    const master = await create('master-api-key', masterApiKey);
    const token = await startMotoRotation(clients.sm, arn);
    const table = await createLedgerTable(dynamodb, `bench-ledger-${run}`, { timeToLive: false });
    fleet.reset();
    proxy.take();

    const cores = cpuQuotaCores(memoryMb, cpus().length);
    const group = cpuGroup(`bench-deployed-${process.pid}-${run}`, cores);
    if (group.why !== undefined && !skipped.includes(group.why)) skipped.push(group.why);
    const bundle = ledger === 'memory' ? built.memoryLedger : built.deployed;
    const node = `${JSON.stringify(process.execPath)} --import ${JSON.stringify(built.preload)} ${JSON.stringify(built.driver)}`;
    const command =
      group.path === undefined ? `exec ${node}` : `echo $$ > ${group.path}/cgroup.procs && exec ${node}`;
    const machineBefore = machineCpu().busy;
    const child: ChildProcess = track(
      spawn('sh', ['-c', command], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        env: {
          PATH: process.env.PATH ?? '',
          ...moto.env,
          AWS_ENDPOINT_URL: proxy.endpoint,
          NODE_EXTRA_CA_CERTS: caFile,
          SIM_SITES_ADDRESSES: fleet.addresses.join(','),
          BENCH_BUNDLE: bundle,
          BENCH_SECRET_ARN: arn,
          BENCH_TOKEN: token,
          STAGED_SECRET_ARN: staged,
          MASTER_API_KEY_SECRET_ARN: master,
          SITES_PARAMETER: `/bench/${sites}/`,
          LEDGER_TABLE: table,
          KEY_MODE: 'test',
          STRIPE_API_BASE: stripe.url,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
        },
      }),
    );
    let logLines = 0;
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) logLines += 1;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    const steps: StepFigures[] = [];
    let init: { wallMs: number; cpuMs: number; peakRssMb: number } | undefined;
    child.on('message', (message: { type: string } & StepFigures) => {
      if (message.type === 'init') init = message;
      else steps.push({ ...message, awsCalls: proxy.take() });
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    removeGroup(group.path);
    const lookups = /sites resolver: answered (\d+), refused (\d+)/.exec(stderr);
    if (code !== 0 || init === undefined || steps.length !== STEPS.length || lookups === null) {
      throw new Error(`the rotation at ${memoryMb} MB, ${sites} sites exited ${code}: ${stderr}`);
    }
    const stored = fleet.storing(next);
    points.push({
      memoryMb,
      sites,
      ledger,
      cores: group.path === undefined ? undefined : cores,
      init,
      steps,
      stored,
      requests: fleet.requests,
      lookups: { answered: Number(lookups[1]), refused: Number(lookups[2]) },
      logLines,
      machineCpuS: machineCpu().busy - machineBefore,
      load: loadavg(),
    });
    mkdirSync(BENCH_CACHE, { recursive: true });
    writeFileSync(POINTS_FILE, JSON.stringify(points));
    const wall = steps.reduce((sum, step) => sum + step.wallMs, 0);
    console.error(
      `${memoryMb} MB, ${sites} sites, ${ledger} ledger: ${(wall / 1000).toFixed(1)} s, ` +
        `${stored}/${sites} stored, load ${loadavg()[0]?.toFixed(2)}`,
    );
  };

  try {
    for (const sites of siteCounts) {
      for (const memoryMb of sizes) await runOne(memoryMb, sites, 'dynamodb');
      if (ledgerAt !== undefined) await runOne(ledgerAt, sites, 'memory');
    }
  } finally {
    clients.destroy();
    dynamodb.destroy();
    await proxy.close();
    await stripe.close();
    await fleet.close();
    await moto.stop();
  }

  writeResults(points, skipped, (performance.now() - started) / 1000);
}

function writeResults(points: readonly Point[], skipped: readonly string[], totalS?: number): void {
  const dir = resultsDir(partial);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'deployed.svg'), renderDeployedChart(points));
  writeFileSync(
    join(dir, 'deployed.md'),
    renderDeployedReport({
      points,
      skipped,
      latencyMs,
      partial,
      command: `npm --prefix bench run deployed -- ${process.argv
        .slice(2)
        .filter((arg) => arg !== '--render')
        .join(' ')}`.trim(),
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGiB: totalmem() / 2 ** 30,
        node: process.version,
      },
      ...(totalS === undefined ? {} : { totalS }),
      prices: LAMBDA_PRICES,
      niceness: PRIORITY,
    }),
  );
  console.error(`wrote ${join(dir, 'deployed.md')} and deployed.svg`);
}

if (values.render) {
  // The points an interrupted or earlier run saved, rendered again (the same options say which grid).
  writeResults(JSON.parse(readFileSync(POINTS_FILE, 'utf8')) as Point[], []);
} else {
  await main();
}
process.exit(0);
