/**
 * The AWS half of the fault campaign. REQUIRES `moto_server` (the AWS emulator) on PATH.
 *
 * Each generated case is a real rotation: the deployed bundle (built as scripts/build.ts builds it) runs in its own
 * `node` process with real SDK clients, talking to moto through a fault proxy (test/support/aws-fault-proxy)
 * and pushing to real HTTPS template sites. During the first run the proxy throttles, fails (500) or resets
 * chosen AWS calls — before or after moto applied them — or kills the process (SIGKILL) at a chosen call,
 * so the rotation stops between any two AWS operations. Then, in half the cases, Secrets Manager's retry
 * runs the four steps again with the same token and no fault; in the other half the operator aborts with
 * the CLI (`abort --force`, as a process) once the ledger shows no step running. Checked on moto and on the
 * sites themselves, never on the ledger alone:
 *
 * 1. A run that succeeded moved AWSCURRENT; once AWSCURRENT moved (a crash may come after the move), every
 *    site holds the new key; until it moved, AWSCURRENT is the old key and every site holds the old or the
 *    new key.
 * 2. After a stopped run, Secrets Manager's retry without faults converges: AWSCURRENT is the new key and
 *    every site holds it.
 * 3. After a stopped run and an abort: AWSCURRENT is what it was, no version but AWSCURRENT carries
 *    AWSPENDING, and every site holds the key in service.
 * 4. No secret (Stripe keys, master key, RotationToken) in any process output or ledger item.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Plugin } from 'esbuild';
import fc from 'fast-check';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger.js';
import { AWSCURRENT, AWSPENDING } from '../../core/ports.js';
import { bundleCli, bundleHandler, REPO_ROOT } from '../../scripts/build.js';
import { hang, templateEndpoint } from '../../sim/site-behaviours.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import {
  AWS_FAULTS,
  type AwsFault,
  type AwsFaultProxy,
  startAwsFaultProxy,
} from '../support/aws-fault-proxy.js';
import {
  createLedgerTable,
  currentSecretValue,
  type MotoClients,
  type MotoServer,
  motoClients,
  secretStages,
  startMoto,
  startMotoRotation,
} from '../support/moto.js';
import { check } from './campaign.js';

const POOL_SITES = 8;
const FIRST_ADDRESS = '127.7.0.1';
/** Secrets Manager's retries of a failed rotation, once the faults are lifted. */
const MAX_RETRIES = 2;
/** Per-process bound: a run that hangs is a finding, not a stuck campaign. */
const RUN_TIMEOUT_MS = 120_000;
/** What `abort` treats as "a step may still be running" is younger than this (cli/commands/abort.ts). */
const AGED_BY_MS = 16 * 60_000;
const LEDGER_TABLE = 'campaign-aws-ledger';

/**
 * Deliberate bugs the campaign must catch, to show it can fail: each rewrites one expression of the sources
 * in a separate build. `abort-restores-confirmed-only` is the defect abort once had: it re-pushed the current
 * key only to sites the ledger shows confirmed, missing a site that stored the pending key while its result
 * was never recorded (the function was killed mid-push).
 */
export const MUTANTS = {
  'abort-restores-confirmed-only': {
    file: 'core/push/site-answer.ts',
    from: "site.status === 'pending' || site.status === 'confirmed' || mayHoldKeySent(site.outcome)",
    to: "site.status === 'confirmed'",
  },
} as const;
export type MutantName = keyof typeof MUTANTS;

function mutation(name: MutantName): Plugin {
  const { file, from, to } = MUTANTS[name];
  const path = join(REPO_ROOT, file);
  return {
    name: `mutant-${name}`,
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path !== path) return undefined;
        const source = await readFile(path, 'utf8');
        if (!source.includes(from)) throw new Error(`mutant ${name}: ${file} no longer contains ${from}`);
        return { contents: source.replace(from, to), loader: 'ts' };
      });
    },
  };
}

/** Faults at one AWS call, repeated on the next `burst − 1` calls (a burst outlasts the SDK's retries). */
export interface AwsFaultPoint {
  /** Where in the first run, in thousandths of its AWS calls (calibrated on a run without faults). */
  readonly at: number;
  readonly fault: AwsFault;
  readonly burst: number;
}

