/**
 * REQUIRES the moto AWS emulator (`moto_server` on PATH): the suite fails, it does not skip, without it.
 *
 * `rotate --wait` and `abort` run as child processes against moto while this test process plays Secrets
 * Manager: moto has no rotation function, so the test drives the four steps through the real handler
 * (pushing to 25 real HTTPS template sites on loopback), exactly as test/emulator/rotation.emulator.test.ts
 * does. The children trust the sites' throwaway CA through NODE_EXTRA_CA_CERTS; everything they print goes
 * through the leak guard.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger.js';
import { fingerprint, maskKey } from '../../core/rules/keys.js';
import { createRotationHandler, type RotationHandler } from '../../lambda/runtime.js';
import { delayed, templateEndpoint } from '../../sim/site-behaviours.js';
import { type StripeStub, startStripeStub } from '../../sim/stripe-stub.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { type CliRun, runCli, scratchDir } from '../integration/cli-harness.js';
import {
  createLedgerTable,
  currentSecretValue,
  type MotoServer,
  motoClients,
  secretStages,
  startMoto,
} from '../support/moto.js';
import { fakeKey, MASTER_API_KEY } from '../support/rotation-fixtures.js';
import { rejection, secret } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'RotAbortCurrent');
const NEXT = fakeKey('test', 'RotAbortNext');
const NOT_IN_MOTO = 'arn:aws:lambda:eu-west-1:123456789012:function:stripe-key-rotator-not-in-moto';
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
const SITES = 25;
const CLI_TIMEOUT_MS = 60_000;

let moto: MotoServer;
let fleet: TemplateFleet;
let stripe: StripeStub;
let sm: SecretsManagerClient;
let ssm: SSMClient;
let dynamodb: DynamoDBClient;
let ledgerTable: string;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let caFile: string;
let deployments = 0;

beforeAll(async () => {
  moto = await startMoto();
  ({ sm, ssm, dynamodb } = motoClients(moto));
  ledgerTable = await createLedgerTable(dynamodb, 'stripe-key-rotator-rotate-abort-ledger');
  fleet = await startTemplateFleet({ size: SITES, masterApiKey: MASTER_API_KEY, firstAddress: '127.0.42.2' });
  stripe = await startStripeStub(await fleet.ca.issue({ ips: ['127.0.0.1'] }));
  for (const key of [CURRENT, NEXT]) stripe.keys.set(key, { account: 'acct_1RotAbort', livemode: false });
  scratch = await scratchDir();
  caFile = await scratch.write('ca.pem', fleet.caPem);
});

afterAll(async () => {
  await stripe?.close();
  await fleet?.close();
  for (const client of [sm, ssm, dynamodb]) client?.destroy();
  await moto?.stop();
  await scratch?.remove();
});

beforeEach(() => {
  for (const site of fleet.sites) {
    site.restore();
    site.masterApiKey = MASTER_API_KEY;
    site.storedKey = undefined;
  }
  fleet.resetStats();
});

interface Deployment {
  readonly arn: string;
  readonly env: Record<string, string>;
  readonly handler: RotationHandler;
}

/**
 * Fresh secrets and site list, with rotation configured on the secret as the stack does it. In moto,
 * configuring it (RotateSecret with a function) also starts a rotation: its AWSPENDING label is removed.
 */
async function deploy(): Promise<Deployment> {
  deployments += 1;
  const prefix = `/stripe/rotate-abort-${deployments}`;
  const create = async (name: string, value: string) =>
    (await sm.send(new CreateSecretCommand({ Name: `${prefix}/${name}`, SecretString: value }))).ARN ?? '';
  const arn = await create('secret-key', CURRENT);
  const stagedArn = await create('staged-key', NEXT);
  const masterArn = await create('master-api-key', MASTER_API_KEY);
  const sitesParameter = `${prefix}/sites`;
  await ssm.send(
    new PutParameterCommand({ Name: sitesParameter, Type: 'String', Value: fleet.urls.join('\n') }),
  );
  await sm
    .send(
      new RotateSecretCommand({
        SecretId: arn,
        RotationLambdaARN: NOT_IN_MOTO,
        RotationRules: { AutomaticallyAfterDays: 30 },
        RotateImmediately: true,
      }),
    )
    .catch((error: unknown) => expect((error as Error).name).toBe('ResourceNotFoundException'));
  await removePending(arn, await pendingVersion(arn));
  const env = {
    STAGED_SECRET_ARN: stagedArn,
    MASTER_API_KEY_SECRET_ARN: masterArn,
    SITES_PARAMETER: sitesParameter,
    LEDGER_TABLE: ledgerTable,
    KEY_MODE: 'test',
  };
  const handler = createRotationHandler(
    { ...env, STRIPE_API_BASE: stripe.url, SITE_TIMEOUT_MS: '2000' },
    {
      ca: fleet.caPem,
      secretsManager: sm,
      ssm,
      dynamodb,
      logger: new Logger({ serviceName: 'rotate-abort-test' }),
    },
  );
  return { arn, env, handler };
}

