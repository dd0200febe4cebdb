/**
 * REQUIRES the moto AWS emulator (`moto_server` on PATH): the suite fails, it does not skip, without it.
 *
 * The operator CLI's AWS commands — `status`, `plan`, `stage` — run as child processes against moto
 * (AWS_ENDPOINT_URL, fake credentials), after a real rotation through the Lambda handler pushed a key to
 * real HTTPS template sites, so the ledger has history, per-site results and what each site holds. The
 * children trust the sites' and the Stripe stand-in's throwaway CA through NODE_EXTRA_CA_CERTS. Everything
 * they print goes through the leak guard.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { STACK_OUTPUTS } from '../../core/contract.js';
import { fingerprint, maskKey } from '../../core/rules/keys.js';
import { createRotationHandler } from '../../lambda/runtime.js';
import { type StripeStub, startStripeStub } from '../../sim/stripe-stub.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { ROOT, runCli, scratchDir, TSX, WORK_DIR } from '../integration/cli-harness.js';
import {
  createLedgerTable,
  currentSecretValue,
  type MotoServer,
  motoClientConfig,
  motoClients,
  secretStages,
  startMoto,
  startMotoRotation,
} from '../support/moto.js';
import { fakeKey, MASTER_API_KEY } from '../support/rotation-fixtures.js';
import { observeText, rejection, secret } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'CliAwsCurrent');
const NEXT = fakeKey('test', 'CliAwsNextKey');
const LATER = fakeKey('test', 'CliAwsLaterKey');
const LIVE = fakeKey('live', 'CliAwsLiveKey');
const LIVE_CURRENT = fakeKey('live', 'CliAwsLiveCurrent');
const SITES = 4;

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
let stacks = 0;

beforeAll(async () => {
  moto = await startMoto();
  ({ sm, ssm, dynamodb } = motoClients(moto));
  ledgerTable = await createLedgerTable(dynamodb, 'stripe-key-rotator-cli-ledger');
  fleet = await startTemplateFleet({ size: SITES, masterApiKey: MASTER_API_KEY, firstAddress: '127.0.31.2' });
  stripe = await startStripeStub(await fleet.ca.issue({ ips: ['127.0.0.1'] }));
  for (const key of [CURRENT, NEXT, LATER])
    stripe.keys.set(key, { account: 'acct_1CliAws', livemode: false });
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
  fleet.resetStats();
  stripe.requests.length = 0;
});

interface Deployment {
  readonly arn: string;
  readonly stagedArn: string;
  readonly masterArn: string;
  readonly sitesParameter: string;
  /** The deployment settings as the stack outputs give them, in the rotation function's variable names. */
  readonly env: Record<string, string>;
}

/** Fresh secrets and site-list parameter in moto, as the stack creates them; the key in service is CURRENT. */
async function deploy(
  staged: string,
  { sitesText = `# cli fleet\n${fleet.urls.join('\n')}\n`, current = CURRENT } = {},
): Promise<Deployment> {
  deployments += 1;
  const prefix = `/stripe/cli-${deployments}`;
  const create = async (name: string, value: string) =>
    (await sm.send(new CreateSecretCommand({ Name: `${prefix}/${name}`, SecretString: value }))).ARN ?? '';
  const arn = await create('secret-key', current);
  const stagedArn = await create('staged-key', staged);
  const masterArn = await create('master-api-key', MASTER_API_KEY);
  const sitesParameter = `${prefix}/sites`;
  await ssm.send(new PutParameterCommand({ Name: sitesParameter, Type: 'String', Value: sitesText }));
  return {
    arn,
    stagedArn,
    masterArn,
    sitesParameter,
    env: {
      STAGED_SECRET_ARN: stagedArn,
      MASTER_API_KEY_SECRET_ARN: masterArn,
      SITES_PARAMETER: sitesParameter,
      LEDGER_TABLE: ledgerTable,
      KEY_MODE: 'test',
    },
  };
}

/** A whole rotation through the real handler, the way Secrets Manager drives it. */
async function rotateThroughHandler(d: Deployment): Promise<string> {
  const handler = createRotationHandler(
    { ...d.env, STRIPE_API_BASE: stripe.url, SITE_TIMEOUT_MS: '2000' },
    {
      ca: fleet.caPem,
      secretsManager: sm,
      ssm,
      dynamodb,
      logger: new Logger({ serviceName: 'cli-aws-test' }),
    },
  );
  const token = await startMotoRotation(sm, d.arn);
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    await handler(
      { Step, SecretId: d.arn, ClientRequestToken: token },
      { getRemainingTimeInMillis: () => 600_000 },
    );
  }
  fleet.resetStats();
  stripe.requests.length = 0;
  return token;
}