/**
 * A crash while the key is being pushed: the process is killed when a PUT reaches the sites, before that
 * site stored the key or after (its answer then goes nowhere, and its result is never recorded).
 */
export interface SiteCrash {
  /** Which PUT, counted across the case's sites from 0, modulo their number. */
  readonly atRequest: number;
  readonly afterStore: boolean;
}

export interface AwsCase {
  readonly sites: number;
  readonly faults: readonly AwsFaultPoint[];
  readonly crashDuringPush: SiteCrash | null;
  readonly afterFailure: 'retry' | 'abort';
}

export const awsCase: fc.Arbitrary<AwsCase> = fc.record({
  sites: fc.integer({ min: 2, max: POOL_SITES }),
  faults: fc.array(
    fc.record({
      at: fc.integer({ min: 0, max: 999 }),
      fault: fc.constantFrom(...AWS_FAULTS),
      burst: fc.integer({ min: 1, max: 4 }),
    }),
    { minLength: 0, maxLength: 3 },
  ),
  crashDuringPush: fc.option(
    fc.record({ atRequest: fc.integer({ min: 0, max: POOL_SITES - 1 }), afterStore: fc.boolean() }),
    { freq: 3 },
  ),
  afterFailure: fc.constantFrom('retry', 'abort'),
});

export interface AwsCampaignStats {
  cases: number;
  /** AWS calls of a whole rotation without faults (the scale of `at`). */
  callsPerRotation: number;
  /** Calls that actually got each fault. */
  faultsInjected: Record<AwsFault, number>;
  /** Distinct operations (X-Amz-Target) that got a fault. */
  operationsFaulted: Set<string>;
  /** Runs killed while the sites were receiving the key. */
  crashesDuringPush: number;
  finishedFirstRun: number;
  stoppedFirstRun: number;
  convergedAfterRetry: number;
  aborted: number;
}

export function emptyAwsStats(): AwsCampaignStats {
  return {
    cases: 0,
    callsPerRotation: 0,
    faultsInjected: Object.fromEntries(AWS_FAULTS.map((fault) => [fault, 0])) as Record<AwsFault, number>,
    operationsFaulted: new Set(),
    crashesDuringPush: 0,
    finishedFirstRun: 0,
    stoppedFirstRun: 0,
    convergedAfterRetry: 0,
    aborted: 0,
  };
}

/** A fresh Stripe-looking key (never a real one). */
const newKey = (): string => `sk_test_51AwsCampaign${randomBytes(20).toString('hex')}`;

interface ProcessRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

type ProxiedCall = AwsFaultProxy['calls'][number];

/** The campaign's world: moto, the proxy in front of it, one fleet, the bundle driver. */
class AwsWorld {
  private constructor(
    readonly moto: MotoServer,
    readonly proxy: AwsFaultProxy,
    readonly clients: MotoClients,
    readonly fleet: TemplateFleet,
    readonly masterApiKey: string,
    readonly scratch: string,
    readonly driver: string,
    readonly caFile: string,
    readonly cli: string,
  ) {}

  static async start(mutant?: MutantName): Promise<AwsWorld> {
    const moto = await startMoto();
    const proxy = await startAwsFaultProxy(moto.endpoint);
    const clients = motoClients(moto);
    const masterApiKey = `campaign-aws-master-${randomBytes(12).toString('hex')}`;
    const fleet = await startTemplateFleet({
      size: POOL_SITES,
      masterApiKey,
      firstAddress: FIRST_ADDRESS,
      recordRequests: false,
    });
    await createLedgerTable(clients.dynamodb, LEDGER_TABLE);
    const scratch = mkdtempSync(join(tmpdir(), 'skr-aws-campaign-'));
    // Its own builds, as scripts/build.ts makes them (a rebuild of dist/ meanwhile cannot pull them away),
    // the CLI with the mutation when one is asked for.
    const bundle = await bundleHandler(join(scratch, 'handler'));
    await bundleCli(join(scratch, 'cli'), mutant === undefined ? {} : { plugins: [mutation(mutant)] });
    const cli = join(scratch, 'cli', 'main.js');
    const caFile = join(scratch, 'ca.pem');
    writeFileSync(caFile, fleet.caPem);
    // One process per run of the four steps, as a fresh Lambda container; a failed step stops the run.
    const driver = join(scratch, 'drive.cjs');
    writeFileSync(
      driver,
      `const { handler } = require(${JSON.stringify(bundle)});
const [SecretId, ClientRequestToken, RotationToken] = process.argv.slice(2);
(async () => {
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    try {
      await handler({ Step, SecretId, ClientRequestToken, RotationToken }, { getRemainingTimeInMillis: () => 600000 });
    } catch (error) {
      process.stderr.write('campaign: ' + Step + ' failed: ' + error.name + '\\n');
      process.exit(1);
    }
  }
  process.exit(0);
})();
`,
    );
    return new AwsWorld(moto, proxy, clients, fleet, masterApiKey, scratch, driver, caFile, cli);
  }

