import { Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../core/contract.js';
import { ConfigurationError } from '../../core/errors.js';
import type { StripeKeyRotationProps } from '../../lib/props.js';
import { KeyRotationSchedule } from '../../lib/schedule.js';
import { SiteListParameter } from '../../lib/site-list.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { uniqueSid } from '../../lib/topic-access.js';
import {
  arnOf,
  identityStatements,
  LIVE_OPERATORS,
  logicalId,
  only,
  propertiesOf,
  ref,
  resourceCounts,
  resources,
  testStack,
  watchdogAlarms,
} from './support.js';

const SYNTH_TIMEOUT = 60_000;

function build(
  props: Partial<StripeKeyRotationProps> = {},
  prepare?: (stack: Stack) => Partial<StripeKeyRotationProps>,
) {
  const stack = testStack();
  const extra = prepare?.(stack) ?? {};
  const rotation = new StripeKeyRotation(stack, 'Rotation', {
    keyMode: 'live',
    operatorPrincipals: LIVE_OPERATORS,
    // Named, so that names can be asserted; generated names are construct-api.test.ts's.
    namePrefix: 'stripe-key-rotator-live',
    ...props,
    ...extra,
  });
  return { stack, rotation, template: Template.fromStack(stack) };
}

/** The DashboardBody is a Fn::Join of strings and references; tokens become placeholders. */
function dashboardBody(template: Template): { widgets: { properties: Record<string, unknown> }[] } {
  const body = propertiesOf(template, 'AWS::CloudWatch::Dashboard').DashboardBody as {
    'Fn::Join': [string, unknown[]];
  };
  const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
  return JSON.parse(text);
}

interface TransformerProps {
  readonly InputPathsMap: Record<string, string>;
  readonly InputTemplate: string | { 'Fn::Join': [string, unknown[]] };
}

/**
 * What EventBridge does with an input transformer, for the simple paths the rule uses: each `<name>` of the
 * template becomes the value at its `$.a.b` path; tokens of the template (the log group's name) become `<ref>`.
 */
function renderInputTransformer(transformer: TransformerProps, event: Record<string, unknown>): string {
  const template =
    typeof transformer.InputTemplate === 'string'
      ? transformer.InputTemplate
      : transformer.InputTemplate['Fn::Join'][1]
          .map((part) => (typeof part === 'string' ? part : '<ref>'))
          .join('');
  const filled = template.replace(/<([A-Za-z0-9_-]+)>/g, (whole, name: string) => {
    const path = transformer.InputPathsMap[name];
    if (path === undefined) return whole;
    let value: unknown = event;
    for (const key of path.replace(/^\$\./, '').split('.')) value = (value as Record<string, unknown>)[key];
    return String(value);
  });
  return JSON.parse(filled) as string;
}

describe('a StripeKeyRotation with default props', () => {
  let stack: Stack;
  let rotation: StripeKeyRotation;
  let template: Template;
  beforeAll(() => {
    ({ stack, rotation, template } = build());
  }, SYNTH_TIMEOUT);

  it('creates exactly the resources of one rotation, and nothing else', () => {
    expect(resourceCounts(template)).toEqual({
      'AWS::SecretsManager::Secret': 3,
      'AWS::SecretsManager::ResourcePolicy': 3,
      'AWS::SSM::Parameter': 1,
      'AWS::DynamoDB::Table': 1,
      'AWS::Logs::LogGroup': 2,
      // Each pair: the rotation's and the watchdog's.
      'AWS::IAM::Role': 2,
      'AWS::IAM::Policy': 2,
      'AWS::IAM::ManagedPolicy': 1,
      'AWS::Lambda::Function': 2,
      'AWS::Lambda::Permission': 2,
      'AWS::SecretsManager::RotationSchedule': 1,
      // The notifications topic and key, and the notification path's own.
      'AWS::KMS::Key': 2,
      'AWS::SNS::Topic': 2,
      'AWS::SNS::TopicPolicy': 2,
      // Failure notices, tamper notices, the watchdog's schedule.
      'AWS::Events::Rule': 3,
      'AWS::SQS::Queue': 1,
      'AWS::SQS::QueuePolicy': 1,
      // Errors, failed deliveries (two rules), dead letters, throttles, duration; the watchdog's three.
      'AWS::CloudWatch::Alarm': 10,
      'AWS::CloudWatch::Dashboard': 1,
    });
  });

  it('creates the rotated and master API key secrets with a generated placeholder, never a value', () => {
    const all = resources(template);
    expect(all[logicalId(rotation.rotatedSecret)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        Name: 'stripe-key-rotator-live/stripe-secret-key',
        GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 48 },
      },
    });
    expect(all[logicalId(rotation.masterApiKeySecret)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        Name: 'stripe-key-rotator-live/master-api-key',
        GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 48 },
      },
    });
    for (const secret of [rotation.rotatedSecret, rotation.masterApiKeySecret]) {
      expect(all[logicalId(secret)]?.Properties).not.toHaveProperty('SecretString');
      expect(all[logicalId(secret)]?.Properties).not.toHaveProperty('KmsKeyId');
    }
    expect(JSON.stringify(template.toJSON())).not.toMatch(/sk_(live|test)_[A-Za-z0-9]/);
  });

  it('creates the staged key secret holding the non-secret word "none" (nothing staged)', () => {
    expect(resources(template)[logicalId(rotation.stagedKeySecret)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { Name: 'stripe-key-rotator-live/staged-stripe-secret-key', SecretString: 'none' },
    });
  });

  it('creates the site list as a String parameter holding only a comment line', () => {
    expect(only(template, 'AWS::SSM::Parameter')).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        Name: '/stripe-key-rotator-live/sites',
        Type: 'String',
        Tier: 'Standard',
        Value: '# one https URL per line; lines starting with # are ignored',
      },
    });
  });

  it('deploys the bundled handler on Node.js 24 / arm64 with 512 MB, 15 minutes and the documented environment', () => {
    const fn = propertiesOf(template, 'AWS::Lambda::Function');
    expect(fn).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 900,
      Role: arnOf(stack.node.findChild('Rotation').node.findChild('ServiceRole')),
      LoggingConfig: { LogGroup: ref(rotation.logGroup) },
    });
    expect(fn).not.toHaveProperty('ReservedConcurrentExecutions');
    expect((fn.Environment as { Variables: unknown }).Variables).toEqual({
      STAGED_SECRET_ARN: ref(rotation.stagedKeySecret),
      MASTER_API_KEY_SECRET_ARN: ref(rotation.masterApiKeySecret),
      SITES_PARAMETER: '/stripe-key-rotator-live/sites',
      LEDGER_TABLE: ref(rotation.ledgerTable),
      KEY_MODE: 'live',
      WHEN_NOTHING_STAGED: 'repropagate',
      PUSH_CONCURRENCY: '10',
      SITE_TIMEOUT_MS: '10000',
      SITE_ATTEMPTS: '3',
      CANARY_SITES: '1',
      STRIPE_CHECK: 'on',
      POWERTOOLS_SERVICE_NAME: 'stripe-key-rotator-live',
      POWERTOOLS_METRICS_NAMESPACE: 'StripeKeyRotator',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it('creates the ledger table: on-demand, encrypted, point-in-time recovery, TTL, history index, retained, deletion-protected', () => {
    expect(only(template, 'AWS::DynamoDB::Table')).toEqual({
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          {
            IndexName: 'history',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
    });
  });

  it('keeps the function logs for a year', () => {
    expect(only(template, 'AWS::Logs::LogGroup')).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 365 },
    });
  });

  it('gives the function a role only Lambda can assume, with no managed or inline policy', () => {
    expect(propertiesOf(template, 'AWS::IAM::Role')).toEqual({
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
      },
      Description:
        'Rotation function of stripe-key-rotator-live: its own secret versions, read-only elsewhere.',
    });
  });

  it('grants exactly: its own secret versions, read on staged and master, the staged key reset, its log group, its parameter', () => {
    expect(identityStatements(template)).toEqual([
      {
        Sid: 'RotateOwnSecretVersions',
        Effect: 'Allow',
        Action: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:ListSecretVersionIds',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        Resource: ref(rotation.rotatedSecret),
      },
      {
        Sid: 'ReadStagedAndMasterKeys',
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: [ref(rotation.masterApiKeySecret), ref(rotation.stagedKeySecret)],
      },
      {
        Sid: 'ResetStagedKey',
        Effect: 'Allow',
        Action: 'secretsmanager:PutSecretValue',
        Resource: ref(rotation.stagedKeySecret),
      },
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: arnOf(rotation.logGroup),
      },
      {
        Sid: 'RecordLedger',
        Effect: 'Allow',
        Action: [
          'dynamodb:BatchWriteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
        Resource: arnOf(rotation.ledgerTable),
      },
      {
        Sid: 'ReadLedgerHistory',
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [arnOf(rotation.ledgerTable), '/index/history']] },
      },
      {
        Sid: 'ReadSiteList',
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: 'arn:aws:ssm:eu-west-3:123456789012:parameter/stripe-key-rotator-live/sites',
      },
    ]);
    expect(JSON.stringify(template.toJSON())).not.toContain('GetRandomPassword');
  });

  it('lets only Secrets Manager of this account invoke the function', () => {
    expect(propertiesOf(template, 'AWS::Lambda::Permission')).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: arnOf(rotation.rotationFunction),
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: '123456789012',
      SourceArn: ref(rotation.rotatedSecret),
    });
  });

  it('schedules rotation in a Tuesday 02:00–05:00 UTC window, never on deploy, after the invoke permission', () => {
    const schedule = only(template, 'AWS::SecretsManager::RotationSchedule');
    expect(schedule.Properties).toEqual({
      SecretId: ref(rotation.rotatedSecret),
      RotationLambdaARN: arnOf(rotation.rotationFunction),
      RotationRules: { ScheduleExpression: 'cron(0 2 ? * TUE *)', Duration: '3h' },
      RotateImmediatelyOnUpdate: false,
    });
    const permission = Object.entries(resources(template)).find(
      ([, r]) => r.Type === 'AWS::Lambda::Permission',
    );
    expect(schedule.DependsOn).toContain(permission?.[0]);
    // The first configuration test's failure notice needs the rule and the topic policy in place.
    expect(schedule.DependsOn).toEqual(
      expect.arrayContaining([
        logicalId(rotation.failureRule),
        Object.entries(resources(template)).find(([, r]) => r.Type === 'AWS::SNS::TopicPolicy')?.[0],
      ]),
    );
  });

  it('sends failed, abandoned and failed-test rotations of this secret to the topic', () => {
    const rule = resources(template)[logicalId(rotation.failureRule)]?.Properties ?? {};
    expect(rule.EventPattern).toEqual({
      source: ['aws.secretsmanager'],
      'detail-type': ['AWS Service Event via CloudTrail'],
      detail: {
        eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'],
        additionalEventData: { SecretId: [ref(rotation.rotatedSecret)] },
      },
    });
    expect(rule.Targets).toMatchObject([
      { Arn: ref(rotation.notificationsTopic), InputTransformer: { InputPathsMap: { time: '$.time' } } },
    ]);
  });

  it('alarms on any function error within five minutes, without notifying: the failure rule does, once', () => {
    const errors = resources(template)[logicalId(rotation.errorsAlarm)]?.Properties;
    expect(errors).not.toHaveProperty('AlarmActions');
    expect(errors).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: ref(rotation.rotationFunction) }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('watches the notification path through a topic of its own, and the function limits through the topic', () => {
    const alarm = (id: string) => resources(template)[logicalId(rotation.node.findChild(id))]?.Properties;
    const notify = { AlarmActions: [ref(rotation.notificationsTopic)], TreatMissingData: 'notBreaching' };
    const notifyPath = {
      AlarmActions: [ref(rotation.notificationPathTopic)],
      TreatMissingData: 'notBreaching',
    };
    expect(alarm('FailureRuleFailedInvocationsAlarm')).toMatchObject({
      ...notifyPath,
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Dimensions: [{ Name: 'RuleName', Value: ref(rotation.failureRule) }],
      Threshold: 1,
    });
    expect(alarm('TamperRuleFailedInvocationsAlarm')).toMatchObject({
      ...notifyPath,
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Dimensions: [{ Name: 'RuleName', Value: ref(rotation.tamperRule) }],
    });
    expect(alarm('DeadLetterAlarm')).toMatchObject({
      ...notifyPath,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
    expect(alarm('ThrottlesAlarm')).toMatchObject({ ...notify, MetricName: 'Throttles', Threshold: 1 });
    // 80 % of the 15-minute timeout.
    expect(alarm('DurationAlarm')).toMatchObject({
      ...notify,
      MetricName: 'Duration',
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 720_000,
    });
  });

  it('notifies the topic when a finished rotation could not reset the staged key secret', () => {
    expect(
      resources(template)[logicalId(rotation.node.findChild('StagedKeyResetFailedAlarm'))]?.Properties,
    ).toMatchObject({
      AlarmActions: [ref(rotation.notificationsTopic)],
      Namespace: 'StripeKeyRotator',
      MetricName: 'StagedKeyResetFailed',
      Dimensions: [{ Name: 'service', Value: 'stripe-key-rotator-live' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(rotation.alarms).toContain(rotation.node.findChild('StagedKeyResetFailedAlarm'));
  });

  it('turns a RotationFailed event into one message naming the secret, the failing step and where to read the cause', () => {
    const rule = resources(template)[logicalId(rotation.failureRule)]?.Properties as {
      Targets: { InputTransformer: TransformerProps }[];
    };
    const transformer = rule.Targets[0]?.InputTransformer;
    expect(transformer).toBeDefined();
    // The shape of a RotationFailed event as CloudTrail delivers it: errorMessage names the step.
    const event = {
      'detail-type': 'AWS Service Event via CloudTrail',
      source: 'aws.secretsmanager',
      time: '2026-12-01T02:14:09Z',
      detail: {
        eventName: 'RotationFailed',
        eventSource: 'secretsmanager.amazonaws.com',
        errorMessage:
          'Error when executing lambda arn:aws:lambda:eu-west-3:123456789012:function:rotator during setSecret step',
        additionalEventData: { SecretId: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:sk-AbC123' },
      },
    };
    const message = renderInputTransformer(transformer as TransformerProps, event);
    expect(message).toMatch(
      /^Stripe key rotation RotationFailed for arn:aws:secretsmanager:eu-west-3:123456789012:secret:sk-AbC123 at 2026-12-01T02:14:09Z\. /,
    );
    expect(message).toContain('Secrets Manager: Error when executing lambda');
    expect(message).toContain('during setSecret step.');
    expect(message).toContain('log group <ref> (search for "Rotation step failed")');
  });

  it('retries undeliverable failure notices, then keeps them in an encrypted dead-letter queue only the rule may write', () => {
    const rule = resources(template)[logicalId(rotation.failureRule)]?.Properties as {
      Targets: {
        DeadLetterConfig: unknown;
        RetryPolicy: unknown;
        InputTransformer: { InputTemplate: string };
      }[];
    };
    const queue = only(template, 'AWS::SQS::Queue');
    const queueId = Object.entries(resources(template)).find(([, r]) => r === queue)?.[0] ?? '';
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    expect(rule.Targets[0]).toMatchObject({
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 86_400 },
    });
    // One message per failure, carrying the error message Secrets Manager recorded.
    expect(JSON.stringify(rule.Targets[0]?.InputTransformer)).toContain('$.detail.errorMessage');
    const statements = (
      propertiesOf(template, 'AWS::SQS::QueuePolicy').PolicyDocument as { Statement: unknown[] }
    ).Statement;
    expect(statements).toContainEqual({
      Sid: 'FailureRuleDeadLetters',
      Action: 'sqs:SendMessage',
      Condition: { ArnEquals: { 'aws:SourceArn': arnOf(rotation.failureRule) } },
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
  });

  it('encrypts the topic with its own rotating key: EventBridge may use it unconditioned, CloudWatch only for this account', () => {
    const topics = Object.values(resources(template)).filter((r) => r.Type === 'AWS::SNS::Topic');
    const keyIdOf = (topic: (typeof topics)[number]) =>
      (topic.Properties?.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] } | undefined)?.['Fn::GetAtt'][0];
    const [mainKeyId, pathKeyId] = [rotation.notificationsTopic, rotation.notificationPathTopic].map(
      (topic) => keyIdOf(resources(template)[logicalId(topic)] as (typeof topics)[number]),
    );
    expect(mainKeyId).not.toBe(pathKeyId);
    const cloudWatch = {
      Sid: uniqueSid(rotation, 'LetAlarmsPublish'),
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    };
    const account = {
      Action: 'kms:*',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Resource: '*',
    };
    const policyOf = (id: string) => {
      const key = resources(template)[id];
      expect(key?.DeletionPolicy).toBe('Retain');
      expect(key?.Properties).toMatchObject({ EnableKeyRotation: true });
      return (key?.Properties?.KeyPolicy as { Statement: unknown[] } | undefined)?.Statement;
    };
    // SNS does not support aws:Source* keys in a key policy for EventBridge-to-encrypted-topic delivery.
    expect(policyOf(mainKeyId ?? '')).toEqual([
      account,
      {
        Sid: uniqueSid(rotation, 'LetEventBridgePublish'),
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Resource: '*',
      },
      cloudWatch,
    ]);
    expect(policyOf(pathKeyId ?? '')).toEqual([account, cloudWatch]);
  });

  it('lets only the two rules, the rotation alarms and the watchdog alarms publish to the topic, over TLS', () => {
    const topic = ref(rotation.notificationsTopic);
    const policies = Object.values(resources(template)).filter((r) => r.Type === 'AWS::SNS::TopicPolicy');
    const policyOf = (ref: unknown) =>
      policies.find((p) => JSON.stringify(p.Properties?.Topics) === JSON.stringify([ref]))?.Properties;
    expect(policyOf(topic)).toEqual({
      Topics: [topic],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowPublishThroughSSLOnly',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Effect: 'Deny',
            Principal: '*',
            Resource: topic,
          },
          {
            Sid: uniqueSid(rotation, 'RulesPublish'),
            Action: 'sns:Publish',
            Condition: {
              ArnEquals: { 'aws:SourceArn': [arnOf(rotation.failureRule), arnOf(rotation.tamperRule)] },
            },
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Resource: topic,
          },
          {
            Sid: uniqueSid(rotation, 'RotationAlarmsPublish'),
            Action: 'sns:Publish',
            Condition: {
              ArnEquals: {
                'aws:SourceArn': ['ThrottlesAlarm', 'DurationAlarm', 'StagedKeyResetFailedAlarm'].map((id) =>
                  arnOf(rotation.node.findChild(id)),
                ),
              },
              StringEquals: { 'aws:SourceAccount': '123456789012' },
            },
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Resource: topic,
          },
          {
            Sid: uniqueSid(rotation, 'WatchdogAlarmsPublish'),
            Action: 'sns:Publish',
            Condition: {
              ArnEquals: { 'aws:SourceArn': watchdogAlarms(rotation).map((alarm) => arnOf(alarm)) },
              StringEquals: { 'aws:SourceAccount': '123456789012' },
            },
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Resource: topic,
          },
        ],
      },
    });
  });

  it('offers the failed staged key resets as a metric summed over five minutes', () => {
    const metric = rotation.metricStagedKeyResetFailed();
    expect([metric.namespace, metric.metricName, metric.dimensions, metric.statistic]).toEqual([
      'StripeKeyRotator',
      'StagedKeyResetFailed',
      { service: 'stripe-key-rotator-live' },
      'Sum',
    ]);
    expect(metric.period.toMinutes()).toBe(5);
  });

  it('builds a dashboard of rotation outcomes and per-rotation site counts from the EMF metrics', () => {
    expect(propertiesOf(template, 'AWS::CloudWatch::Dashboard').DashboardName).toBe(
      'stripe-key-rotator-live',
    );
    const metrics = dashboardBody(template)
      .widgets.flatMap((widget) => (widget.properties.metrics ?? []) as unknown[][])
      .map((line) => line.slice(0, 4).join(' '));
    const emf = (name: string) => `StripeKeyRotator ${name} service stripe-key-rotator-live`;
    expect(metrics).toEqual(
      expect.arrayContaining([
        emf('RotationSucceeded'),
        emf('RotationStepFailed'),
        emf('SitesConfirmed'),
        emf('SitesFailed'),
        emf('SitesNotAttempted'),
        emf('PushDuration'),
        emf('StagedKeyResetFailed'),
        'AWS/Lambda Errors FunctionName <ref>',
        'AWS/Lambda Duration FunctionName <ref>',
      ]),
    );
  });
});

describe('a StripeKeyRotation with a customer managed key and existing secrets and site list', () => {
  const SITE_KEY = 'arn:aws:kms:eu-west-3:123456789012:key/site-list-key';
  const ROTATED_ARN = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key-AbC123';
  const ROTATED_KEY = 'arn:aws:kms:eu-west-3:123456789012:key/rotated-key';
  let rotation: StripeKeyRotation;
  let template: Template;
  let secretsKey: kms.Key;
  beforeAll(() => {
    ({ rotation, template } = build({}, (stack) => {
      secretsKey = new kms.Key(stack, 'SecretsKey', { enableKeyRotation: true });
      return {
        encryptionKey: secretsKey,
        rotatedSecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Rotated', {
          secretCompleteArn: ROTATED_ARN,
          encryptionKey: kms.Key.fromKeyArn(stack, 'RotatedKey', ROTATED_KEY),
        }),
        // Known by name only: policies must add the 6-character suffix wildcard.
        masterApiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Master', 'stripe/master'),
        siteList: SiteListParameter.fromPath('/stripe/live/sites/', {
          decryptionKey: kms.Key.fromKeyArn(stack, 'SiteKey', SITE_KEY),
        }),
      };
    }));
  }, SYNTH_TIMEOUT);

  it('creates only the staged key secret, encrypted with the key, and no site-list parameter', () => {
    expect(resourceCounts(template)).toMatchObject({ 'AWS::SecretsManager::Secret': 1 });
    expect(resourceCounts(template)).not.toHaveProperty('AWS::SSM::Parameter');
    expect(propertiesOf(template, 'AWS::SecretsManager::Secret')).toMatchObject({
      SecretString: 'none',
      KmsKeyId: arnOf(secretsKey),
    });
  });

  it('encrypts the ledger table with the same customer managed key', () => {
    expect(propertiesOf(template, 'AWS::DynamoDB::Table').SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: arnOf(secretsKey),
    });
  });

  it('points the function at the path and the existing secrets', () => {
    const variables = (propertiesOf(template, 'AWS::Lambda::Function').Environment as { Variables: object })
      .Variables;
    expect(variables).toMatchObject({
      SITES_PARAMETER: '/stripe/live/sites/',
      MASTER_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/master',
    });
    expect(propertiesOf(template, 'AWS::SecretsManager::RotationSchedule')).toMatchObject({
      SecretId: ROTATED_ARN,
    });
  });

  it('grants exactly: the path, and each key only via its service for the secret or parameters it protects', () => {
    expect(identityStatements(template)).toEqual([
      {
        Sid: 'RotateOwnSecretVersions',
        Effect: 'Allow',
        Action: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:ListSecretVersionIds',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        Resource: ROTATED_ARN,
      },
      {
        Sid: 'ReadStagedAndMasterKeys',
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: [
          'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/master-??????',
          ref(rotation.stagedKeySecret),
        ],
      },
      {
        Sid: 'ResetStagedKey',
        Effect: 'Allow',
        Action: 'secretsmanager:PutSecretValue',
        Resource: ref(rotation.stagedKeySecret),
      },
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: arnOf(rotation.logGroup),
      },
      {
        Sid: 'RecordLedger',
        Effect: 'Allow',
        Action: [
          'dynamodb:BatchWriteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
        Resource: arnOf(rotation.ledgerTable),
      },
      {
        Sid: 'ReadLedgerHistory',
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [arnOf(rotation.ledgerTable), '/index/history']] },
      },
      {
        Sid: 'UseLedgerKey',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: arnOf(secretsKey),
        Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-3.amazonaws.com' } },
      },
      {
        Sid: 'ReadSiteListPath',
        Effect: 'Allow',
        Action: 'ssm:GetParametersByPath',
        Resource: [
          'arn:aws:ssm:eu-west-3:123456789012:parameter/stripe/live/sites',
          'arn:aws:ssm:eu-west-3:123456789012:parameter/stripe/live/sites/',
        ],
      },
      {
        Sid: 'DecryptSiteList',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: SITE_KEY,
        Condition: {
          StringEquals: { 'kms:ViaService': 'ssm.eu-west-3.amazonaws.com' },
          StringLike: {
            'kms:EncryptionContext:PARAMETER_ARN':
              'arn:aws:ssm:eu-west-3:123456789012:parameter/stripe/live/sites/*',
          },
        },
      },
      {
        Sid: 'DecryptSecrets1',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: ROTATED_KEY,
        Condition: {
          StringEquals: {
            'kms:ViaService': 'secretsmanager.eu-west-3.amazonaws.com',
            'kms:EncryptionContext:SecretARN': ROTATED_ARN,
          },
        },
      },
      {
        Sid: 'EncryptWrittenSecrets1',
        Effect: 'Allow',
        Action: 'kms:GenerateDataKey',
        Resource: ROTATED_KEY,
        Condition: {
          StringEquals: {
            'kms:ViaService': 'secretsmanager.eu-west-3.amazonaws.com',
            'kms:EncryptionContext:SecretARN': ROTATED_ARN,
          },
        },
      },
      {
        Sid: 'DecryptSecrets2',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: arnOf(secretsKey),
        Condition: {
          StringEquals: {
            'kms:ViaService': 'secretsmanager.eu-west-3.amazonaws.com',
            'kms:EncryptionContext:SecretARN': ref(rotation.stagedKeySecret),
          },
        },
      },
      {
        Sid: 'EncryptWrittenSecrets2',
        Effect: 'Allow',
        Action: 'kms:GenerateDataKey',
        Resource: arnOf(secretsKey),
        Condition: {
          StringEquals: {
            'kms:ViaService': 'secretsmanager.eu-west-3.amazonaws.com',
            'kms:EncryptionContext:SecretARN': ref(rotation.stagedKeySecret),
          },
        },
      },
    ]);
  });
});