async function stageDirectly(d: Deployment, value: string): Promise<void> {
  await sm.send(new PutSecretValueCommand({ SecretId: d.stagedArn, SecretString: value }));
}

/** Everything a write anywhere would change: labels and versions of the three secrets, every ledger item. */
async function worldState(d: Deployment): Promise<string> {
  const secrets = await Promise.all(
    [d.arn, d.stagedArn, d.masterArn].map(async (id) => ({
      stages: await secretStages(sm, id),
      versions: (
        (await sm.send(new ListSecretVersionIdsCommand({ SecretId: id, IncludeDeprecated: true })))
          .Versions ?? []
      )
        .map((v) => v.VersionId)
        .sort(),
    })),
  );
  const items = (await dynamodb.send(new ScanCommand({ TableName: ledgerTable }))).Items ?? [];
  const ledger = items.map((item) => JSON.stringify(item)).sort();
  return JSON.stringify({ secrets, ledger });
}

function cliEnv(d: Deployment, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...moto.env,
    AWS_EC2_METADATA_DISABLED: 'true',
    NODE_EXTRA_CA_CERTS: caFile,
    STRIPE_API_BASE: stripe.url,
    ...d.env,
    ...extra,
  };
}

function aws(
  command: string,
  d: Deployment,
  args: readonly string[] = [],
  extra: Record<string, string> = {},
) {
  return runCli([command, '--secret-id', d.arn, ...args], { env: cliEnv(d, extra), timeoutMs: 30_000 });
}

function stage(
  d: Deployment,
  input: string,
  args: readonly string[] = [],
  extra: Record<string, string> = {},
) {
  return runCli(['stage', '--secret-id', d.arn, ...args], {
    env: cliEnv(d, extra),
    input,
    timeoutMs: 30_000,
  });
}

const output = (run: { stdout: string; stderr: string }): string => `${run.stdout}\n${run.stderr}`;

