/**
 * REQUIRES the moto AWS emulator (`moto_server` on PATH): the suite fails, it does not skip, without it.
 *
 * `--stack NAME` for an adopting app: an app of its own (a plain Stack, the construct adopting an existing
 * staged secret, a second construct in a nested scope) is synthesized, and its template's descriptor outputs
 * — the `Fn::Join`s exactly as synthesized — are created in moto's CloudFormation. Moto cannot create the
 * construct's resources themselves (the Lambda functions' assets, the rotation schedule, Secrets Manager
 * resource policies), so the template keeps only the outputs, and each resource a descriptor `Ref`s becomes
 * a template parameter of the same logical id whose value is a resource created in moto directly: moto then
 * resolves the Refs and joins the descriptor as CloudFormation would. The CLI, with no deployment variable
 * set, must find the right secrets through `--stack` (and `--construct-id` when the stack holds two).
 */

import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_DESCRIPTOR } from '../../core/contract.js';
import { maskKey } from '../../core/rules/keys.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { cdkContext, LIVE_OPERATORS, logicalId } from '../infra/support.js';
import { runCli } from '../integration/cli-harness.js';
import {
  createLedgerTable,
  type MotoServer,
  motoClientConfig,
  motoClients,
  startMoto,
} from '../support/moto.js';
import { fakeKey, MASTER_API_KEY } from '../support/rotation-fixtures.js';

const TEST_KEY = fakeKey('test', 'AdoptingCurrent');
const TEST_STAGED = fakeKey('test', 'AdoptingStaged');
const LIVE_KEY = fakeKey('live', 'AdoptingLiveKey');

let moto: MotoServer;
let sm: SecretsManagerClient;
let ssm: SSMClient;
let dynamodb: DynamoDBClient;
let clients: ReturnType<typeof motoClients>;

beforeAll(async () => {
  moto = await startMoto();
  clients = motoClients(moto);
  ({ sm, ssm, dynamodb } = clients);
}, 60_000);

afterAll(async () => {
  clients?.destroy();
  await moto?.stop();
});

interface MotoDeployment {
  readonly rotated: string;
  readonly staged: string;
  readonly master: string;
  readonly sites: string;
  readonly ledger: string;
}

/** The resources one construct names, created in moto directly. */
async function motoResources(name: string, current: string, staged: string): Promise<MotoDeployment> {
  const create = async (secret: string, value: string) =>
    (await sm.send(new CreateSecretCommand({ Name: `${name}/${secret}`, SecretString: value }))).ARN ?? '';
  const sites = `/${name}/sites`;
  await ssm.send(
    new PutParameterCommand({ Name: sites, Type: 'String', Value: 'https://site-1.example.com/\n' }),
  );
  return {
    rotated: await create('secret-key', current),
    staged: await create('staged-key', staged),
    master: await create('master-api-key', MASTER_API_KEY),
    sites,
    ledger: await createLedgerTable(dynamodb, `${name}-ledger`),
  };
}

/**
 * An adopting app's stack, synthesized, created in moto as its descriptor outputs and the values of the
 * resources they Ref. `nested` adds a second construct, in a scope of its own.
 */
