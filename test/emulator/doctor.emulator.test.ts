/**
 * `doctor`'s AWS probe against moto for what moto serves (Secrets Manager, SNS, KMS, CloudTrail, DynamoDB,
 * SSM, CloudWatch, STS, IAM), with CloudFormation and Lambda stubbed (aws-sdk-client-mock): the stack's
 * outputs and resources point at what the test created in moto.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import {
  CloudTrailClient,
  CreateTrailCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetFunctionConfigurationCommand, GetPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsDeploymentProbe } from '../../adapters/aws/doctor-probe.js';
import { createDeps } from '../../adapters/aws/index.js';
import { type DoctorCheck, runDoctor } from '../../core/index.js';
import {
  createLedgerTable,
  type MotoServer,
  motoClientConfig,
  startMoto,
  startMotoRotation,
} from '../support/moto.js';

let moto: MotoServer;
const savedEnv = { ...process.env };
const STACK = 'StripeKeyRotator-moto';
const FUNCTION = 'StripeKeyRotator-moto-Rotation';
const cfn = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);

const publishers = (actions: string[]) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Root',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Action: '*',
      Resource: '*',
    },
    ...['events.amazonaws.com', 'cloudwatch.amazonaws.com'].map((service) => ({
      Effect: 'Allow',
      Principal: { Service: service },
      Action: actions,
      Resource: '*',
    })),
  ],
});

interface World {
  readonly rotated: string;
  readonly trailName: string;
  readonly table: string;
}

let world: World;

beforeAll(async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  const config = motoClientConfig(moto);
  const sm = new SecretsManagerClient(config);
  const create = async (name: string, value: string) =>
    (await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }))).ARN ?? '';
  const rotated = await create('moto/stripe-secret-key', 'sk_test_placeholder_value_for_the_emulator');
  const staged = await create('moto/staged', 'none');
  const master = await create('moto/master', 'master-api-key-for-the-emulator');
  const kms = new KMSClient(config);
  const key =
    (
      await kms.send(
        new CreateKeyCommand({ Policy: JSON.stringify(publishers(['kms:Decrypt', 'kms:GenerateDataKey*'])) }),
      )
    ).KeyMetadata?.Arn ?? '';
  const sns = new SNSClient(config);
  const topic =
    (
      await sns.send(
        new CreateTopicCommand({
          Name: 'moto-notices',
          Attributes: { KmsMasterKeyId: key, Policy: JSON.stringify(publishers(['sns:Publish'])) },
        }),
      )
    ).TopicArn ?? '';
  await sns.send(
    new SubscribeCommand({
      TopicArn: topic,
      Protocol: 'sqs',
      Endpoint: 'arn:aws:sqs:eu-west-1:123456789012:ops',
    }),
  );
  const ssm = new SSMClient(config);
  await ssm.send(
    new PutParameterCommand({
      Name: '/moto/sites',
      Type: 'String',
      Value: 'https://a.example\nhttps://b.example\nhttps://a.example/\n',
    }),
  );
  const table = await createLedgerTable(new DynamoDBClient(config), 'moto-doctor-ledger');
  const cloudwatch = new CloudWatchClient(config);
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: 'moto-errors',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    }),
  );
  // CloudTrail needs a bucket; moto takes an unsigned S3 PUT on loopback.
  await fetch(`${moto.endpoint}/moto-trail-bucket`, { method: 'PUT', signal: AbortSignal.timeout(5000) });
  const trail = new CloudTrailClient(config);
  await trail.send(
    new CreateTrailCommand({
      Name: 'moto-trail',
      S3BucketName: 'moto-trail-bucket',
      IsMultiRegionTrail: true,
    }),
  );
  await trail.send(new StartLoggingCommand({ Name: 'moto-trail' }));
  world = { rotated, trailName: 'moto-trail', table };

  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: STACK,
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: Object.entries({
          RotatedSecretArn: rotated,
          StagedKeySecretArn: staged,
          MasterApiKeySecretArn: master,
          SitesParameterName: '/moto/sites',
          LedgerTableName: table,
          KeyMode: 'test',
        }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  cfn.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: [
      ['AWS::Lambda::Function', FUNCTION],
      ['AWS::SNS::Topic', topic],
      ['AWS::CloudWatch::Alarm', 'moto-errors'],
    ].map(([ResourceType, PhysicalResourceId]) => ({
      ResourceType,
      PhysicalResourceId,
      LogicalResourceId: 'X',
      ResourceStatus: 'CREATE_COMPLETE',
      LastUpdatedTimestamp: new Date(),
    })),
  });
  lambda.on(GetFunctionConfigurationCommand).resolves({ State: 'Active', LastUpdateStatus: 'Successful' });
  lambda.on(GetPolicyCommand).resolves({
    Policy: JSON.stringify({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'secretsmanager.amazonaws.com' },
          Action: 'lambda:InvokeFunction',
        },
      ],
    }),
  });
  for (const client of [sm, kms, sns, ssm, cloudwatch, trail]) client.destroy();
});

afterAll(async () => {
  cfn.restore();
  lambda.restore();
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  await moto?.stop();
});

async function doctor(): Promise<Map<string, DoctorCheck>> {
  const aws = createDeps();
  try {
    return new Map((await runDoctor(new AwsDeploymentProbe(aws), STACK)).map((check) => [check.id, check]));
  } finally {
    aws.destroy();
  }
}

describe('doctor against moto', () => {
  it('reads every fact moto serves, and the healthy parts hold', async () => {
    const checks = await doctor();

    for (const id of [
      'stack',
      'stack-outputs',
      'master-key',
      'staged-key',
      'ledger-table',
      'topic-policy',
      'key-policy',
      'cloudtrail',
      'notifications',
      'alarms',
    ]) {
      expect(checks.get(id), id).toMatchObject({ ok: true });
    }
    expect(checks.get('site-list')).toMatchObject({
      ok: true,
      detail: '2 sites from 1 parameter(s), 1 duplicate lines collapsed',
    });
    // Never rotated: rotation not enabled yet.
    expect(checks.get('rotation')).toMatchObject({ ok: false, fix: expect.stringContaining('enable it') });
    // moto's IAM has no policy simulator: undecided, with how to check.
    expect(checks.get('abort-permission')).toMatchObject({
      ok: null,
      fix: expect.stringContaining('IAM policy simulator'),
    });
  });

  it('names a stuck rotation with the abort fix, an alarm firing and a trail that stopped logging', async () => {
    const config = motoClientConfig(moto);
    const sm = new SecretsManagerClient(config);
    await startMotoRotation(sm, world.rotated);
    const trail = new CloudTrailClient(config);
    await trail.send(new StopLoggingCommand({ Name: world.trailName }));
    const cloudwatch = new CloudWatchClient(config);
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: 'moto-errors', StateValue: 'ALARM', StateReason: 'test' }),
    );
    for (const client of [sm, trail, cloudwatch]) client.destroy();

    const checks = await doctor();

    expect(checks.get('last-rotation')).toMatchObject({
      ok: false,
      fix: expect.stringContaining(`stripe-key-rotator abort --stack ${STACK}`),
    });
    expect(checks.get('cloudtrail')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('not logging'),
    });
    expect(checks.get('alarms')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('in ALARM: moto-errors'),
    });
  });
});