describe('stripe-key-rotator status, against moto after a real rotation', () => {
  it('shows the versions with their labels and masked keys, the staged key, the outcome and every site', async () => {
    const d = await deploy(NEXT);
    const token = await rotateThroughHandler(d);

    const run = await aws('status', d);

    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toContain(`ARN           ${d.arn}`);
    expect(run.stdout).toMatch(/Rotation +enabled, function arn:aws:lambda:/);
    expect(run.stdout).toContain('Schedule      every 30 days');
    expect(run.stdout).toMatch(new RegExp(`In service +${maskKey(NEXT)} \\(fp [0-9a-f]{12}\\)`));
    expect(run.stdout).toContain('In progress   no rotation in progress');
    expect(run.stdout).toMatch(new RegExp(`${token} +[A-Z,]*AWSCURRENT[^\\n]*${maskKey(NEXT)}`));
    expect(run.stdout).toMatch(new RegExp(`AWSPREVIOUS[^\\n]*${maskKey(CURRENT)}`));
    expect(run.stdout).toContain(`${maskKey(NEXT)} (fp `);
    // finishSecret put "none" back into the staged key secret.
    expect(run.stdout).toMatch(/nothing staged in \S+ \(a rotation would re-propagate the current key\)/);
    expect(run.stdout).toContain(`Last rotation (ledger ${ledgerTable}): finished`);
    expect(run.stdout).toContain('staged (a new key was staged)');
    for (const url of fleet.urls) {
      expect(run.stdout).toMatch(new RegExp(`${url} +confirmed +1 +\\d+ ms +${maskKey(NEXT)}`));
    }
    expect(fleet.requestCount).toBe(0);
  });

  it('prints parseable JSON with --json, taking the settings from flags instead of the environment', async () => {
    const d = await deploy(NEXT);
    await rotateThroughHandler(d);
    await stageDirectly(d, LATER);

    const run = await runCli(
      [
        'status',
        '--secret-id',
        d.arn,
        '--json',
        '--staged-secret-id',
        d.stagedArn,
        '--ledger-table',
        ledgerTable,
      ],
      { env: { ...moto.env, AWS_EC2_METADATA_DISABLED: 'true' }, timeoutMs: 30_000 },
    );

    expect(run.code, output(run)).toBe(0);
    const status = JSON.parse(run.stdout) as {
      secret: { arn: string; rotationEnabled: boolean; rotationRules: { automaticallyAfterDays: number } };
      versions: { stages: string[]; key: { masked: string; fingerprint: string } | null }[];
      staged: { state: string; key: { masked: string } };
      ledger: {
        lastRotation: { outcome: string };
        sites: { site: string; status: string }[];
        fleet: unknown[];
      };
    };
    expect(status.secret).toMatchObject({
      arn: d.arn,
      rotationEnabled: true,
      rotationRules: { automaticallyAfterDays: 30 },
    });
    const current = status.versions.find((v) => v.stages.includes('AWSCURRENT'));
    expect(current?.key?.masked).toBe(maskKey(NEXT));
    expect(status.staged).toMatchObject({ state: 'different', key: { masked: maskKey(LATER) } });
    expect(status.ledger.lastRotation.outcome).toBe('finished');
    expect(status.ledger.sites.map((s) => [s.site, s.status])).toEqual(
      fleet.urls.map((u) => [u, 'confirmed']),
    );
    expect(status.ledger.fleet).toHaveLength(SITES);
  });

  it('shows a rotation whose AWSPENDING sits on another version as in progress since its creation', async () => {
    const d = await deploy(NEXT);
    const token = await startMotoRotation(sm, d.arn);

    const run = await aws('status', d);

    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `In progress +rotation in progress since \\d{4}-\\d\\d-\\d\\dT[^ ]+ \\(version ${token} labelled AWSPENDING\\)`,
      ),
    );
    expect(run.stdout).toMatch(new RegExp(`${token} +AWSPENDING +\\S+ +\\(no value yet\\)`));
    expect(run.stdout).toContain(`${maskKey(NEXT)} (fp `);
    expect(run.stdout).toContain('a different key, the next rotation would rotate to it');
    expect(run.stdout).toContain('no rotation recorded for this secret');
  });

  it('works with --profile and --region instead of AWS_* variables', async () => {
    const d = await deploy(NEXT);
    const credentials = await scratch.write(
      'credentials',
      '[cli-test]\naws_access_key_id = testing\naws_secret_access_key = testing\n',
    );
    const config = await scratch.write('config', '[profile cli-test]\noutput = json\n');

    const run = await runCli(
      ['status', '--secret-id', d.arn, '--profile', 'cli-test', '--region', 'eu-west-1'],
      {
        env: {
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_SHARED_CREDENTIALS_FILE: credentials,
          AWS_CONFIG_FILE: config,
          AWS_EC2_METADATA_DISABLED: 'true',
        },
        timeoutMs: 30_000,
      },
    );

    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toContain(`ARN           ${d.arn}`);
  });

  it('exits 2 naming the secret when it does not exist, and without --secret-id', async () => {
    const d = await deploy(NEXT);
    const missing = await runCli(['status', '--secret-id', 'no/such/secret'], {
      env: cliEnv(d),
      timeoutMs: 30_000,
    });
    const usage = await runCli(['status'], { env: cliEnv(d) });

    expect(missing.code, output(missing)).toBe(2);
    expect(missing.stderr).toContain(
      'Describing the secret no/such/secret failed: ResourceNotFoundException',
    );
    expect(usage.code, output(usage)).toBe(2);
    expect(usage.stderr).toContain(
      '--stack (the deployed stack) or --secret-id (the rotated secret, name or ARN) is required',
    );
  });
});

/** A CloudFormation stack in moto whose outputs name the deployment, as the project's stack does. */
async function deployStack(d: Deployment, outputs: Partial<Record<string, string>> = {}): Promise<string> {
  stacks += 1;
  const name = `StripeKeyRotator-cli-${stacks}`;
  const values: Record<string, string | undefined> = {
    [STACK_OUTPUTS.rotatedSecret]: d.arn,
    [STACK_OUTPUTS.stagedKeySecret]: d.stagedArn,
    [STACK_OUTPUTS.masterApiKeySecret]: d.masterArn,
    [STACK_OUTPUTS.sitesParameter]: d.sitesParameter,
    [STACK_OUTPUTS.ledgerTable]: ledgerTable,
    [STACK_OUTPUTS.keyMode]: 'test',
    ...outputs,
  };
  const template = {
    // A resource moto creates with no side effect: a template needs one.
    Resources: { Marker: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    Outputs: Object.fromEntries(
      Object.entries(values).flatMap(([key, value]) =>
        value === undefined ? [] : [[key, { Value: value }]],
      ),
    ),
  };
  const cloudformation = new CloudFormationClient(motoClientConfig(moto));
  try {
    await cloudformation.send(
      new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify(template) }),
    );
  } finally {
    cloudformation.destroy();
  }
  return name;
}