async function pendingVersion(arn: string): Promise<string | undefined> {
  return Object.entries(await secretStages(sm, arn)).find(
    ([, labels]) => labels.includes('AWSPENDING') && !labels.includes('AWSCURRENT'),
  )?.[0];
}

async function removePending(arn: string, versionId: string | undefined): Promise<void> {
  if (versionId === undefined) throw new Error('no AWSPENDING version');
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: arn,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: versionId,
    }),
  );
}

/** Waits (bounded) for the AWSPENDING version the CLI's RotateSecret creates. */
async function pendingCreatedByCli(arn: string): Promise<string> {
  for (let tries = 0; tries < 200; tries += 1) {
    const token = await pendingVersion(arn);
    if (token !== undefined) return token;
    await sleep(100);
  }
  throw new Error('the CLI did not start a rotation within 20 s');
}

async function step(d: Deployment, token: string, steps: readonly string[]): Promise<void> {
  for (const Step of steps) {
    await d.handler(
      { Step, SecretId: d.arn, ClientRequestToken: token },
      { getRemainingTimeInMillis: () => 600_000 },
    );
  }
}

function cli(command: string, d: Deployment, args: readonly string[] = []): Promise<CliRun> {
  return runCli([command, '--secret-id', d.arn, ...args], {
    env: {
      ...moto.env,
      AWS_EC2_METADATA_DISABLED: 'true',
      NODE_EXTRA_CA_CERTS: caFile,
      ...d.env,
    },
    timeoutMs: CLI_TIMEOUT_MS,
  });
}

const ledger = (): DynamoDbLedger =>
  new DynamoDbLedger({ client: DynamoDBDocumentClient.from(dynamodb), tableName: ledgerTable });

const output = (run: { stdout: string; stderr: string }): string => `${run.stdout}\n${run.stderr}`;

/** Runs createSecret, then a setSecret that fails on site 12 (401): the other 24 take NEXT. */
async function failOnSite12(d: Deployment, token: string): Promise<{ wrongUrl: string }> {
  const wrong = fleet.site(12);
  wrong.masterApiKey = secret('site-12-master-key-is-another-one');
  await step(d, token, ['createSecret']);
  await rejection(step(d, token, ['setSecret']));
  return { wrongUrl: wrong.url };
}

/** A rotation started by RotateSecret whose setSecret failed on site 12 (401): the other 24 took NEXT. */
async function rotationFailedOnOneSite(d: Deployment): Promise<{ token: string; wrongUrl: string }> {
  const started = await cli('rotate', d);
  expect(started.code, output(started)).toBe(0);
  const token = await pendingCreatedByCli(d.arn);
  return { token, ...(await failOnSite12(d, token)) };
}

