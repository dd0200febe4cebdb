/**
 * The construct as a library an app adopts: generated names by default, opt-outs and bring-your-own parts,
 * deploy-time tokens, the interface and `fromAttributes`, grant warnings and the metric families.
 */
import { CfnParameter, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS, SETTINGS, WATCHDOG_METRICS } from '../../core/contract.js';
import { SiteListParameter } from '../../lib/site-list.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { ENV, resourceCounts, resources, testApp, testStack } from './support.js';

const SYNTH_TIMEOUT = 120_000;

describe('two rotations with default props in one stack', () => {
  let stack: Stack;
  let template: Template;
  beforeAll(() => {
    stack = testStack();
    new StripeKeyRotation(stack, 'Payments', { keyMode: 'test' });
    new StripeKeyRotation(stack, 'Billing', { keyMode: 'test' });
    // Synthesis runs CloudFormation's validation, which fails on two resources sharing a physical name.
    template = Template.fromStack(stack);
  }, SYNTH_TIMEOUT);

  it(
    'synthesize: no resource is given a name, so none can collide',
    () => {
      const named = Object.entries(resources(template)).filter(([, resource]) => {
        const properties = resource.Properties ?? {};
        return ['Name', 'DashboardName', 'TableName', 'TopicName', 'QueueName', 'RoleName'].some(
          (key) => key in properties,
        );
      });
      expect(named.map(([id]) => id)).toEqual([]);
      const problems = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('E3019|unique'));
      expect(problems).toEqual([]);
    },
    SYNTH_TIMEOUT,
  );

  it('keep the ledger under deletion protection by default', () => {
    template.resourcePropertiesCountIs('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true }, 2);
  });
});

describe('a rotation with a name prefix', () => {
  it(
    'names its secrets, site-list parameter and dashboard after it',
    () => {
      const stack = testStack();
      new StripeKeyRotation(stack, 'Rotation', { keyMode: 'test', namePrefix: 'payments' });
      const template = Template.fromStack(stack);
      for (const name of ['stripe-secret-key', 'staged-stripe-secret-key', 'master-api-key']) {
        template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: `payments/${name}` });
      }
      template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/payments/sites' });
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'payments' });
    },
    SYNTH_TIMEOUT,
  );
});

describe('a sandbox rotation with every optional part left out and deploy-time settings', () => {
  let stack: Stack;
  let rotation: StripeKeyRotation;
  let template: Template;
  beforeAll(() => {
    stack = testStack();
    const concurrency = new CfnParameter(stack, 'PushConcurrency', { type: 'Number', default: 20 });
    const service = new CfnParameter(stack, 'ServiceName', { type: 'String', default: 'sandbox' });
    rotation = new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'test',
      serviceName: service.valueAsString,
      pushConcurrency: concurrency.valueAsNumber,
      removalPolicy: RemovalPolicy.DESTROY,
      dashboard: false,
      alarms: false,
      watchdog: false,
      operatorPolicy: false,
    });
    template = Template.fromStack(stack);
  }, SYNTH_TIMEOUT);

  it('leaves its ledger deletable by cdk destroy', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });

  it('creates no dashboard, no alarm, no notification-path topic, no watchdog and no operator policy', () => {
    const counts = resourceCounts(template);
    expect(counts['AWS::CloudWatch::Dashboard']).toBeUndefined();
    expect(counts['AWS::CloudWatch::Alarm']).toBeUndefined();
    expect(counts['AWS::IAM::ManagedPolicy']).toBeUndefined();
    // The notifications topic only: failure and tamper notices still go out.
    expect(counts['AWS::SNS::Topic']).toBe(1);
    expect(counts['AWS::Lambda::Function']).toBe(1);
    expect(rotation.alarms).toEqual([]);
    expect(rotation.watchdog).toBeUndefined();
    expect(rotation.dashboard).toBeUndefined();
    expect(rotation.notificationPathTopic).toBeUndefined();
    expect(rotation.errorsAlarm).toBeUndefined();
    expect(rotation.operatorPolicy).toBeUndefined();
  });

  it('passes the deploy-time concurrency and service name to the function unchanged', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [SETTINGS.pushConcurrency.variable]: { Ref: 'PushConcurrency' },
          POWERTOOLS_SERVICE_NAME: { Ref: 'ServiceName' },
        }),
      },
    });
  });

  it('names the deploy-time service in its metrics', () => {
    expect(stack.resolve(rotation.metricSitesNotAttempted().dimensions)).toEqual({
      [METRICS.dimension]: { Ref: 'ServiceName' },
    });
  });
});

describe('concrete settings out of bounds', () => {
  it('are still refused, naming the prop', () => {
    const stack = testStack();
    expect(() => new StripeKeyRotation(stack, 'Rotation', { keyMode: 'test', pushConcurrency: 0 })).toThrow(
      /pushConcurrency=0/,
    );
    expect(
      () => new StripeKeyRotation(stack, 'Named', { keyMode: 'test', serviceName: 'has spaces' }),
    ).toThrow(/serviceName="has spaces"/);
  });
});

