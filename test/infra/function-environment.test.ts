/**
 * The environment the construct deploys, read by the function's own loader: for every configuration the
 * infrastructure tests synthesize, the function's `Environment.Variables` (CloudFormation references
 * replaced by plausible values) must load, with the values the configuration asked for. A variable the
 * construct spelled differently from core/contract.ts fails here, not at the first rotation.
 */
import { Duration, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, loadConfig, type RotatorConfig } from '../../core/config.js';
import { POWERTOOLS_SETTINGS, SETTINGS } from '../../core/contract.js';
import { buildApp } from '../../lib/app.js';
import type { StripeKeyRotationProps } from '../../lib/props.js';
import { SiteListParameter } from '../../lib/site-list.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import {
  ENV,
  identityStatements,
  LIVE_OPERATORS,
  logicalId,
  propertiesOf,
  resources,
  testApp,
  testStack,
} from './support.js';

const SYNTH_TIMEOUT = 60_000;
const ROTATED_ARN = `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:stripe/live/key-AbC123`;
const KEY_ARN = `arn:aws:kms:${ENV.region}:${ENV.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

/** What a reference stands for once deployed, by the type of the resource it names. */
function plausible(value: unknown, template: Template): string {
  if (typeof value === 'string') return value;
  const all = resources(template);
  const intrinsic = value as Record<string, unknown>;
  if (typeof intrinsic.Ref === 'string') {
    const id = intrinsic.Ref;
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': ENV.region,
      'AWS::AccountId': ENV.account,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    if (pseudo[id] !== undefined) return pseudo[id];
    const type = all[id]?.Type;
    if (type === 'AWS::SecretsManager::Secret') {
      return `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:${id}-AbCdEf`;
    }
    if (type === 'AWS::DynamoDB::Table' || type === 'AWS::SSM::Parameter') return id;
    if (type === 'AWS::SNS::Topic') return `arn:aws:sns:${ENV.region}:${ENV.account}:${id}`;
    throw new Error(`no plausible value for a Ref to ${id} (${type})`);
  }
  const getAtt = intrinsic['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
    return `arn:aws:service:${ENV.region}:${ENV.account}:resource/${String(getAtt[0])}`;
  }
  const join = intrinsic['Fn::Join'];
  if (Array.isArray(join)) {
    const [separator, parts] = join as [string, unknown[]];
    return parts.map((part) => plausible(part, template)).join(separator);
  }
  throw new Error(`no plausible value for ${JSON.stringify(value)}`);
}

/** The function's environment as it will be at run time. */
function deployedEnvironment(template: Template): Record<string, string> {
  const { Variables } = propertiesOf(template, 'AWS::Lambda::Function').Environment as {
    Variables: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(Variables).map(([name, value]) => [name, plausible(value, template)]),
  );
}

/** The ARN `plausible` gives the secret this construct created. */
function createdSecretArn(secret: IConstruct): string {
  return `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:${logicalId(secret)}-AbCdEf`;
}

/** Every variable the function (or Powertools) reads; anything else is a misspelling. */
const KNOWN_VARIABLES = new Set<string>([
  ...Object.values(SETTINGS).map((setting) => setting.variable),
  ...Object.values(POWERTOOLS_SETTINGS).map((setting) => setting.variable),
]);

function expectLoads(rotation: StripeKeyRotation, template: Template, expected: RotatorConfig): void {
  const env = deployedEnvironment(template);
  expect(Object.keys(env).filter((name) => !KNOWN_VARIABLES.has(name))).toEqual([]);
  expect(loadConfig(env)).toEqual(expected);
  expect(env[POWERTOOLS_SETTINGS.serviceName.variable]).toBe(rotation.serviceName);
  expect(env[POWERTOOLS_SETTINGS.metricsNamespace.variable]).toBe(
    POWERTOOLS_SETTINGS.metricsNamespace.default,
  );
}

function build(prepare: (stack: Stack) => StripeKeyRotationProps) {
  const stack = testStack();
  const rotation = new StripeKeyRotation(stack, 'Rotation', prepare(stack));
  return { rotation, template: Template.fromStack(stack) };
}

describe('the environment the construct gives the rotation function', () => {
  it(
    'loads as each environment of cdk.json (test and live)',
    () => {
      const stacks = buildApp(testApp(), { region: ENV.region, account: ENV.account });
      expect(stacks.map((stack) => stack.rotation.serviceName)).toEqual([
        'stripe-key-rotator-test',
        'stripe-key-rotator-live',
      ]);
      for (const stack of stacks) {
        const { rotation } = stack;
        const keyMode = rotation.serviceName.endsWith('live') ? 'live' : 'test';
        expectLoads(rotation, Template.fromStack(stack), {
          ...CONFIG_DEFAULTS,
          stagedSecretId: createdSecretArn(rotation.stagedKeySecret),
          masterApiKeySecretId: createdSecretArn(rotation.masterApiKeySecret),
          sitesParameter: `/${rotation.serviceName}/sites`,
          ledgerTable: logicalId(rotation.ledgerTable),
          keyMode,
        });
      }
    },
    SYNTH_TIMEOUT,
  );

  it(
    'loads as an environment of cdk.json setting every tuning option',
    () => {
      const app = testApp({
        context: {
          environment: 'tuned',
          environments: {
            tuned: {
              keyMode: 'test',
              serviceName: 'shop-fleet',
              whenNothingStaged: 'fail',
              pushConcurrency: 256,
              siteTimeoutMs: 120_000,
              siteAttempts: 10,
              canarySites: 0,
              stripeCheck: false,
              timeoutSeconds: 900,
              rotatedSecret: { arn: ROTATED_ARN, kmsKeyArn: KEY_ARN },
              siteList: { path: '/stripe/test/sites/', kmsKeyArn: KEY_ARN },
            },
          },
        },
      });
      const [stack] = buildApp(app, ENV);
      if (stack === undefined) throw new Error('expected the tuned stack');
      const { rotation } = stack;
      expectLoads(rotation, Template.fromStack(stack), {
        stagedSecretId: createdSecretArn(rotation.stagedKeySecret),
        masterApiKeySecretId: createdSecretArn(rotation.masterApiKeySecret),
        sitesParameter: '/stripe/test/sites/',
        ledgerTable: logicalId(rotation.ledgerTable),
        keyMode: 'test',
        whenNothingStaged: 'fail',
        pushConcurrency: 256,
        siteTimeoutMs: 120_000,
        siteAttempts: 10,
        canarySites: 0,
        stripeCheck: false,
        stripeApiBase: CONFIG_DEFAULTS.stripeApiBase,
      });
    },
    SYNTH_TIMEOUT,
  );

  it(
    'loads as a construct with every tuning prop set',
    () => {
      const { rotation, template } = build(() => ({
        keyMode: 'test',
        serviceName: 'shop-fleet',
        whenNothingStaged: 'fail',
        pushConcurrency: 32,
        siteTimeout: Duration.seconds(20),
        siteAttempts: 5,
        canarySites: 3,
        stripeCheck: false,
        timeout: Duration.minutes(10),
        notificationEmails: ['ops@example.com'],
      }));
      expectLoads(rotation, template, {
        stagedSecretId: createdSecretArn(rotation.stagedKeySecret),
        masterApiKeySecretId: createdSecretArn(rotation.masterApiKeySecret),
        // A generated name: the parameter's Ref.
        sitesParameter: logicalId(rotation.sitesParameter),
        ledgerTable: logicalId(rotation.ledgerTable),
        keyMode: 'test',
        whenNothingStaged: 'fail',
        pushConcurrency: 32,
        siteTimeoutMs: 20_000,
        siteAttempts: 5,
        canarySites: 3,
        stripeCheck: false,
        stripeApiBase: CONFIG_DEFAULTS.stripeApiBase,
      });
    },
    SYNTH_TIMEOUT,
  );

  it(
    'loads with notifyOnSuccess as a configuration naming the notifications topic, which the function may publish to',
    () => {
      const { rotation, template } = build(() => ({
        keyMode: 'live',
        operatorPrincipals: LIVE_OPERATORS,
        notifyOnSuccess: true,
      }));
      const topicId = logicalId(rotation.notificationsTopic);
      expectLoads(rotation, template, {
        ...CONFIG_DEFAULTS,
        stagedSecretId: createdSecretArn(rotation.stagedKeySecret),
        masterApiKeySecretId: createdSecretArn(rotation.masterApiKeySecret),
        sitesParameter: logicalId(rotation.sitesParameter),
        ledgerTable: logicalId(rotation.ledgerTable),
        keyMode: 'live',
        successNoticeTopicArn: `arn:aws:sns:${ENV.region}:${ENV.account}:${topicId}`,
      });
      expect(identityStatements(template)).toContainEqual({
        Sid: 'PublishSuccessNotice',
        Action: 'sns:Publish',
        Effect: 'Allow',
        Resource: { Ref: topicId },
      });
      expect(identityStatements(template)).toContainEqual({
        Sid: 'EncryptSuccessNotice',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(rotation.notificationsTopic.masterKey ?? rotation), 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': `sns.${ENV.region}.amazonaws.com` } },
      });
      const without = build(() => ({ keyMode: 'live', operatorPrincipals: LIVE_OPERATORS }));
      expect(JSON.stringify(identityStatements(without.template))).not.toContain('sns:Publish');
    },
    SYNTH_TIMEOUT,
  );

  it(
    'loads as a construct adopting existing secrets, a customer managed key and a site-list path',
    () => {
      const { rotation, template } = build((stack) => ({
        keyMode: 'live',
        operatorPrincipals: LIVE_OPERATORS,
        encryptionKey: new kms.Key(stack, 'SecretsKey', { enableKeyRotation: true }),
        rotatedSecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Rotated', {
          secretCompleteArn: ROTATED_ARN,
        }),
        masterApiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Master', 'stripe/master'),
        siteList: SiteListParameter.fromPath('/stripe/live/sites/'),
      }));
      expectLoads(rotation, template, {
        ...CONFIG_DEFAULTS,
        stagedSecretId: createdSecretArn(rotation.stagedKeySecret),
        masterApiKeySecretId: `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:stripe/master`,
        sitesParameter: '/stripe/live/sites/',
        ledgerTable: logicalId(rotation.ledgerTable),
        keyMode: 'live',
      });
    },
    SYNTH_TIMEOUT,
  );

  it(
    'loads as a construct reading an existing site-list parameter by name',
    () => {
      const { rotation, template } = build(() => ({
        keyMode: 'live',
        operatorPrincipals: LIVE_OPERATORS,
        siteList: SiteListParameter.fromName('/stripe/live/sites'),
      }));
      expectLoads(rotation, template, {
        ...CONFIG_DEFAULTS,
        stagedSecretId: createdSecretArn(rotation.stagedKeySecret),
        masterApiKeySecretId: createdSecretArn(rotation.masterApiKeySecret),
        sitesParameter: '/stripe/live/sites',
        ledgerTable: logicalId(rotation.ledgerTable),
        keyMode: 'live',
      });
    },
    SYNTH_TIMEOUT,
  );
});
