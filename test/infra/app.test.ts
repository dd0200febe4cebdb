import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, type CfnElement, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import type { StripeKeyRotatorStack } from '../../lib/stripe-key-rotator-stack.js';
import { LIVE_OPERATOR_ARN, testApp, WATCHDOG_ID, withoutAssetHashes } from './support.js';

const SYNTH_TIMEOUT = 60_000;
const ACCOUNT = '123456789012';
const REGION = 'eu-west-3';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

/** Every option the environments context offers, for the cdk-nag check of the widest deployment. */
const EVERY_OPTION = {
  keyMode: 'live',
  operatorPrincipals: [LIVE_OPERATOR_ARN],
  account: ACCOUNT,
  region: REGION,
  encryptionKey: 'create',
  rotatedSecret: {
    arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:stripe/live/key-AbC123`,
    kmsKeyArn: KEY_ARN,
  },
  masterApiKeySecret: { arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:stripe/master-XyZ789` },
  siteList: { path: '/stripe/live/sites/', kmsKeyArn: KEY_ARN },
  schedule: 'rate(7 days)',
  notificationEmails: ['ops@example.com'],
  notifyOnSuccess: true,
};

function nagViolations(scope: IConstruct): { rule: string; paths: (string | undefined)[] }[] {
  const packs = [new AwsSolutionsChecks(), new ServerlessChecks()];
  return packs
    .flatMap((pack) => pack.validateScope(scope).violations)
    .map((violation) => ({
      rule: violation.ruleName,
      paths: violation.violatingResources.map(
        (resource) => resource.constructPath ?? resource.resourceLogicalId,
      ),
    }));
}

describe('the CDK app built from cdk.json', () => {
  let app: App;
  let stacks: StripeKeyRotatorStack[];
  let templates: Template[];
  beforeAll(() => {
    app = testApp();
    stacks = buildApp(app, { region: REGION });
    templates = stacks.map((stack) => Template.fromStack(stack));
  }, SYNTH_TIMEOUT);

  it('has one stack per environment, each rotating keys of its own mode', () => {
    expect(stacks.map((stack) => [stack.stackName, stack.rotation.serviceName])).toEqual([
      ['StripeKeyRotator-test', 'stripe-key-rotator-test'],
      ['StripeKeyRotator-live', 'stripe-key-rotator-live'],
    ]);
    expect(stacks.map((stack) => stack.terminationProtection)).toEqual([false, true]);
  });

  it('matches the reviewed templates (asset hashes aside)', () => {
    stacks.forEach((stack, index) => {
      expect(withoutAssetHashes(templates[index]?.toJSON())).toMatchSnapshot(stack.stackName);
    });
  });

  it('outputs every ARN and name an operator needs', () => {
    const outputs = templates[1]?.toJSON().Outputs as Record<string, object>;
    // The construct's descriptor first (for --stack in any app), then the stack's own named outputs.
    expect(Object.keys(outputs)).toEqual([
      expect.stringMatching(/^StripeKeyRotationDescriptorc8[0-9a-f]{40}$/),
      'RotatedSecretArn',
      'StagedKeySecretArn',
      'MasterApiKeySecretArn',
      'SitesParameterName',
      'KeyMode',
      'RotationFunctionName',
      'LedgerTableName',
      'RotationLogGroupName',
      'NotificationsTopicArn',
      'NotificationPathTopicArn',
      'ErrorsAlarmName',
      'DashboardName',
      'DashboardUrl',
      'OperatorPolicyArn',
    ]);
    expect(outputs.DashboardUrl).toEqual({
      Description: 'Link to the dashboard.',
      Value: `https://console.aws.amazon.com/cloudwatch/home?region=${REGION}#dashboards:name=stripe-key-rotator-live`,
    });
  });

  it('passes the cdk-nag AWS Solutions checks with no unacknowledged finding', () => {
    expect(nagViolations(app)).toEqual([]);
  });

  it('acknowledges each cdk-nag rule on the resource it concerns, with a reason', () => {
    const acknowledged = app.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
            path: construct.node.path,
            id,
            reason,
          })),
        ),
    );
    expect(acknowledged.map(({ path, id }) => `${path} ${id.replace(/^annotation::/i, '')}`).sort()).toEqual([
      ...['live', 'test'].flatMap((name) => [
        `StripeKeyRotator-${name}/Rotation/Function Serverless-LambdaDLQ`,
        `StripeKeyRotator-${name}/Rotation/Function Serverless-LambdaTracing`,
        `StripeKeyRotator-${name}/Rotation/MasterApiKeySecret AwsSolutions-SMG4`,
        `StripeKeyRotator-${name}/Rotation/NotificationsDeadLetterQueue AwsSolutions-SQS3`,
        `StripeKeyRotator-${name}/Rotation/NotificationsDeadLetterQueue Serverless-SQSRedrivePolicy`,
        `StripeKeyRotator-${name}/Rotation/StagedKeySecret AwsSolutions-SMG4`,
        `StripeKeyRotator-${name}/Rotation/WatchdogFunction Serverless-LambdaDLQ`,
        `StripeKeyRotator-${name}/Rotation/WatchdogFunction Serverless-LambdaTracing`,
        `StripeKeyRotator-${name}/Rotation/WatchdogSchedule Serverless-EventBusDLQ`,
      ]),
    ]);
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(60);
  });
});

