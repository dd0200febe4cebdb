/**
 * Every permission path of a deployed rotation, evaluated like AWS evaluates it (identity and resource policies,
 * their conditions, the request context each caller sends) over the synthesized templates: the repository's
 * live stack and two rotations adopting one team-owned topic and key. docs/permissions.md says which AWS
 * behaviour each context rests on.
 */
import { readFileSync } from 'node:fs';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { type Caller, Deployment, evaluate, type Outcome, type PolicyDocument } from './iam-evaluation.js';
import { testApp } from './support.js';

const ACCOUNT = '111111111111';
const REGION = 'eu-west-3';
const OPERATOR = `arn:aws:iam::${ACCOUNT}:role/stripe-key-rotator-operators`;
const EVERYTHING: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const SECRETS_ADMIN: PolicyDocument = {
  Statement: [{ Effect: 'Allow', Action: 'secretsmanager:*', Resource: '*' }],
};
const SYNTH_TIMEOUT = 120_000;

/** The resources and principals of one rotation in a deployment, by the logical ids of `prefix`. */
function rotationIn(deployment: Deployment, prefix: string) {
  const id = (type: string, name: string) =>
    deployment.find(type, new RegExp(`^${prefix}${name}[0-9A-F]{8}$`));
  const arn = (type: string, name: string) => deployment.arn(id(type, name));
  const role = id('AWS::IAM::Role', 'ServiceRole');
  const watchdogRole = id('AWS::IAM::Role', 'WatchdogRole');
  return {
    rotated: arn('AWS::SecretsManager::Secret', 'RotatedSecret'),
    staged: arn('AWS::SecretsManager::Secret', 'StagedKeySecret'),
    master: arn('AWS::SecretsManager::Secret', 'MasterApiKeySecret'),
    table: arn('AWS::DynamoDB::Table', 'LedgerTable'),
    sites: arn('AWS::SSM::Parameter', 'SitesParameter'),
    function: arn('AWS::Lambda::Function', 'Function'),
    failureRule: arn('AWS::Events::Rule', 'RotationFailureRule'),
    tamperRule: arn('AWS::Events::Rule', 'TamperRule'),
    throttlesAlarm: arn('AWS::CloudWatch::Alarm', 'ThrottlesAlarm'),
    deadLetterAlarm: arn('AWS::CloudWatch::Alarm', 'DeadLetterAlarm'),
    pathTopic: arn('AWS::SNS::Topic', 'NotificationPathTopic'),
    pathKey: arn('AWS::KMS::Key', 'NotificationPathKey'),
    queue: arn('AWS::SQS::Queue', 'NotificationsDeadLetterQueue'),
    rotationRole: {
      role: deployment.arn(role),
      policies: deployment.identityPoliciesOfRole(role),
    } satisfies Caller,
    watchdog: {
      role: deployment.arn(watchdogRole),
      policies: deployment.identityPoliciesOfRole(watchdogRole),
    } satisfies Caller,
    operator: {
      role: OPERATOR,
      policies: [deployment.managedPolicy(id('AWS::IAM::ManagedPolicy', 'OperatorPolicy'))],
    } satisfies Caller,
  };
}

/** The repository's app, its live environment as cdk.json configures it, in the suite's account. */
function repositoryDeployment(): Deployment {
  const cdkJson = readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8');
  const environments = JSON.parse(cdkJson.replaceAll('123456789012', ACCOUNT)).context.environments;
  const [stack] = buildApp(testApp({ context: { environments, environment: 'live' } }));
  if (stack === undefined) throw new Error('expected the live stack');
  return new Deployment(Template.fromStack(stack).toJSON() as never, ACCOUNT, REGION);
}