describe('a StripeKeyRotation of a secret known by name only', () => {
  it(
    'matches the failure events by ARN prefix and decrypts with StringLike on the suffixed ARN',
    () => {
      const { rotation, template } = build({}, (stack) => ({
        rotatedSecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Rotated', {
          secretPartialArn: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key',
          encryptionKey: kms.Key.fromKeyArn(stack, 'RotatedKey', 'arn:aws:kms:eu-west-3:123456789012:key/k'),
        }),
        siteList: SiteListParameter.fromName('/stripe/live/sites', {
          decryptionKey: kms.Key.fromKeyArn(stack, 'SiteKey', 'arn:aws:kms:eu-west-3:123456789012:key/s'),
        }),
      }));
      const pattern = resources(template)[logicalId(rotation.failureRule)]?.Properties?.EventPattern as {
        detail: object;
      };
      expect(pattern.detail).toMatchObject({
        additionalEventData: {
          SecretId: [{ prefix: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key' }],
        },
      });
      const statements = identityStatements(template) as { Sid: string }[];
      const rotatedArn = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key-??????';
      expect(statements.find((s) => s.Sid === 'DecryptSecrets')).toEqual({
        Sid: 'DecryptSecrets',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: 'arn:aws:kms:eu-west-3:123456789012:key/k',
        Condition: {
          StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-3.amazonaws.com' },
          StringLike: { 'kms:EncryptionContext:SecretARN': rotatedArn },
        },
      });
      expect(statements.find((s) => s.Sid === 'ReadSiteList')).toEqual({
        Sid: 'ReadSiteList',
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: 'arn:aws:ssm:eu-west-3:123456789012:parameter/stripe/live/sites',
      });
      expect(statements.find((s) => s.Sid === 'DecryptSiteList')).toEqual({
        Sid: 'DecryptSiteList',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: 'arn:aws:kms:eu-west-3:123456789012:key/s',
        Condition: {
          StringEquals: {
            'kms:ViaService': 'ssm.eu-west-3.amazonaws.com',
            'kms:EncryptionContext:PARAMETER_ARN':
              'arn:aws:ssm:eu-west-3:123456789012:parameter/stripe/live/sites',
          },
        },
      });
      expect(rotation.sitesParameter).toBeUndefined();
    },
    SYNTH_TIMEOUT,
  );
});