/** The CLI with moto's endpoint and credentials only: no deployment variable in the environment. */
function withStack(args: readonly string[], extra: Record<string, string> = {}, input?: string) {
  return runCli(args, {
    env: {
      ...moto.env,
      AWS_EC2_METADATA_DISABLED: 'true',
      NODE_EXTRA_CA_CERTS: caFile,
      STRIPE_API_BASE: stripe.url,
      ...extra,
    },
    ...(input === undefined ? {} : { input }),
    timeoutMs: 30_000,
  });
}

describe('--stack NAME: one flag per deployment, read from the stack outputs', () => {
  it('status, plan and stage find every ARN and setting in the outputs, with no deployment variable set', async () => {
    const d = await deploy(NEXT);
    await rotateThroughHandler(d);
    const stack = await deployStack(d);

    const staged = await withStack(['stage', '--stack', stack], {}, `${LATER}\n`);
    const plan = await withStack(['plan', '--stack', stack]);
    const status = await withStack(['status', '--stack', stack, '--json']);

    expect(staged.code, output(staged)).toBe(0);
    expect(await currentSecretValue(sm, d.stagedArn)).toBe(LATER);
    expect(staged.stdout).toContain(`rotate --stack ${stack} --wait`);
    expect(plan.code, output(plan)).toBe(0);
    expect(plan.stdout).toContain(`rotate --stack ${stack} --wait`);
    expect(status.code, output(status)).toBe(0);
    const shown = JSON.parse(status.stdout) as {
      secret: { arn: string };
      staged: { key: { masked: string } };
    };
    expect(shown.secret.arn).toBe(d.arn);
    expect(shown.staged.key.masked).toBe(maskKey(LATER));
  });

  it('takes a flag given over the output, and the output over a variable left in the shell', async () => {
    const d = await deploy('none');
    const stack = await deployStack(d);

    // KEY_MODE=live in the shell: the stack says test, so a test key is staged.
    const outputOverVariable = await withStack(
      ['stage', '--stack', stack],
      { KEY_MODE: 'live' },
      `${NEXT}\n`,
    );
    // --key-mode live on the command line wins over the output, so the test key is refused.
    const flagOverOutput = await withStack(
      ['stage', '--stack', stack, '--key-mode', 'live', '--force'],
      {},
      `${LATER}\n`,
    );

    expect(outputOverVariable.code, output(outputOverVariable)).toBe(0);
    expect(flagOverOutput.code, output(flagOverOutput)).toBe(2);
    expect(flagOverOutput.stderr).toContain('is a test key but this deployment rotates live keys');
    expect(await currentSecretValue(sm, d.stagedArn)).toBe(NEXT);
  });

  it("refuses a stack with outputs missing, naming them and their flags, rather than filling them from another deployment's variables", async () => {
    const here = await deploy(NEXT);
    await rotateThroughHandler(here);
    const other = await deploy(LATER);
    const stack = await deployStack(here, {
      [STACK_OUTPUTS.stagedKeySecret]: undefined,
      [STACK_OUTPUTS.sitesParameter]: undefined,
    });
    const otherDeployment = {
      STAGED_SECRET_ARN: other.stagedArn,
      SITES_PARAMETER: other.sitesParameter,
      MASTER_API_KEY_SECRET_ARN: other.masterArn,
    };

    const plan = await withStack(['plan', '--stack', stack, '--json'], otherDeployment);
    const completed = await withStack(
      [
        'plan',
        '--stack',
        stack,
        '--staged-secret-id',
        here.stagedArn,
        '--sites-parameter',
        here.sitesParameter,
      ],
      otherDeployment,
    );

    expect(plan.code, output(plan)).toBe(2);
    expect(plan.stderr).toContain(
      `--stack ${stack}: the stack lacks the outputs ${STACK_OUTPUTS.stagedKeySecret}, ${STACK_OUTPUTS.sitesParameter}; ` +
        'pass --staged-secret-id, --sites-parameter',
    );
    expect(JSON.parse(plan.stdout)).toMatchObject({
      ok: false,
      error: { kind: 'configuration', exitCode: 2 },
    });
    expect(completed.code, output(completed)).toBe(0);
  });

  it('exits 2 naming the stack when it does not exist, has none of the outputs, or is no stack name', async () => {
    const d = await deploy('none');
    const bare = await deployStack(
      d,
      Object.fromEntries(Object.values(STACK_OUTPUTS).map((k) => [k, undefined])),
    );

    const missing = await withStack(['status', '--stack', 'NoSuchStack']);
    const foreign = await withStack(['status', '--stack', bare]);
    const malformed = await withStack(['status', '--stack', 'not a stack; rm -rf']);

    expect(missing.code, output(missing)).toBe(2);
    expect(missing.stderr).toContain('--stack NoSuchStack: no such stack in eu-west-1');
    expect(foreign.code, output(foreign)).toBe(2);
    expect(foreign.stderr).toContain(`--stack ${bare}: the stack has neither the outputs this CLI reads`);
    expect(malformed.code, output(malformed)).toBe(2);
    expect(malformed.stderr).toContain('--stack must be a stack name');
  });
});