  /** Runs `node args` with the emulator's environment; `aws` is where its AWS calls go (proxy or moto). */
  run(
    args: readonly string[],
    env: Record<string, string>,
    onSpawn: (kill: () => void) => void = () => undefined,
  ): Promise<ProcessRun> {
    const child = spawn(process.execPath, args, {
      env: {
        PATH: process.env.PATH ?? '',
        ...this.moto.env,
        AWS_EC2_METADATA_DISABLED: 'true',
        NODE_EXTRA_CA_CERTS: this.caFile,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onSpawn(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    return new Promise((resolve) => {
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, output });
      });
    });
  }

  async close(): Promise<void> {
    await this.fleet.close();
    await this.proxy.close();
    this.clients.destroy();
    await this.moto.stop();
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

interface Deployment {
  readonly arn: string;
  readonly masterArn: string;
  readonly env: Record<string, string>;
  readonly urls: readonly string[];
  readonly current: string;
  readonly next: string;
  readonly rotationToken: string;
}

let deployments = 0;

/** Fresh secrets and site list in moto, the sites holding the current key, a rotation started. */
async function deploy(world: AwsWorld, sites: number): Promise<Deployment & { token: string }> {
  deployments += 1;
  const prefix = `/campaign-aws/${deployments}`;
  const { sm, ssm } = world.clients;
  const create = async (name: string, value: string) =>
    (await sm.send(new CreateSecretCommand({ Name: `${prefix}/${name}`, SecretString: value }))).ARN ?? '';
  const current = newKey();
  const next = newKey();
  const arn = await create('secret-key', current);
  const stagedArn = await create('staged-key', next);
  const masterArn = await create('master-api-key', world.masterApiKey);
  const used = world.fleet.sites.slice(0, sites);
  for (const site of used) site.storedKey = current;
  await ssm.send(
    new PutParameterCommand({
      Name: `${prefix}/sites`,
      Type: 'String',
      Value: `# campaign case ${deployments}\n${used.map((site) => site.url).join('\n')}\n`,
    }),
  );
  const token = await startMotoRotation(sm, arn);
  return {
    arn,
    masterArn,
    token,
    current,
    next,
    urls: used.map((site) => site.url),
    rotationToken: `rotation-token-${randomBytes(16).toString('hex')}`,
    env: {
      STAGED_SECRET_ARN: stagedArn,
      MASTER_API_KEY_SECRET_ARN: masterArn,
      SITES_PARAMETER: `${prefix}/sites`,
      LEDGER_TABLE,
      KEY_MODE: 'test',
      STRIPE_CHECK: 'off',
      SITE_TIMEOUT_MS: '2000',
      CANARY_SITES: '1',
    },
  };
}

/** Kills the process of the run in progress (set when it spawns). */
interface Crash {
  kill: () => void;
}

/** One run of the four steps through the proxy; `decide` faults its calls, `crash` gets its kill switch. */
async function rotationRun(
  world: AwsWorld,
  d: Deployment & { token: string },
  decide?: (index: number) => AwsFault | undefined,
  crash: Crash = { kill: () => undefined },
): Promise<ProcessRun & { readonly calls: readonly ProxiedCall[] }> {
  world.proxy.use(
    decide === undefined ? undefined : { decide: ({ index }) => decide(index), kill: () => crash.kill() },
  );
  try {
    const run = await world.run(
      [world.driver, d.arn, d.token, d.rotationToken],
      { ...d.env, AWS_ENDPOINT_URL: world.proxy.endpoint },
      (killChild) => {
        crash.kill = killChild;
      },
    );
    return { ...run, calls: [...world.proxy.calls] };
  } finally {
    world.proxy.use(undefined);
  }
}

/** The calls of a rotation without faults: the scale the cases' fault points are drawn on. */
async function calibrate(world: AwsWorld): Promise<number> {
  const d = await deploy(world, POOL_SITES);
  let calls = 0;
  const run = await rotationRun(world, d, () => {
    calls += 1;
    return undefined;
  });
  if (run.code !== 0) throw new Error(`the calibration rotation failed:\n${run.output.slice(-2000)}`);
  return calls;
}

const held = (world: AwsWorld, d: Deployment) => d.urls.map((url) => world.fleet.site(url).storedKey);

/** Makes the sites kill the rotation process at the `atRequest`-th PUT they receive (counted across them). */
function crashOnPut(world: AwsWorld, d: Deployment, at: SiteCrash, crash: Crash): void {
  let received = 0;
  for (const url of d.urls) {
    world.fleet.site(url).behave(async (request, site) => {
      received += 1;
      if (received - 1 !== at.atRequest % d.urls.length) return templateEndpoint(request, site);
      if (!at.afterStore) {
        crash.kill();
        return hang()(request, site);
      }
      const reply = await templateEndpoint(request, site);
      crash.kill();
      return reply;
    });
  }
}

/** Runs one case; throws InvariantViolation when the promise is broken. */
export async function runAwsCase(world: AwsWorld, spec: AwsCase, stats: AwsCampaignStats): Promise<void> {
  const d = await deploy(world, spec.sites);
  const { sm, dynamodb } = world.clients;
  const outputs: string[] = [];

  // Fault points on the calibrated scale; a later point at the same call wins.
  const faults = new Map<number, AwsFault>();
  for (const point of spec.faults) {
    const first = Math.floor((point.at / 1000) * stats.callsPerRotation);
    const burst = point.fault.startsWith('kill') ? 1 : point.burst;
    for (let index = first; index < first + burst; index += 1) faults.set(index, point.fault);
  }
  const crash: Crash = { kill: () => undefined };
  if (spec.crashDuringPush !== null) crashOnPut(world, d, spec.crashDuringPush, crash);
  const first = await rotationRun(world, d, (index) => faults.get(index), crash).finally(() => {
    for (const url of d.urls) world.fleet.site(url).restore();
  });
  outputs.push(first.output);
  if (first.signal === 'SIGKILL' && spec.crashDuringPush !== null) stats.crashesDuringPush += 1;
  for (const call of first.calls) {
    if (call.fault === undefined) continue;
    stats.faultsInjected[call.fault] += 1;
    stats.operationsFaulted.add(call.target);
  }

  const stages = await secretStages(sm, d.arn);
  const moved = stages[d.token]?.includes(AWSCURRENT) === true;
  if (first.code === 0) {
    check(moved, () => 'the run succeeded but AWSCURRENT did not move');
    stats.finishedFirstRun += 1;
  } else {
    stats.stoppedFirstRun += 1;
  }
  if (moved) {
    // Also after a crash that came once the label had moved: the retry then only confirms it.
    const missing = d.urls.filter((_, index) => held(world, d)[index] !== d.next);
    check(missing.length === 0, () => `AWSCURRENT moved but ${missing.join(', ')} lack the new key`);
  } else {
    check(
      (await currentSecretValue(sm, d.arn)) === d.current,
      () => 'the run stopped before AWSCURRENT moved, but AWSCURRENT no longer holds the old key',
    );
    const strays = held(world, d).filter((key) => key !== d.current && key !== d.next);
    check(strays.length === 0, () => `${strays.length} sites hold neither the old nor the new key`);
  }

  if (first.code !== 0 && spec.afterFailure === 'retry') {
    let retry: ProcessRun | undefined;
    for (let attempt = 0; attempt < MAX_RETRIES && retry?.code !== 0; attempt += 1) {
      retry = await rotationRun(world, d);
      outputs.push(retry.output);
    }
    check(retry?.code === 0, () => `the retries without faults failed:\n${retry?.output.slice(-1500)}`);
    check(
      (await currentSecretValue(sm, d.arn)) === d.next,
      () => 'after the retry AWSCURRENT is not the new key',
    );
    const behind = d.urls.filter((_, index) => held(world, d)[index] !== d.next);
    check(behind.length === 0, () => `after the retry ${behind.join(', ')} lack the new key`);
    stats.convergedAfterRetry += 1;
  } else if (first.code !== 0) {
    const inService = await currentSecretValue(sm, d.arn);
    await ageRunningSteps(world, d);
    const abort = await world.run(
      [
        world.cli,
        'abort',
        '--secret-id',
        d.arn,
        '--ledger-table',
        LEDGER_TABLE,
        '--master-key-secret-id',
        d.masterArn,
        '--force',
      ],
      { AWS_ENDPOINT_URL: world.moto.endpoint },
    );
    outputs.push(abort.output);
    check(
      abort.code === 0,
      () => `abort exited ${abort.code ?? abort.signal}:\n${abort.output.slice(-1500)}`,
    );
    const after = await secretStages(sm, d.arn);
    const pending = Object.entries(after).filter(
      ([, labels]) => labels.includes(AWSPENDING) && !labels.includes(AWSCURRENT),
    );
    check(
      pending.length === 0,
      () => `after abort AWSPENDING is still on ${pending.map(([id]) => id).join(', ')}`,
    );
    check((await currentSecretValue(sm, d.arn)) === inService, () => 'abort changed AWSCURRENT');
    const behind = d.urls.filter((_, index) => held(world, d)[index] !== inService);
    check(behind.length === 0, () => `after abort ${behind.join(', ')} do not hold the key in service`);
    stats.aborted += 1;
  }

  const items = (await dynamodb.send(new ScanCommand({ TableName: LEDGER_TABLE }))).Items ?? [];
  const text = [...outputs, JSON.stringify(items)];
  for (const [name, value] of Object.entries({
    'the old key': d.current,
    'the new key': d.next,
    'the master key': world.masterApiKey,
    'the RotationToken': d.rotationToken,
  })) {
    const where = text.find((part) => part.includes(value));
    check(where === undefined, () => {
      const at = where?.indexOf(value) ?? 0;
      return `${name} leaked: …${where?.slice(Math.max(0, at - 200), at)}<SECRET>…`;
    });
  }
  stats.cases += 1;
}

/**
 * What 15 minutes of waiting does for an operator: `abort` refuses while the ledger shows a step started
 * less than 15 minutes ago (the function may still be pushing). A killed run leaves its step "running".
 */
async function ageRunningSteps(world: AwsWorld, d: Deployment & { token: string }): Promise<void> {
  const ledger = new DynamoDbLedger({
    client: DynamoDBDocumentClient.from(world.clients.dynamodb),
    tableName: LEDGER_TABLE,
  });
  const id = { secretArn: d.arn, token: d.token };
  const record = await ledger.get(id);
  if (record === undefined) return;
  const aged = new Date(Date.now() - AGED_BY_MS).toISOString();
  for (const [name, mark] of Object.entries(record.steps)) {
    if (mark?.status !== 'running') continue;
    await ledger.update(id, {
      step: { name: name as keyof typeof record.steps, mark: { ...mark, startedAt: aged } },
    });
  }
}

export interface AwsCampaignOptions {
  readonly cases: number;
  readonly seed: number;
  readonly path?: string;
  /** Runs against a deliberately broken build, which must fail the campaign (found, not shrunk). */
  readonly mutant?: MutantName;
  readonly onCase?: (spec: AwsCase, durationMs: number) => void;
}

/** Runs the AWS campaign; throws (with fast-check's seed, path and shrunk case) on the first violation. */
export async function runAwsCampaign(
  options: AwsCampaignOptions,
  stats: AwsCampaignStats = emptyAwsStats(),
): Promise<AwsCampaignStats> {
  const world = await AwsWorld.start(options.mutant);
  try {
    stats.callsPerRotation = await calibrate(world);
    await fc.assert(
      fc.asyncProperty(awsCase, async (spec) => {
        const started = performance.now();
        await runAwsCase(world, spec, stats);
        options.onCase?.(spec, performance.now() - started);
      }),
      {
        numRuns: options.cases,
        seed: options.seed,
        endOnFailure: options.mutant !== undefined,
        ...(options.path === undefined ? {} : { path: options.path }),
      },
    );
  } finally {
    await world.close();
  }
  return stats;
}