describe('stripe-key-rotator rotate, against moto', () => {
  it('starts a rotation and prints the new AWSPENDING version id, without --wait', async () => {
    const d = await deploy();

    const run = await cli('rotate', d);

    expect(run.code, output(run)).toBe(0);
    const token = await pendingVersion(d.arn);
    expect(run.stdout).toContain(`Rotation started: version ${token} of ${d.arn}`);
    expect(await currentSecretValue(sm, d.arn)).toBe(CURRENT);
  });

  it('--wait exits 0 once the four steps moved AWSCURRENT to the new version, every site confirmed', async () => {
    const d = await deploy();
    const waiting = cli('rotate', d, ['--wait', '--timeout', '1m']);
    const token = await pendingCreatedByCli(d.arn);

    await step(d, token, STEPS);
    const run = await waiting;

    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toContain(
      `Rotation finished: AWSCURRENT is now version ${token}; ${SITES} of ${SITES} sites confirmed`,
    );
    expect(run.stderr).toMatch(/\d+ confirmed · \d+ failed · \d+ remaining of 25/);
    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
  });

  it('--wait exits 1 naming the failing site when one answers 401, AWSCURRENT untouched', async () => {
    const d = await deploy();
    const waiting = cli('rotate', d, ['--wait', '--timeout', '1m', '--failed-grace', '3s']);
    const token = await pendingCreatedByCli(d.arn);

    const { wrongUrl } = await failOnSite12(d, token);
    const run = await waiting;

    expect(run.code, output(run)).toBe(1);
    expect(run.stdout).toContain('Rotation did not finish: the rotation function recorded a failure');
    expect(run.stdout).toContain('Sites not confirmed (1 of 25)');
    expect(run.stdout).toMatch(new RegExp(`${wrongUrl} +failed: invalid_api_key`));
    expect(run.stderr).toContain('24 confirmed · 1 failed · 0 remaining of 25 (ledger: failed)');
    expect(await currentSecretValue(sm, d.arn)).toBe(CURRENT);
  });

  it('--json prints one document: started, then with --wait the outcome and the unconfirmed sites', async () => {
    const d = await deploy();
    const waiting = cli('rotate', d, ['--wait', '--json', '--timeout', '1m', '--failed-grace', '3s']);
    const token = await pendingCreatedByCli(d.arn);

    const { wrongUrl } = await failOnSite12(d, token);
    const run = await waiting;

    expect(run.code, output(run)).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      started: true,
      secretArn: d.arn,
      versionId: token,
      outcome: 'failed',
      reason: expect.stringContaining('the rotation function recorded a failure'),
      sites: { total: 25, confirmed: 24, failed: 1, remaining: 0 },
      unconfirmed: [
        { site: wrongUrl, status: 'failed', outcome: 'invalid_api_key', detail: expect.any(String) },
      ],
    });
    expect(run.stderr).toContain(`Rotation started: version ${token}`);

    await removePending(d.arn, token);
    const plain = await cli('rotate', d, ['--json']);
    expect(plain.code, output(plain)).toBe(0);
    expect(JSON.parse(plain.stdout)).toEqual({
      started: true,
      secretArn: d.arn,
      versionId: await pendingVersion(d.arn),
    });
    const refused = await cli('rotate', d, ['--json']);
    expect(refused.code, output(refused)).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ started: false, reason: 'rotation_under_way' });
  });

  it('--wait exits 1 when the AWSPENDING label is removed before the rotation finished', async () => {
    const d = await deploy();
    const waiting = cli('rotate', d, ['--wait', '--timeout', '1m']);
    const token = await pendingCreatedByCli(d.arn);

    await step(d, token, ['createSecret']);
    await removePending(d.arn, token);
    const run = await waiting;

    expect(run.code, output(run)).toBe(1);
    expect(run.stdout).toContain(`version ${token} no longer carries AWSPENDING`);
    expect(run.stdout).toContain('AWSCURRENT has not moved');
    expect(await currentSecretValue(sm, d.arn)).toBe(CURRENT);
  });

  it('refuses to start while a rotation is stuck, pointing to status and abort as commands to paste, and leaves the labels alone', async () => {
    const d = await deploy();
    const { token } = await rotationFailedOnOneSite(d);

    const run = await cli('rotate', d, ['--region', 'eu-west-1']);

    expect(run.code, output(run)).toBe(1);
    expect(run.stderr).toContain(`Not started: version ${token} of ${d.arn} is labelled AWSPENDING`);
    const selector = `--secret-id ${d.arn} --region eu-west-1`;
    expect(run.stderr).toContain(`Follow it with 'stripe-key-rotator status ${selector}'`);
    expect(run.stderr).toContain(`clear it with 'stripe-key-rotator abort ${selector}'`);
    expect(run.stderr).not.toContain('InvalidRequestException');
    expect(await pendingVersion(d.arn)).toBe(token);
  });

  it('--wait stops following at Ctrl-C: exit 130, the rotation left running in AWS, status named', async () => {
    const d = await deploy();

    // moto never invokes the function: the rotation stays AWSPENDING and --wait would poll until its timeout.
    const run = await runCli(['rotate', '--secret-id', d.arn, '--wait'], {
      env: { ...moto.env, AWS_EC2_METADATA_DISABLED: 'true', NODE_EXTRA_CA_CERTS: caFile, ...d.env },
      timeoutMs: CLI_TIMEOUT_MS,
      interrupt: { signal: 'SIGINT', when: ({ stdout }) => stdout.includes('Rotation started') },
    });

    expect(run.code, output(run)).toBe(130);
    expect(run.stdout).toContain('Interrupted (SIGINT): stopped following. The rotation of version');
    expect(run.stdout).toContain(`'stripe-key-rotator status --secret-id ${d.arn}' shows where it stands`);
    const token = /version (\S+) of/.exec(run.stdout)?.[1];
    expect(token).toBeDefined();
    expect(await pendingVersion(d.arn)).toBe(token);
    await removePending(d.arn, token);
  });

  it('exits 2 when the secret has no rotation function configured', async () => {
    const d = await deploy();
    const bare = (
      await sm.send(
        new CreateSecretCommand({ Name: `${d.arn.split(':').pop()}-bare`, SecretString: CURRENT }),
      )
    ).ARN;

    const run = await runCli(['rotate', '--secret-id', bare ?? ''], {
      env: { ...moto.env, AWS_EC2_METADATA_DISABLED: 'true' },
      timeoutMs: CLI_TIMEOUT_MS,
    });

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('has no rotation function configured');
  });
});