describe('stripe-key-rotator plan, against moto: what a rotation would do, writing nothing', () => {
  it('resolves the sites, canaries and the staged key and exits 0, with zero writes and no site contacted', async () => {
    const d = await deploy(NEXT);
    await rotateThroughHandler(d);
    await stageDirectly(d, LATER);
    const before = await worldState(d);

    const run = await aws('plan', d, ['--stripe-check', '--canary-sites', '2']);

    expect(run.code, output(run)).toBe(0);
    expect(await worldState(d)).toBe(before);
    expect(fleet.requestCount).toBe(0);
    expect(run.stdout).toContain('Plan: nothing was written anywhere and no site was contacted.');
    expect(run.stdout).toMatch(
      new RegExp(`Key +the staged key ${maskKey(LATER)} \\(fp [0-9a-f]{12}\\), test mode`),
    );
    expect(run.stdout).toContain(`Sites       ${SITES} from ${d.sitesParameter}`);
    expect(run.stdout).toContain(`Canaries    ${fleet.urls[0]}, ${fleet.urls[1]} first`);
    expect(run.stdout).toMatch(/Stripe +accepted \(read-only check/);
    expect(stripe.requests).toEqual(expect.arrayContaining(['/v1/balance', '/v1/account']));
    expect(run.stdout).toMatch(/Master key +readable and valid/);
    for (const url of fleet.urls)
      expect(run.stdout).toContain(`  ${url}/api/export/settings/stripe_secret_key`);
    expect(run.stdout).toContain('A rotation would proceed.');
    expect(run.stdout).toContain(`rotate --secret-id ${d.arn} --wait`);
  });

  it('plans a re-propagation of the current key when nothing new is staged (--json)', async () => {
    const d = await deploy(NEXT);
    await rotateThroughHandler(d);
    await stageDirectly(d, 'none');
    const before = await worldState(d);

    const run = await aws('plan', d, ['--json']);

    expect(run.code, output(run)).toBe(0);
    expect(await worldState(d)).toBe(before);
    const plan = JSON.parse(run.stdout) as {
      wouldProceed: boolean;
      key: { trigger: string; masked: string };
    };
    expect(plan).toMatchObject({
      wouldProceed: true,
      key: { trigger: 'repropagation', masked: maskKey(NEXT) },
    });
  });

  it('exits 1 with the reason for a malformed staged key, writing nothing', async () => {
    const d = await deploy(NEXT);
    await rotateThroughHandler(d);
    const malformed = secret('sk_test_Not-A-Valid-Key-0000000000000000');
    await stageDirectly(d, malformed);
    const before = await worldState(d);

    const run = await aws('plan', d);

    expect(run.code, output(run)).toBe(1);
    expect(await worldState(d)).toBe(before);
    expect(fleet.requestCount).toBe(0);
    expect(run.stdout).toContain('A rotation would be REFUSED:');
    expect(run.stdout).toContain(
      `The staged key in ${d.stagedArn} does not match ^sk_(test|live)_[A-Za-z0-9]+$`,
    );
  });

  it('exits 1 for a key already in service (AWSPREVIOUS), a rotation in progress and bad site-list lines', async () => {
    const d = await deploy(NEXT, {
      sitesText: `https://127.0.31.2\nhttp://plain.example.com\n\nnot a url\n`,
    });
    await stageDirectly(d, CURRENT);
    await startMotoRotation(sm, d.arn);
    const before = await worldState(d);

    const run = await aws('plan', d);

    expect(run.code, output(run)).toBe(1);
    expect(await worldState(d)).toBe(before);
    expect(run.stdout).toMatch(
      /A previous rotation isn't complete \(version [0-9a-f-]+ is labelled AWSPENDING\)/,
    );
    expect(run.stdout).toContain(`See 'stripe-key-rotator status --secret-id ${d.arn}'`);
    // The site list's problems nested under its reason, one bullet each.
    expect(run.stdout).toContain(`      - ${d.sitesParameter} line 2: http URL refused, https required`);
    expect(run.stdout).toContain(`      - ${d.sitesParameter} line 4: contains whitespace`);
    expect(run.stdout).not.toMatch(/-\s{2,}\S/);
  });

  it('says the staged secret holds none, nothing staged, when WHEN_NOTHING_STAGED=fail refuses', async () => {
    const d = await deploy('none');
    await rotateThroughHandler(d);

    const run = await aws('plan', d, [], { WHEN_NOTHING_STAGED: 'fail' });

    expect(run.code, output(run)).toBe(1);
    expect(run.stdout).toContain(`Nothing new is staged in ${d.stagedArn} (it holds none: nothing staged)`);
  });

  it("exits 1 with Stripe's reason when --stripe-check and Stripe refuses the staged key", async () => {
    const d = await deploy(fakeKey('test', 'CliAwsUnknownToStripe'));

    const run = await aws('plan', d, ['--stripe-check', '--json']);

    expect(run.code, output(run)).toBe(1);
    const plan = JSON.parse(run.stdout) as { stripeCheck: string; reasons: string[] };
    expect(plan.stripeCheck).toBe('failed');
    expect(plan.reasons).toContainEqual(expect.stringMatching(/^Stripe refused the new key sk_test_…/));
  });

  it('exits 2 naming the missing deployment settings', async () => {
    const d = await deploy(NEXT);
    const run = await runCli(['plan', '--secret-id', d.arn], { env: { ...moto.env }, timeoutMs: 30_000 });

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('--staged-secret-id / STAGED_SECRET_ARN is not set');
    expect(run.stderr).toContain('--ledger-table / LEDGER_TABLE is not set');
  });
});

describe('stripe-key-rotator stage, against moto', () => {
  it('reads the key from stdin, checks it with Stripe, writes the staged secret and prints it only masked', async () => {
    const d = await deploy('none');

    const run = await stage(d, `${NEXT}\n`);

    expect(run.code, output(run)).toBe(0);
    expect(await currentSecretValue(sm, d.stagedArn)).toBe(NEXT);
    expect(run.stdout).toMatch(
      new RegExp(`Staged ${maskKey(NEXT)} \\(fp [0-9a-f]{12}\\), a test key, in ${d.stagedArn}`),
    );
    expect(run.stdout).toContain(`rotate --secret-id ${d.arn} --wait`);
    expect(run.stderr).toContain('Stripe accepted');
    expect(stripe.requests).toContain('/v1/balance');
  });

  it('--json prints one document: staged, whether it was written, the key masked, the Stripe check', async () => {
    const d = await deploy('none');

    const run = await stage(d, `${NEXT}\n`, ['--json']);
    const again = await stage(d, `${NEXT}\n`, ['--json']);

    expect(run.code, output(run)).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      staged: true,
      written: true,
      key: { masked: maskKey(NEXT), fingerprint: fingerprint(NEXT), mode: 'test' },
      secretArn: d.arn,
      stagedSecretId: d.stagedArn,
      stripeCheck: 'passed',
    });
    expect(again.code, output(again)).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ staged: true, written: false });
    expect(await currentSecretValue(sm, d.stagedArn)).toBe(NEXT);
  });

  it('refuses a key of the other mode with exit 2 and stages nothing', async () => {
    const d = await deploy('none');

    const run = await stage(d, LIVE, ['--force']);

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('is a live key but this deployment rotates test keys');
    expect(await currentSecretValue(sm, d.stagedArn)).toBe('none');
    expect(stripe.requests).toHaveLength(0);
  });

  it('refuses, after two rotations, the key in service before the first one the ledger recorded (a deprecated version)', async () => {
    const d = await deploy(NEXT);
    await rotateThroughHandler(d);
    await stageDirectly(d, LATER);
    await rotateThroughHandler(d);

    const run = await stage(d, `${CURRENT}\n`, ['--force']);
    const plan = await (async () => {
      await stageDirectly(d, CURRENT);
      return aws('plan', d);
    })();

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toMatch(/was already in service \(version [0-9a-f-]+ of arn:aws:secretsmanager:/);
    expect(plan.code, output(plan)).toBe(1);
    expect(plan.stdout).toMatch(/was already in service \(version [0-9a-f-]+ of /);
  });

  it('refuses the key in service (AWSCURRENT) with exit 2', async () => {
    const d = await deploy('none');

    const run = await stage(d, CURRENT);

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('is already in service (AWSCURRENT');
    expect(await currentSecretValue(sm, d.stagedArn)).toBe('none');
  });

  it('refuses a key of the other mode than the key in service with exit 2, whatever KEY_MODE says', async () => {
    const d = await deploy('none');

    const run = await stage(d, LIVE, ['--force', '--no-stripe-check'], { KEY_MODE: 'live' });

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain(
      `is a live key but the key in service (AWSCURRENT of ${d.arn}) is a test key`,
    );
    expect(await currentSecretValue(sm, d.stagedArn)).toBe('none');
  });

  it('refuses a key given on the command line with exit 2, without showing it', async () => {
    const d = await deploy('none');

    const run = await aws('stage', d, ['--key', NEXT]);

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('stage never takes the key on the command line');
    expect(await currentSecretValue(sm, d.stagedArn)).toBe('none');
  });

  it('refuses a live key without a terminal to confirm and without --force (exit 2)', async () => {
    const d = await deploy('none', { current: LIVE_CURRENT });

    const run = await stage(d, LIVE, [], { KEY_MODE: 'live' });

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain(`refusing to stage the live key ${maskKey(LIVE)}`);
    expect(run.stderr).toContain('stdin is not a terminal');
    expect(await currentSecretValue(sm, d.stagedArn)).toBe('none');
  });

  it('on a terminal: reads the key with echo off (never shown), asks "yes" for a live key, then stages it', async () => {
    const d = await deploy('none', { current: LIVE_CURRENT });

    const run = await onTerminal(
      ['stage', '--secret-id', d.arn, '--key-mode', 'live', '--no-stripe-check'],
      cliEnv(d, { KEY_MODE: 'live' }),
      [
        { waitFor: 'input hidden', type: `${LIVE}\r` },
        { waitFor: 'Type "yes"', type: 'yes\r' },
      ],
    );

    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(maskKey(LIVE));
    expect(run.output).not.toContain(LIVE);
    expect(await currentSecretValue(sm, d.stagedArn)).toBe(LIVE);
  });

  it('on a terminal: stages nothing when the operator does not answer "yes"', async () => {
    const d = await deploy('none', { current: LIVE_CURRENT });

    const run = await onTerminal(
      ['stage', '--secret-id', d.arn, '--key-mode', 'live', '--no-stripe-check'],
      cliEnv(d, { KEY_MODE: 'live' }),
      [
        { waitFor: 'input hidden', type: `${LIVE}\r` },
        { waitFor: 'Type "yes"', type: 'no\r' },
      ],
    );

    expect(run.code, run.output).toBe(1);
    expect(run.output).not.toContain(LIVE);
    expect(await currentSecretValue(sm, d.stagedArn)).toBe('none');
  });

  it('on a terminal: Ctrl-C at the hidden prompt cancels with exit 130, staging nothing', async () => {
    const d = await deploy('none');

    const run = await onTerminal(['stage', '--secret-id', d.arn, '--no-stripe-check'], cliEnv(d), [
      { waitFor: 'input hidden', type: 'sk_test_51Typed\u0003' },
    ]);

    expect(run.code, run.output).toBe(130);
    expect(run.output).toContain('Cancelled (Ctrl-C): nothing was staged.');
    expect(run.output).not.toContain('--help');
    expect(run.output).not.toContain('sk_test_51Typed');
    expect(await currentSecretValue(sm, d.stagedArn)).toBe('none');
  });

  it('stages a live key with --force and --no-stripe-check, warning that Stripe was not asked', async () => {
    const d = await deploy('none', { current: LIVE_CURRENT });

    const run = await stage(d, LIVE, ['--force', '--no-stripe-check', '--key-mode', 'live']);

    expect(run.code, output(run)).toBe(0);
    expect(run.stderr).toContain('warning: --no-stripe-check');
    expect(await currentSecretValue(sm, d.stagedArn)).toBe(LIVE);
    expect(stripe.requests).toHaveLength(0);
  });
});