/** Two rotations adopting one team-owned encrypted topic; a checkout role reads one key, a stager stages it. */
function adoptedDeployment() {
  const stack = new Stack(testApp(), 'Team', { env: { account: ACCOUNT, region: REGION } });
  const key = new kms.Key(stack, 'TeamKey', { enableKeyRotation: true });
  const topic = new sns.Topic(stack, 'TeamTopic', { masterKey: key, enforceSSL: true });
  const operators = [new iam.ArnPrincipal(OPERATOR)];
  const payments = new StripeKeyRotation(stack, 'Payments', {
    keyMode: 'live',
    serviceName: 'payments-stripe',
    notificationsTopic: topic,
    operatorPrincipals: operators,
  });
  new StripeKeyRotation(stack, 'Billing', {
    keyMode: 'live',
    serviceName: 'billing-stripe',
    notificationsTopic: topic,
    operatorPrincipals: operators,
  });
  const checkout = new iam.Role(stack, 'Checkout', {
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  });
  payments.grantReadKey(checkout);
  const keyWatcher = new iam.Role(stack, 'KeyWatcher', {
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  });
  payments.grantReadKeyVersions(keyWatcher);
  const stager = new iam.Role(stack, 'Stager', { assumedBy: new iam.AccountRootPrincipal() });
  payments.grantStageKey(stager);
  const deployment = new Deployment(Template.fromStack(stack).toJSON() as never, ACCOUNT, REGION);
  const roleOf = (prefix: string): Caller => {
    const id = deployment.find('AWS::IAM::Role', new RegExp(`^${prefix}[0-9A-F]{8}$`));
    return { role: deployment.arn(id), policies: deployment.identityPoliciesOfRole(id) };
  };
  return {
    deployment,
    topic: deployment.arn(deployment.find('AWS::SNS::Topic', /^TeamTopic/)),
    key: deployment.arn(deployment.find('AWS::KMS::Key', /^TeamKey/)),
    checkout: roleOf('Checkout'),
    keyWatcher: roleOf('KeyWatcher'),
    stager: roleOf('Stager'),
  };
}

type Row = readonly [string, Caller, string, string, Record<string, string | string[]>, Outcome];