describe('stripe-key-rotator abort, against moto', () => {
  it('re-pushes the current key to the 24 sites that took the pending one, removes AWSPENDING, and a new rotation is accepted', async () => {
    const d = await deploy();
    const { token, wrongUrl } = await rotationFailedOnOneSite(d);
    fleet.resetStats();

    const run = await cli('abort', d, ['--force']);

    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toContain(`Stuck rotation: version ${token} of ${d.arn} is labelled AWSPENDING`);
    expect(run.stdout).toContain('Sites that took or may hold the pending key (24)');
    expect(run.stdout).toContain('AWSPENDING was removed');
    for (const site of fleet.sites) {
      if (site.url === wrongUrl) {
        expect(site.requestCount).toBe(0);
      } else {
        expect(site.requestCount).toBe(1);
        expect(site.storedKey).toBe(CURRENT);
      }
    }
    expect(await pendingVersion(d.arn)).toBeUndefined();
    expect(await currentSecretValue(sm, d.arn)).toBe(CURRENT);
    // The ledger now shows those sites holding the current key, so `status` does not flag them.
    const holdings = await ledger().fleet(d.arn);
    const others = fleet.urls.filter((url) => url !== wrongUrl);
    expect(
      holdings
        .filter((h) => h.keyFingerprint === fingerprint(CURRENT))
        .map((h) => h.site)
        .sort(),
    ).toEqual(others.sort());
    // moto's inverted in-progress check accepts a new rotation only once the label is gone.
    const again = await cli('rotate', d);
    expect(again.code, output(again)).toBe(0);
    expect(await pendingVersion(d.arn)).not.toBe(token);
  });

  it('--json prints one document with every re-pushed site, and says when there is nothing to abort', async () => {
    const d = await deploy();
    const { token, wrongUrl } = await rotationFailedOnOneSite(d);

    const run = await cli('abort', d, ['--force', '--json']);

    expect(run.code, output(run)).toBe(0);
    const document = JSON.parse(run.stdout) as {
      sites: string[];
      results: { site: string; outcome: string }[];
    };
    expect(document).toMatchObject({ aborted: true, secretArn: d.arn, pendingVersionId: token });
    const others = fleet.urls.filter((url) => url !== wrongUrl).sort();
    expect([...document.sites].sort()).toEqual(others);
    expect(document.results.map((r) => r.site).sort()).toEqual(others);
    expect(document.results.every((r) => r.outcome === 'confirmed')).toBe(true);
    expect(run.stderr).toContain('Sites that took or may hold the pending key (24)');

    const again = await cli('abort', d, ['--force', '--json']);
    expect(again.code, output(again)).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      aborted: false,
      reason: 'no_stuck_rotation',
      secretArn: d.arn,
    });
  });

  it('puts the current key back on a site whose answer never came (it stored the pending key), and records the abort', async () => {
    const d = await deploy();
    const started = await cli('rotate', d);
    expect(started.code, output(started)).toBe(0);
    const token = await pendingCreatedByCli(d.arn);
    const silent = fleet.site(5);
    // Stores the key, then never answers: the rotation records a timeout, not a confirmation.
    silent.behave(async (request, site) => {
      await templateEndpoint(request, site);
      return { kind: 'hang' };
    });
    await step(d, token, ['createSecret']);
    await rejection(step(d, token, ['setSecret']));
    expect(silent.storedKey).toBe(NEXT);
    silent.restore();

    const run = await cli('abort', d, ['--force']);

    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toContain(`Sites that took or may hold the pending key (${SITES})`);
    for (const site of fleet.sites) expect(site.storedKey).toBe(CURRENT);
    expect(await pendingVersion(d.arn)).toBeUndefined();
    expect((await ledger().get({ secretArn: d.arn, token }))?.outcome).toBe('aborted');
  });

  it('puts the current key back on a site with no result recorded (the function was killed mid-push after it stored the pending key)', async () => {
    const d = await deploy();
    const started = await cli('rotate', d);
    expect(started.code, output(started)).toBe(0);
    const token = await pendingCreatedByCli(d.arn);
    await step(d, token, ['createSecret']);
    // What a kill -9 during setSecret leaves: the start record and its snapshot, no site result written
    // (answers in flight, results still buffered), and a site that stored the pending key meanwhile.
    await ledger().begin({
      secretArn: d.arn,
      token,
      trigger: 'staged',
      maskedKey: maskKey(NEXT),
      keyFingerprint: fingerprint(NEXT),
      sites: fleet.urls,
      sources: [],
    });
    const stored = fleet.site(7);
    stored.storedKey = NEXT;

    const run = await cli('abort', d, ['--force']);

    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toContain(`Sites that took or may hold the pending key (${SITES})`);
    expect(stored.storedKey).toBe(CURRENT);
    for (const site of fleet.sites) expect(site.storedKey).toBe(CURRENT);
    expect(await pendingVersion(d.arn)).toBeUndefined();
    expect((await ledger().get({ secretArn: d.arn, token }))?.outcome).toBe('aborted');
  });

  it('keeps AWSPENDING and exits 1 when a site does not confirm the current key', async () => {
    const d = await deploy();
    const { token } = await rotationFailedOnOneSite(d);
    const refusing = fleet.site(3);
    refusing.masterApiKey = secret('site-3-master-key-changed-since');

    const run = await cli('abort', d, ['--force']);

    expect(run.code, output(run)).toBe(1);
    expect(run.stdout).toContain(`${refusing.url}: invalid_api_key`);
    expect(run.stdout).toContain(`AWSPENDING is kept on version ${token}`);
    expect(await pendingVersion(d.arn)).toBe(token);
    // The sites that confirmed the current key are recorded holding it; the refusing one still the pending key.
    const held = new Map((await ledger().fleet(d.arn)).map((h) => [h.site, h.keyFingerprint]));
    expect(held.get(refusing.url)).toBe(fingerprint(NEXT));
    expect(held.get(fleet.site(4).url)).toBe(fingerprint(CURRENT));
  });

  it('at Ctrl-C stops re-pushing, records the sites that confirmed, keeps AWSPENDING and exits 130', async () => {
    const d = await deploy();
    const { token, wrongUrl } = await rotationFailedOnOneSite(d);
    // Slow sites, two at a time: the interrupt comes with most of the 24 sites not yet contacted.
    for (const site of fleet.sites) site.behave(delayed(600));

    const run = await runCli(['abort', '--secret-id', d.arn, '--force', '--concurrency', '2'], {
      env: { ...moto.env, AWS_EC2_METADATA_DISABLED: 'true', NODE_EXTRA_CA_CERTS: caFile, ...d.env },
      timeoutMs: CLI_TIMEOUT_MS,
      interrupt: {
        signal: 'SIGINT',
        when: ({ stderr }) => /\[ *[3-9]\/24\]/.test(stderr),
      },
    });

    expect(run.code, output(run)).toBe(130);
    const reported = /Interrupted \(SIGINT\): (\d+) of 24 sites confirmed the current key again/.exec(
      run.stdout,
    );
    expect(reported, output(run)).not.toBeNull();
    const restored = fleet.sites.filter((site) => site.storedKey === CURRENT).map((site) => site.url);
    // Exactly the sites reported hold the current key again: requests in flight were waited for.
    expect(restored).toHaveLength(Number(reported?.[1]));
    expect(restored.length).toBeGreaterThan(0);
    expect(restored.length).toBeLessThan(24);
    expect(fleet.sites.filter((site) => site.url !== wrongUrl && site.storedKey === NEXT).length).toBe(
      24 - restored.length,
    );
    expect(run.stdout).toContain(`AWSPENDING is kept on version ${token}`);
    expect(await pendingVersion(d.arn)).toBe(token);
    const held = new Map((await ledger().fleet(d.arn)).map((h) => [h.site, h.keyFingerprint]));
    for (const url of restored) expect(held.get(url)).toBe(fingerprint(CURRENT));

    // Run again: it finishes the job.
    for (const site of fleet.sites) site.restore();
    const again = await cli('abort', d, ['--force']);
    expect(again.code, output(again)).toBe(0);
    expect(
      fleet.sites.filter((site) => site.url !== wrongUrl).every((site) => site.storedKey === CURRENT),
    ).toBe(true);
    expect(await pendingVersion(d.arn)).toBeUndefined();
  });

  it('at Ctrl-C with answers that never come in time, lists the sites in flight as unknown and the others as interrupted (--json)', async () => {
    const d = await deploy();
    const { token } = await rotationFailedOnOneSite(d);
    // Slower than the interrupt's grace period: the two requests in flight at the signal never answer in time.
    for (const site of fleet.sites) site.behave(delayed(9_000));
    fleet.resetStats();

    const run = await runCli(['abort', '--secret-id', d.arn, '--force', '--concurrency', '2', '--json'], {
      env: { ...moto.env, AWS_EC2_METADATA_DISABLED: 'true', NODE_EXTRA_CA_CERTS: caFile, ...d.env },
      timeoutMs: CLI_TIMEOUT_MS,
      interrupt: { signal: 'SIGINT', when: () => fleet.requestCount >= 2 },
    });

    expect(run.code, output(run)).toBe(130);
    const document = JSON.parse(run.stdout) as {
      interrupted: string;
      sites: readonly string[];
      results: readonly { site: string; outcome: string; detail: string | null }[];
    };
    expect(document.interrupted).toBe('SIGINT');
    const inFlight = fleet.sites.filter((site) => site.requestCount > 0).map((site) => site.url);
    const unknown = document.results.filter((r) => r.outcome === 'unknown').map((r) => r.site);
    expect(unknown.sort()).toEqual(inFlight.sort());
    expect(inFlight).toHaveLength(2);
    const others = document.results.filter((r) => r.outcome !== 'unknown');
    expect(others).toHaveLength(document.sites.length - 2);
    for (const result of others) {
      expect(result).toMatchObject({
        outcome: 'not_attempted',
        detail: 'not attempted: interrupted by SIGINT',
      });
    }
    expect(output(run)).not.toContain('invocation time');
    expect(await pendingVersion(d.arn)).toBe(token);
  });

  it('refuses while the ledger shows a step running that started less than 15 minutes ago', async () => {
    const d = await deploy();
    const { token } = await rotationFailedOnOneSite(d);
    await ledger().update(
      { secretArn: d.arn, token },
      { step: { name: 'setSecret', mark: { startedAt: new Date().toISOString(), status: 'running' } } },
    );
    fleet.resetStats();

    const run = await cli('abort', d, ['--force']);

    expect(run.code, output(run)).toBe(1);
    expect(run.stderr).toContain('Refusing to abort: the ledger shows setSecret running since');
    expect(run.stderr).toContain('may still be pushing');
    expect(fleet.requestCount).toBe(0);
    expect(await pendingVersion(d.arn)).toBe(token);
  });

  it('exits 2 without --force when stdin is not a terminal, changing nothing', async () => {
    const d = await deploy();
    const { token } = await rotationFailedOnOneSite(d);
    fleet.resetStats();

    const run = await cli('abort', d);

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('stdin is not a terminal. Pass --force');
    expect(fleet.requestCount).toBe(0);
    expect(await pendingVersion(d.arn)).toBe(token);
  });
});