describe('a rotation on its own dashboard, without the watchdog', () => {
  it(
    "adds the rotation's widgets to the given dashboard and keeps the other alarms",
    () => {
      const stack = testStack();
      const dashboard = new cloudwatch.Dashboard(stack, 'TeamDashboard');
      const rotation = new StripeKeyRotation(stack, 'Rotation', {
        keyMode: 'test',
        dashboard,
        watchdog: false,
      });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      expect(rotation.dashboard).toBe(dashboard);
      const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
      expect(body).toContain('Push duration vs. function timeout');
      const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms).toHaveLength(rotation.alarms.length);
      expect(alarms.some((id) => id.includes('Watchdog'))).toBe(false);
      expect(rotation.watchdog).toBeUndefined();
    },
    SYNTH_TIMEOUT,
  );
});

describe('a rotation deployed by another stack, imported with fromAttributes', () => {
  let stack: Stack;
  let template: Template;
  let imported: ReturnType<typeof StripeKeyRotation.fromAttributes>;
  const rotatedArn = `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:payments/stripe-secret-key-AbC123`;
  beforeAll(() => {
    stack = new Stack(testApp(), 'Workloads', { env: ENV });
    const secret = (id: string, arn: string) =>
      secretsmanager.Secret.fromSecretAttributes(stack, id, { secretCompleteArn: arn });
    imported = StripeKeyRotation.fromAttributes(stack, 'Payments', {
      serviceName: 'payments',
      rotatedSecret: secret('Rotated', rotatedArn),
      stagedKeySecret: secret('Staged', rotatedArn.replace('stripe-secret-key', 'staged-key')),
      masterApiKeySecret: secret('Master', rotatedArn.replace('stripe-secret-key', 'master-key')),
      ledgerTable: dynamodb.Table.fromTableName(stack, 'Ledger', 'payments-ledger'),
      rotationFunction: lambda.Function.fromFunctionName(stack, 'Function', 'payments-rotation'),
      siteList: SiteListParameter.fromName('/payments/sites'),
      stackName: 'Payments',
    });
    const checkout = new iam.Role(stack, 'Checkout', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    imported.grantReadKey(checkout);
    const operators = new iam.Role(stack, 'Operators', { assumedBy: new iam.AccountRootPrincipal() });
    imported.grantOperate(operators);
    // A role of another account: an identity grant here cannot reach the secrets.
    imported.grantReadKey(iam.Role.fromRoleArn(stack, 'Partner', 'arn:aws:iam::999999999999:role/partner'));
    template = Template.fromStack(stack);
  }, SYNTH_TIMEOUT);

  it('grants reading the key in service, AWSCURRENT only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Checkout') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'secretsmanager:GetSecretValue',
            Resource: rotatedArn,
            Condition: {
              StringEqualsIfExists: { 'secretsmanager:VersionStage': 'AWSCURRENT' },
              Null: { 'secretsmanager:VersionId': 'true' },
            },
          }),
        ]),
      },
    });
  });

  it("lets operators read the deploying stack's outputs, for --stack", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Operators') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'cloudformation:DescribeStacks',
            Resource: `arn:aws:cloudformation:${ENV.region}:${ENV.account}:stack/Payments/*`,
          }),
        ]),
      },
    });
  });

  it('warns that a grantee in another account gets a grant that cannot work', () => {
    const warnings = Annotations.fromStack(stack).findWarning(
      '/Workloads/Payments',
      Match.stringLikeRegexp('account 999999999999'),
    );
    expect(warnings).toHaveLength(1);
  });

  it("reads the function's and the watchdog's metrics under the deployment's name", () => {
    const metrics = [
      imported.metricSitesNotAttempted(),
      imported.metricHoursSinceLastRotation(),
      imported.metricPendingAgeHours(),
      imported.metricRotationEnabled(),
    ];
    expect(metrics.map((metric) => metric.metricName)).toEqual([
      'SitesNotAttempted',
      ...Object.keys(WATCHDOG_METRICS),
    ]);
    for (const metric of metrics) expect(metric.dimensions).toEqual({ [METRICS.dimension]: 'payments' });
  });

  it('refuses a site list it would have to create', () => {
    expect(() =>
      StripeKeyRotation.fromAttributes(stack, 'Wrong', {
        serviceName: 'x',
        rotatedSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'R', 'r'),
        stagedKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'S', 's'),
        masterApiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'M', 'm'),
        ledgerTable: dynamodb.Table.fromTableName(stack, 'T', 't'),
        rotationFunction: lambda.Function.fromFunctionName(stack, 'F', 'f'),
        siteList: SiteListParameter.create(),
      }),
    ).toThrow(/fromName or fromPath/);
  });
});

it(
  'warns nowhere when the grantee is in the same account',
  () => {
    const stack = testStack();
    const rotation = new StripeKeyRotation(stack, 'Rotation', { keyMode: 'test' });
    rotation.grantReadKey(new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() }));
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('cannot work'))).toEqual([]);
  },
  SYNTH_TIMEOUT,
);