describe('a key that was already in service: stage, status, plan and the rotation refuse it alike', () => {
  let d: Deployment;

  beforeAll(async () => {
    // NEXT is rotated in, then LATER, then LATER is pushed again: NEXT is neither AWSCURRENT nor
    // AWSPREVIOUS any more, only the ledger remembers it was in service.
    d = await deploy(NEXT);
    await rotateThroughHandler(d);
    await stageDirectly(d, LATER);
    await rotateThroughHandler(d);
    await stageDirectly(d, 'none');
    await rotateThroughHandler(d);
    expect(await currentSecretValue(sm, d.arn)).toBe(LATER);
  }, 60_000);

  it('stage refuses it with exit 2, before asking Stripe, and stages nothing', async () => {
    const run = await stage(d, NEXT);

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toMatch(
      new RegExp(
        `The key ${maskKey(NEXT)} \\(fp [0-9a-f]{12}\\) was already in service \\(rotation [0-9a-f-]+, finished `,
      ),
    );
    expect(run.stderr).toContain('Nothing was staged.');
    expect(await currentSecretValue(sm, d.stagedArn)).toBe('none');
    expect(stripe.requests).toHaveLength(0);
  });

  it('status shows it staged and refused, in one verdict', async () => {
    await stageDirectly(d, NEXT);

    const text = await aws('status', d);
    const json = await aws('status', d, ['--json']);

    expect(text.code, output(text)).toBe(0);
    expect(text.stdout).toContain(`${maskKey(NEXT)} (fp `);
    expect(text.stdout).toContain('a different key, but a rotation would refuse it:');
    expect(text.stdout).toContain('was already in service');
    expect(text.stdout).not.toContain('would rotate to it');
    expect(JSON.parse(json.stdout).staged).toMatchObject({
      state: 'different',
      verdict: { accepted: false, reason: 'already_in_service' },
    });
  });

  it('plan refuses it with the same reason, and so does the rotation', async () => {
    await stageDirectly(d, NEXT);

    const run = await aws('plan', d);

    expect(run.code, output(run)).toBe(1);
    expect(run.stdout).toContain('A rotation would be REFUSED:');
    expect(run.stdout).toContain('was already in service');
    const error = await rejection(rotateThroughHandler(d));
    expect(error.name).toBe('KeyRejectedError');
    expect(error.message).toContain('was already in service');
  });
});