describe('the CDK app with -c environment=<name>', () => {
  it(
    'builds only that environment',
    () => {
      const stacks = buildApp(testApp({ context: { environment: 'live' } }));
      expect(stacks.map((stack) => stack.stackName)).toEqual(['StripeKeyRotator-live']);
    },
    SYNTH_TIMEOUT,
  );

  it(
    'passes cdk-nag with every option set: customer managed key, existing secrets, site-list path',
    () => {
      const app = testApp({ context: { environment: 'full', environments: { full: EVERY_OPTION } } });
      const [stack] = buildApp(app);
      const template = Template.fromStack(stack as StripeKeyRotatorStack);
      expect(nagViolations(app)).toEqual([]);

      // The created key: rotating, retained, named, and usable only by this account's IAM principals.
      const keyId = (stack as StripeKeyRotatorStack).getLogicalId(
        (stack as StripeKeyRotatorStack).node.findChild('SecretsKey').node.defaultChild as CfnElement,
      );
      const key = template.toJSON().Resources[keyId];
      expect(key).toMatchObject({ DeletionPolicy: 'Retain', Properties: { EnableKeyRotation: true } });
      const account = { AWS: `arn:aws:iam::${ACCOUNT}:root` };
      expect(key.Properties.KeyPolicy.Statement).toEqual([
        { Action: 'kms:*', Effect: 'Allow', Principal: account, Resource: '*' },
        {
          Action: [
            'kms:CreateGrant',
            'kms:Decrypt',
            'kms:DescribeKey',
            'kms:Encrypt',
            'kms:GenerateDataKey*',
            'kms:ReEncrypt*',
          ],
          Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
          Effect: 'Allow',
          Principal: account,
          Resource: '*',
        },
      ]);
      template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/stripe-key-rotator-full' });
      expect(template.toJSON().Outputs.EncryptionKeyArn).toEqual({
        Description: 'Customer managed key of the secrets.',
        Value: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
    },
    SYNTH_TIMEOUT,
  );

  it(
    'fails synthesis on an unacknowledged cdk-nag finding',
    () => {
      const app = testApp({ context: { environment: 'test' } });
      const [stack] = buildApp(app);
      new secretsmanager.Secret(stack as StripeKeyRotatorStack, 'Unrotated');
      expect(nagViolations(app)).toEqual([
        { rule: 'AwsSolutions-SMG4', paths: ['StripeKeyRotator-test/Unrotated/Resource'] },
      ]);
      expect(() => app.synth()).toThrow();
      const report = readFileSync(join(app.outdir, 'validation-report.json'), 'utf8');
      expect(report).toContain('AwsSolutions-SMG4');
      expect(report).toContain('StripeKeyRotator-test/Unrotated/Resource');
    },
    SYNTH_TIMEOUT,
  );
});

describe('synthesis of the pre-built handler bundle, as `cdk synth` does it', () => {
  const dockerBefore = process.env.CDK_DOCKER;
  let outdir = '';
  let bundle = '';
  let assetDir = '';
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'synth-'));
    // Nothing may need Docker: any attempt to bundle in a container would run this and fail.
    process.env.CDK_DOCKER = '/nonexistent/docker';
    const app = testApp({ outdir, context: { environment: 'test' } });
    buildApp(app, { region: REGION });
    app.synth();
    const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
    // The rotation function's bundle and the watchdog's: same sources and settings, another entry.
    expect(assets).toHaveLength(2);
    assetDir = join(outdir, rotationAssetPath(outdir));
    bundle = readFileSync(join(assetDir, 'index.js'), 'utf8');
  }, SYNTH_TIMEOUT);
  afterAll(() => {
    if (dockerBefore === undefined) delete process.env.CDK_DOCKER;
    else process.env.CDK_DOCKER = dockerBefore;
    if (outdir !== '') rmSync(outdir, { recursive: true, force: true });
  });

  it('deploys the handler as one minified CommonJS file with its source map, marked CommonJS', () => {
    expect(bundle.startsWith('"use strict";')).toBe(true);
    expect(bundle.includes('module.exports')).toBe(true);
    // Minified: the handler's own function names are gone.
    expect(bundle.includes('createRotationHandler')).toBe(false);
    expect(existsSync(join(assetDir, 'index.js.map'))).toBe(true);
    expect(JSON.parse(readFileSync(join(assetDir, 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });

  it('bundles every dependency, the AWS SDK included: only Node built-ins stay external', () => {
    const external = [...bundle.matchAll(/require\("([^"]+)"\)/g)]
      .map((match) => match[1] ?? '')
      .filter((name) => !name.startsWith('node:'));
    // The SDK's optional SigV4a signer, required inside try/catch and never used by these clients.
    expect([...new Set(external)]).toEqual(['@aws-sdk/signature-v4-crt']);
  });

  it('deploys a bundle of at most 1 MB (bench/results.md measures its cold start)', () => {
    expect(Buffer.byteLength(bundle)).toBeLessThanOrEqual(1_000_000);
  });

  it('writes a validation report with no cdk-nag finding, only the warning that nobody could abort', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
    };
    expect(
      report.pluginReports.flatMap((plugin) =>
        plugin.violations.map((v) => [plugin.pluginName, v.ruleName, v.severity]),
      ),
    ).toEqual([['Construct Annotations', 'Annotation::stripe-key-rotator:no-operators', 'warning']]);
  });
});

/** The asset directory of the rotation function (not the watchdog's), as the synthesized template names it. */
function rotationAssetPath(outdir: string): string {
  for (const file of readdirSync(outdir).filter((name) => name.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(outdir, file), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string } } }>;
    };
    for (const [id, resource] of Object.entries(template.Resources)) {
      // The asset's S3 key is its hash plus .zip; its directory is asset.<hash>.
      const key = resource.Properties?.Code?.S3Key;
      if (resource.Type === 'AWS::Lambda::Function' && !WATCHDOG_ID.test(id) && key) {
        return `asset.${key.replace(/\.zip$/, '')}`;
      }
    }
  }
  throw new Error('no rotation function asset in the synthesized templates');
}