describe('the tuning props of a StripeKeyRotation', () => {
  it(
    'reach the function environment, timeout, memory, log retention, schedule and subscriptions',
    () => {
      const { template } = build({
        keyMode: 'test',
        serviceName: 'shop-fleet',
        namePrefix: 'shop-fleet',
        whenNothingStaged: 'fail',
        pushConcurrency: 32,
        siteTimeout: Duration.seconds(20),
        siteAttempts: 5,
        canarySites: 3,
        stripeCheck: false,
        timeout: Duration.minutes(10),
        memorySize: 2048,
        logRetention: logs.RetentionDays.THREE_MONTHS,
        schedule: KeyRotationSchedule.every(Duration.days(30)),
        notificationEmails: ['ops@example.com'],
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const fn = propertiesOf(template, 'AWS::Lambda::Function');
      expect(fn).toMatchObject({
        Timeout: 600,
        MemorySize: 2048,
        Environment: {
          Variables: {
            KEY_MODE: 'test',
            WHEN_NOTHING_STAGED: 'fail',
            PUSH_CONCURRENCY: '32',
            SITE_TIMEOUT_MS: '20000',
            SITE_ATTEMPTS: '5',
            CANARY_SITES: '3',
            STRIPE_CHECK: 'off',
            POWERTOOLS_SERVICE_NAME: 'shop-fleet',
            SITES_PARAMETER: '/shop-fleet/sites',
          },
        },
      });
      expect(only(template, 'AWS::Logs::LogGroup')).toMatchObject({
        DeletionPolicy: 'Delete',
        Properties: { RetentionInDays: 90 },
      });
      expect(propertiesOf(template, 'AWS::SecretsManager::RotationSchedule').RotationRules).toEqual({
        ScheduleExpression: 'rate(30 days)',
      });
      // The notifications topic and the notification path's topic, each to the same address.
      const subscriptions = Object.values(resources(template)).filter(
        (r) => r.Type === 'AWS::SNS::Subscription',
      );
      expect(subscriptions.map((s) => [s.Properties?.Protocol, s.Properties?.Endpoint])).toEqual([
        ['email', 'ops@example.com'],
        ['email', 'ops@example.com'],
      ]);
      expect(propertiesOf(template, 'AWS::CloudWatch::Dashboard').DashboardName).toBe('shop-fleet');
    },
    SYNTH_TIMEOUT,
  );
});

describe('the props validation of a StripeKeyRotation', () => {
  function refusal(props: Partial<StripeKeyRotationProps>): string {
    const stack = testStack();
    try {
      new StripeKeyRotation(stack, 'Rotation', {
        keyMode: 'live',
        operatorPrincipals: LIVE_OPERATORS,
        ...props,
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as Error).message;
    }
    throw new Error('expected the props to be refused');
  }

  it('names the construct, each invalid prop and its value, all at once', () => {
    const message = refusal({
      keyMode: 'prod' as 'live',
      pushConcurrency: 0,
      siteAttempts: 11,
      canarySites: 2.5,
      memorySize: 64,
      serviceName: 'stripe key',
      whenNothingStaged: 'skip' as 'fail',
    });
    expect(message.split('\n')).toEqual([
      'StripeKeyRotation Test/Rotation: invalid props',
      `  - keyMode="prod" must be 'live' or 'test'`,
      '  - serviceName="stripe key" must start with a letter and hold only letters, digits, - and _ (at most 64)',
      `  - whenNothingStaged="skip" must be 'repropagate' or 'fail'`,
      '  - pushConcurrency=0 must be a whole number from 1 to 256',
      '  - siteAttempts=11 must be a whole number from 1 to 10',
      '  - canarySites=2.5 must be a whole number from 0 to 100',
      '  - memorySize=64 must be a whole number from 128 to 10240',
    ]);
  });

  it('bounds the function settings exactly as the function does (core/contract.ts)', () => {
    const { pushConcurrency, siteAttempts, canarySites, siteTimeoutMs } = SETTINGS;
    expect(
      refusal({
        pushConcurrency: pushConcurrency.max + 1,
        siteAttempts: siteAttempts.min - 1,
        canarySites: canarySites.max + 1,
      }).split('\n'),
    ).toEqual([
      'StripeKeyRotation Test/Rotation: invalid props',
      `  - pushConcurrency=${pushConcurrency.max + 1} must be a whole number from ${pushConcurrency.min} to ${pushConcurrency.max}`,
      `  - siteAttempts=${siteAttempts.min - 1} must be a whole number from ${siteAttempts.min} to ${siteAttempts.max}`,
      `  - canarySites=${canarySites.max + 1} must be a whole number from ${canarySites.min} to ${canarySites.max}`,
    ]);
    expect(() =>
      build({
        pushConcurrency: pushConcurrency.max,
        siteAttempts: siteAttempts.max,
        canarySites: canarySites.min,
        siteTimeout: Duration.millis(siteTimeoutMs.max),
      }),
    ).not.toThrow();
  });

  it('bounds the site timeout to 100 ms – 120 s', () => {
    expect(refusal({ siteTimeout: Duration.millis(50) })).toContain(
      'siteTimeout=50 millis must be between 100 ms and 120 s',
    );
    expect(refusal({ siteTimeout: Duration.minutes(3) })).toContain(
      'siteTimeout=3 minutes must be between 100 ms and 120 s',
    );
  });

  it('requires the function timeout to fit Lambda and to exceed the site timeout plus a margin', () => {
    expect(refusal({ timeout: Duration.minutes(16) })).toContain(
      'timeout=16 minutes exceeds the 15 minutes a Lambda invocation may run',
    );
    expect(refusal({ timeout: Duration.seconds(60), siteTimeout: Duration.seconds(30) })).toContain(
      'timeout=1 minute must be at least siteTimeout (30 seconds) + 1 minute for the AWS calls and the Stripe check',
    );
  });

  it('refuses an unknown log retention and a malformed notification email', () => {
    expect(refusal({ logRetention: 42 as logs.RetentionDays })).toContain(
      'logRetention=42 is not one of the retention periods CloudWatch Logs offers',
    );
    expect(refusal({ notificationEmails: ['ops.example.com'] })).toContain(
      'notificationEmails: "ops.example.com" is not an email address',
    );
  });
});