/**
 * Runs the CLI on a real pseudo-terminal through util-linux `script` (Debian's essential bsdutils, on the CI
 * machine), typing each answer only once its prompt is on screen, as a person would. Everything the terminal
 * shows, echoed input included, is returned and scanned by the leak guard.
 */
async function onTerminal(
  args: readonly string[],
  env: Record<string, string>,
  answers: readonly { readonly waitFor: string; readonly type: string }[],
): Promise<{ code: number | null; output: string }> {
  const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, '--import', TSX, join(ROOT, 'cli/main.ts'), ...args]
    .map(quote)
    .join(' ');
  const inherited = Object.fromEntries(
    ['PATH', 'HOME', 'TMPDIR'].flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])),
  );
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: WORK_DIR,
    env: { ...inherited, ...env, TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    for (const answer of answers) {
      for (let waited = 0; !output.includes(answer.waitFor); waited += 50) {
        if (waited > 20_000 || child.exitCode !== null)
          throw new Error(`no prompt "${answer.waitFor}" in: ${output}`);
        await sleep(50);
      }
      // Let the prompt switch the terminal to raw mode before typing.
      await sleep(200);
      child.stdin.write(answer.type);
    }
    const code = await exited;
    return { code, output };
  } finally {
    clearTimeout(timer);
    child.stdin.end();
    observeText(output);
  }
}