async function adoptingAppStack(
  stackName: string,
  nested: boolean,
): Promise<{ test: MotoDeployment; live?: MotoDeployment }> {
  const test = await motoResources(`${stackName}-test`, TEST_KEY, TEST_STAGED);
  const live = nested ? await motoResources(`${stackName}-live`, LIVE_KEY, 'none') : undefined;

  const app = new App({ context: cdkContext() });
  const stack = new Stack(app, stackName, { env: { account: '123456789012', region: 'eu-west-1' } });
  const parameters: Record<string, string> = {};
  const bind = (rotation: StripeKeyRotation, d: MotoDeployment) => {
    parameters[logicalId(rotation.rotatedSecret)] = d.rotated;
    parameters[logicalId(rotation.masterApiKeySecret)] = d.master;
    parameters[logicalId(rotation.sitesParameter)] = d.sites;
    parameters[logicalId(rotation.ledgerTable)] = d.ledger;
    if (rotation.stagedKeySecret.node.defaultChild !== undefined) {
      parameters[logicalId(rotation.stagedKeySecret)] = d.staged;
    }
  };
  // As examples/consumer-app: the staged key secret adopted from elsewhere (here, created in moto).
  bind(
    new StripeKeyRotation(stack, 'Payments', {
      keyMode: 'test',
      operatorPrincipals: LIVE_OPERATORS,
      stagedKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'AdoptedStaged', test.staged),
    }),
    test,
  );
  if (live !== undefined) {
    bind(
      new StripeKeyRotation(new Construct(stack, 'Billing'), 'Payments', {
        keyMode: 'live',
        operatorPrincipals: LIVE_OPERATORS,
      }),
      live,
    );
  }
  const synthesized = app.synth().getStackByName(stackName).template as {
    Outputs: Record<string, unknown>;
  };
  const outputs = Object.fromEntries(
    Object.entries(synthesized.Outputs).filter(([key]) => key.startsWith(STACK_DESCRIPTOR.outputPrefix)),
  );
  expect(Object.keys(outputs)).toHaveLength(nested ? 2 : 1);
  // Every Ref in the outputs is one of the resources bound above.
  for (const [, target] of JSON.stringify(outputs).matchAll(/"Ref":"([^"]+)"/g)) {
    expect(Object.keys(parameters)).toContain(target);
  }
  const template = {
    Parameters: Object.fromEntries(
      Object.entries(parameters).map(([id, value]) => [id, { Type: 'String', Default: value }]),
    ),
    // A resource moto creates with no side effect: a template needs one.
    Resources: { Marker: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    Outputs: outputs,
  };
  const cloudformation = new CloudFormationClient(motoClientConfig(moto));
  try {
    await cloudformation.send(
      new CreateStackCommand({ StackName: stackName, TemplateBody: JSON.stringify(template) }),
    );
  } finally {
    cloudformation.destroy();
  }
  return { test, live };
}

/** The CLI with moto's endpoint and credentials only: no deployment variable in the environment. */
function cli(args: readonly string[]) {
  return runCli(args, {
    env: { ...moto.env, AWS_EC2_METADATA_DISABLED: 'true' },
    timeoutMs: 60_000,
  });
}

const output = (run: { stdout: string; stderr: string }): string => `${run.stdout}\n${run.stderr}`;

interface StatusJson {
  secret: { arn: string };
  staged: { key: { masked: string } };
}

describe("--stack NAME for an adopting app's stack: the construct's descriptor output", () => {
  it('finds the only construct with --stack alone: the rotated secret and the adopted staged secret', async () => {
    const { test } = await adoptingAppStack('AdoptingApp-one', false);

    const status = await cli(['status', '--stack', 'AdoptingApp-one', '--json']);

    expect(status.code, output(status)).toBe(0);
    const shown = JSON.parse(status.stdout) as StatusJson;
    expect(shown.secret.arn).toBe(test.rotated);
    expect(shown.staged.key.masked).toBe(maskKey(TEST_STAGED));
  }, 120_000);

  it('picks one of two constructs with --construct-id, and refuses to guess without it', async () => {
    const { test, live } = await adoptingAppStack('AdoptingApp-two', true);

    const guess = await cli(['status', '--stack', 'AdoptingApp-two']);
    const byId = await cli([
      'status',
      '--stack',
      'AdoptingApp-two',
      '--construct-id',
      'Billing/Payments',
      '--json',
    ]);
    const byPath = await cli([
      'status',
      '--stack',
      'AdoptingApp-two',
      '--construct-id',
      'AdoptingApp-two/Payments',
      '--json',
    ]);
    const unknown = await cli(['status', '--stack', 'AdoptingApp-two', '--construct-id', 'Nope']);

    expect(guess.code, output(guess)).toBe(2);
    expect(guess.stderr).toContain(
      '--stack AdoptingApp-two: the stack holds 2 StripeKeyRotation constructs (',
    );
    expect(guess.stderr).toContain('AdoptingApp-two/Billing/Payments');
    expect(guess.stderr).toContain('pass --construct-id with one of them');
    expect(byId.code, output(byId)).toBe(0);
    expect((JSON.parse(byId.stdout) as StatusJson).secret.arn).toBe(live?.rotated);
    expect(byPath.code, output(byPath)).toBe(0);
    expect((JSON.parse(byPath.stdout) as StatusJson).secret.arn).toBe(test.rotated);
    expect(unknown.code, output(unknown)).toBe(2);
    expect(unknown.stderr).toContain('--construct-id Nope matches none');
    // Masked keys only, whatever the outcome.
    for (const run of [guess, byId, byPath, unknown]) {
      for (const key of [TEST_KEY, TEST_STAGED, LIVE_KEY]) expect(output(run)).not.toContain(key);
    }
  }, 180_000);

  it('refuses --construct-id without --stack', async () => {
    const run = await cli(['status', '--secret-id', 'x', '--construct-id', 'Payments']);
    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('--construct-id names a construct in the stack --stack names');
  }, 60_000);
});