/** The rows every deployment must satisfy: (who, action, resource, context) → outcome. */
function rowsFor(deployment: Deployment, prefix: string, topic: string, topicKey: string): Row[] {
  const r = rotationIn(deployment, prefix);
  const secretsManager = { service: 'secretsmanager.amazonaws.com' };
  const events = { service: 'events.amazonaws.com' };
  const cloudWatch = { service: 'cloudwatch.amazonaws.com' };
  const admin = { role: `arn:aws:iam::${ACCOUNT}:role/Admin`, policies: [EVERYTHING] };
  const someone = { role: `arn:aws:iam::${ACCOUNT}:role/SecretsAdmin`, policies: [SECRETS_ADMIN] };
  const here = { 'aws:SourceAccount': ACCOUNT };
  const current = { 'secretsmanager:VersionStage': 'AWSCURRENT' };
  const previous = { 'secretsmanager:VersionStage': 'AWSPREVIOUS' };
  const otherSecret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:other-XyZ123`;
  // prettier-ignore
  return [
    // who                           caller           action                                   resource        request context                                       outcome
    [
      'Secrets Manager, for this secret',
      secretsManager,
      'lambda:InvokeFunction',
      r.function,
      { 'aws:SourceArn': r.rotated, ...here },
      'Allowed',
    ],
    [
      'Secrets Manager, another secret',
      secretsManager,
      'lambda:InvokeFunction',
      r.function,
      { 'aws:SourceArn': otherSecret, ...here },
      'ImplicitlyDenied',
    ],
    [
      'EventBridge, the failure rule',
      events,
      'sns:Publish',
      topic,
      { 'aws:SourceArn': r.failureRule, ...here },
      'Allowed',
    ],
    [
      'EventBridge, the tamper rule',
      events,
      'sns:Publish',
      topic,
      { 'aws:SourceArn': r.tamperRule, ...here },
      'Allowed',
    ],
    [
      'EventBridge, another rule',
      events,
      'sns:Publish',
      topic,
      { 'aws:SourceArn': `${r.failureRule}x`, ...here },
      'ImplicitlyDenied',
    ],
    // The account root's DeleteSecret deny names the account: every principal of it.
    // EventBridge's KMS requests for an encrypted topic carry no aws:Source* keys.
    ['EventBridge, the topic key', events, 'kms:GenerateDataKey', topicKey, {}, 'Allowed'],
    ['EventBridge, the topic key', events, 'kms:Decrypt', topicKey, {}, 'Allowed'],
    [
      'EventBridge, the dead letters',
      events,
      'sqs:SendMessage',
      r.queue,
      { 'aws:SourceArn': r.failureRule, ...here },
      'Allowed',
    ],
    [
      'CloudWatch, a limit alarm',
      cloudWatch,
      'sns:Publish',
      topic,
      { 'aws:SourceArn': r.throttlesAlarm, ...here },
      'Allowed',
    ],
    [
      'CloudWatch, a path alarm',
      cloudWatch,
      'sns:Publish',
      topic,
      { 'aws:SourceArn': r.deadLetterAlarm, ...here },
      'ImplicitlyDenied',
    ],
    [
      'CloudWatch, a path alarm',
      cloudWatch,
      'sns:Publish',
      r.pathTopic,
      { 'aws:SourceArn': r.deadLetterAlarm, ...here },
      'Allowed',
    ],
    ['CloudWatch, the topic key', cloudWatch, 'kms:GenerateDataKey', topicKey, here, 'Allowed'],
    ['CloudWatch, the path key', cloudWatch, 'kms:GenerateDataKey', r.pathKey, here, 'Allowed'],
    [
      'CloudWatch of another account',
      cloudWatch,
      'kms:GenerateDataKey',
      r.pathKey,
      { 'aws:SourceAccount': '222222222222' },
      'ImplicitlyDenied',
    ],
    ['rotation role', r.rotationRole, 'secretsmanager:GetSecretValue', r.rotated, current, 'Allowed'],
    ['rotation role', r.rotationRole, 'secretsmanager:PutSecretValue', r.rotated, {}, 'Allowed'],
    // createSecret's verdict: the secret's versions, then an unlabelled (deprecated) one by its id.
    ['rotation role', r.rotationRole, 'secretsmanager:ListSecretVersionIds', r.rotated, {}, 'Allowed'],
    ['rotation role', r.rotationRole, 'secretsmanager:GetSecretValue', r.rotated, {}, 'Allowed'],
    ['rotation role', r.rotationRole, 'secretsmanager:UpdateSecretVersionStage', r.rotated, {}, 'Allowed'],
    ['rotation role', r.rotationRole, 'secretsmanager:DeleteSecret', r.rotated, {}, 'ExplicitlyDenied'],
    ['rotation role', r.rotationRole, 'secretsmanager:GetSecretValue', r.staged, current, 'Allowed'],
    ['rotation role', r.rotationRole, 'secretsmanager:PutSecretValue', r.staged, {}, 'Allowed'],
    ['rotation role', r.rotationRole, 'secretsmanager:GetSecretValue', r.master, current, 'Allowed'],
    ['rotation role', r.rotationRole, 'secretsmanager:PutSecretValue', r.master, {}, 'ImplicitlyDenied'],
    ['rotation role', r.rotationRole, 'dynamodb:PutItem', r.table, {}, 'Allowed'],
    ['rotation role', r.rotationRole, 'dynamodb:Scan', r.table, {}, 'ImplicitlyDenied'],
    ['rotation role', r.rotationRole, 'ssm:GetParameter', r.sites, {}, 'Allowed'],
    ['rotation role', r.rotationRole, 'ssm:PutParameter', r.sites, {}, 'ImplicitlyDenied'],
    ['operator (abort)', r.operator, 'secretsmanager:DescribeSecret', r.rotated, {}, 'Allowed'],
    ['operator (abort)', r.operator, 'secretsmanager:UpdateSecretVersionStage', r.rotated, {}, 'Allowed'],
    ['operator (status)', r.operator, 'secretsmanager:GetSecretValue', r.rotated, current, 'Allowed'],
    ['operator (status)', r.operator, 'secretsmanager:ListSecretVersionIds', r.rotated, {}, 'Allowed'],
    ['operator (plan)', r.operator, 'secretsmanager:GetSecretValue', r.staged, current, 'Allowed'],
    [
      'operator, a version by hand',
      r.operator,
      'secretsmanager:PutSecretValue',
      r.rotated,
      {},
      'ImplicitlyDenied',
    ],
    ['administrator (*:*)', admin, 'secretsmanager:PutSecretValue', r.rotated, {}, 'ExplicitlyDenied'],
    [
      'administrator (*:*)',
      admin,
      'secretsmanager:UpdateSecretVersionStage',
      r.rotated,
      {},
      'ExplicitlyDenied',
    ],
    ['administrator (*:*)', admin, 'secretsmanager:DeleteSecret', r.rotated, {}, 'ExplicitlyDenied'],
    ['administrator (*:*)', admin, 'secretsmanager:GetSecretValue', r.staged, previous, 'ExplicitlyDenied'],
    [
      'secrets administrator',
      someone,
      'secretsmanager:GetSecretValue',
      r.staged,
      previous,
      'ExplicitlyDenied',
    ],
    ['secrets administrator', someone, 'secretsmanager:PutSecretValue', r.rotated, {}, 'ExplicitlyDenied'],
    ['watchdog', r.watchdog, 'secretsmanager:DescribeSecret', r.rotated, {}, 'Allowed'],
    ['watchdog', r.watchdog, 'secretsmanager:GetSecretValue', r.rotated, current, 'ImplicitlyDenied'],
    ['watchdog', r.watchdog, 'secretsmanager:GetSecretValue', r.staged, current, 'ExplicitlyDenied'],
  ];
}

const repository = repositoryDeployment();
const repositoryTopic = rotationIn(repository, 'Rotation');
const team = adoptedDeployment();

describe.each([
  {
    name: "the repository's live stack (cdk.json)",
    deployment: repository,
    rows: rowsFor(
      repository,
      'Rotation',
      repository.arn(repository.find('AWS::SNS::Topic', /^RotationNotificationsTopic[0-9A-F]{8}$/)),
      repository.arn(repository.find('AWS::KMS::Key', /^RotationNotificationsKey/)),
    ),
    extra: [] as Row[],
  },
  {
    name: 'two rotations adopting a team-owned topic and key',
    deployment: team.deployment,
    rows: [
      ...rowsFor(team.deployment, 'Payments', team.topic, team.key),
      ...rowsFor(team.deployment, 'Billing', team.topic, team.key),
    ],
    extra: (() => {
      const payments = rotationIn(team.deployment, 'Payments');
      const billing = rotationIn(team.deployment, 'Billing');
      // prettier-ignore
      return [
        [
          'checkout (grantReadKey)',
          team.checkout,
          'secretsmanager:GetSecretValue',
          payments.rotated,
          { 'secretsmanager:VersionStage': 'AWSCURRENT' },
          'Allowed',
        ],
        [
          'checkout (grantReadKey), no label named',
          team.checkout,
          'secretsmanager:GetSecretValue',
          payments.rotated,
          {},
          'Allowed',
        ],
        [
          'checkout (grantReadKey), the key being rolled in',
          team.checkout,
          'secretsmanager:GetSecretValue',
          payments.rotated,
          { 'secretsmanager:VersionStage': 'AWSPENDING' },
          'ImplicitlyDenied',
        ],
        [
          'checkout (grantReadKey), the key rolled out',
          team.checkout,
          'secretsmanager:GetSecretValue',
          payments.rotated,
          { 'secretsmanager:VersionStage': 'AWSPREVIOUS' },
          'ImplicitlyDenied',
        ],
        [
          'checkout (grantReadKey), a version by id',
          team.checkout,
          'secretsmanager:GetSecretValue',
          payments.rotated,
          { 'secretsmanager:VersionId': 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111' },
          'ImplicitlyDenied',
        ],
        [
          'key watcher (grantReadKeyVersions), the key being rolled in',
          team.keyWatcher,
          'secretsmanager:GetSecretValue',
          payments.rotated,
          { 'secretsmanager:VersionStage': 'AWSPENDING' },
          'Allowed',
        ],
        [
          'key watcher (grantReadKeyVersions), a version by id',
          team.keyWatcher,
          'secretsmanager:GetSecretValue',
          payments.rotated,
          { 'secretsmanager:VersionId': 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111' },
          'Allowed',
        ],
        [
          'key watcher (grantReadKeyVersions), not the staged key',
          team.keyWatcher,
          'secretsmanager:GetSecretValue',
          payments.staged,
          {},
          'ExplicitlyDenied',
        ],
        [
          'checkout (grantReadKey)',
          team.checkout,
          'secretsmanager:GetSecretValue',
          payments.staged,
          { 'secretsmanager:VersionStage': 'AWSPREVIOUS' },
          'ExplicitlyDenied',
        ],
        [
          'checkout (grantReadKey)',
          team.checkout,
          'secretsmanager:PutSecretValue',
          payments.rotated,
          {},
          'ExplicitlyDenied',
        ],
        [
          'checkout, the other rotation',
          team.checkout,
          'secretsmanager:GetSecretValue',
          billing.rotated,
          {},
          'ImplicitlyDenied',
        ],
        [
          'stager (grantStageKey)',
          team.stager,
          'secretsmanager:PutSecretValue',
          payments.staged,
          {},
          'Allowed',
        ],
        [
          'stager (grantStageKey)',
          team.stager,
          'secretsmanager:GetSecretValue',
          payments.staged,
          { 'secretsmanager:VersionStage': 'AWSCURRENT' },
          'Allowed',
        ],
        [
          'stager (grantStageKey), the versions once in service',
          team.stager,
          'secretsmanager:ListSecretVersionIds',
          payments.rotated,
          {},
          'Allowed',
        ],
        [
          'stager (grantStageKey), a deprecated version by id',
          team.stager,
          'secretsmanager:GetSecretValue',
          payments.rotated,
          {},
          'Allowed',
        ],
        [
          'stager (grantStageKey)',
          team.stager,
          'secretsmanager:GetSecretValue',
          billing.staged,
          {},
          'ExplicitlyDenied',
        ],
        [
          "one rotation's role, the other's secret",
          payments.rotationRole,
          'secretsmanager:PutSecretValue',
          billing.rotated,
          {},
          'ExplicitlyDenied',
        ],
      ] as Row[];
    })(),
  },
])('$name', ({ deployment, rows, extra }) => {
  it.each([...rows, ...extra].map((row) => [row[0], row[2], row[3].split(':').slice(2, 3)[0], row[5], row]))(
    '%s: %s on %s → %s',
    async (_who, _action, _service, outcome, row) => {
      const [, caller, action, resource, context] = row as Row;
      expect(await evaluate(deployment, caller, action, resource, context)).toBe(outcome);
    },
    SYNTH_TIMEOUT,
  );

  it('holds no statement id twice in any topic, key, queue or secret policy, nor across the policies of one topic', () => {
    for (const { policy, statements } of deployment.policyStatements()) {
      const sids = statements.map((statement) => statement.Sid).filter((sid) => sid !== undefined);
      expect(sids, policy).toEqual([...new Set(sids)]);
      for (const sid of sids) expect(String(sid), policy).toMatch(/^[A-Za-z0-9]+$/);
    }
  });
});

describe('the suite itself', () => {
  it('evaluates at least 30 rows per deployment', () => {
    expect(
      rowsFor(repository, 'Rotation', repositoryTopic.pathTopic, repositoryTopic.pathKey).length,
    ).toBeGreaterThanOrEqual(30);
  });
});
