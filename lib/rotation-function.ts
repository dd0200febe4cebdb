/**
 * The rotation function Secrets Manager invokes for each step, with its log group and (unless given) its
 * role. Its configuration is the environment the function's own loader reads back (core/config.ts).
 */
import { Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  configEnvironment,
  KEY_IN_TEXT,
  type KeyMode,
  POWERTOOLS_SETTINGS,
  SETTINGS,
} from '../core/index.js';
import { handlerAsset } from './handler-asset.js';
import type { RotationSettings } from './resolve-props.js';

export interface RotationFunctionProps {
  readonly keyMode: KeyMode;
  readonly settings: RotationSettings;
  /** The execution role given in the props; absent: one is created (id ServiceRole). */
  readonly role?: iam.IRole;
  /** Where the function finds the rest of its configuration. */
  readonly stagedSecretId: string;
  readonly masterApiKeySecretId: string;
  readonly sitesParameter: string;
  readonly ledgerTable: string;
}

export interface RotationFunction {
  readonly logGroup: logs.LogGroup;
  readonly role: iam.IRole;
  readonly rotationFunction: lambda.Function;
}

/** The function (ids LogGroup, ServiceRole, Function in `scope`). */
export function createRotationFunction(scope: Construct, props: RotationFunctionProps): RotationFunction {
  const { keyMode, settings } = props;
  const logGroup = new logs.LogGroup(scope, 'LogGroup', {
    retention: settings.logRetention,
    removalPolicy: settings.removalPolicy,
    // Defence in depth: the function never logs a key, but if a line ever held one, readers see it masked.
    dataProtectionPolicy: new logs.DataProtectionPolicy({
      name: `${settings.serviceName}-stripe-keys`,
      description: 'Masks Stripe secret and restricted keys in the rotation logs.',
      identifiers: [new logs.CustomDataIdentifier('StripeKey', KEY_IN_TEXT)],
    }),
  });

  const role =
    props.role ??
    new iam.Role(scope, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Rotation function of ${settings.serviceName}: its own secret versions, read-only elsewhere.`,
    });

  const rotationFunction = new lambda.Function(scope, 'Function', {
    description: `Rotates the Stripe ${keyMode} key of ${settings.serviceName} and pushes it to every site.`,
    // Bundled ahead of synthesis (scripts/build.ts), so the package ships it and no consumer bundles.
    code: lambda.Code.fromAsset(handlerAsset('rotation-handler')),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: settings.memorySize,
    timeout: settings.timeout,
    role,
    logGroup,
    environment: {
      // The function's own loader reads these back (core/config.ts); test/infra proves it for every option.
      ...configEnvironment({
        stagedSecretId: props.stagedSecretId,
        masterApiKeySecretId: props.masterApiKeySecretId,
        sitesParameter: props.sitesParameter,
        ledgerTable: props.ledgerTable,
        keyMode,
        whenNothingStaged: settings.whenNothingStaged,
        pushConcurrency: settings.pushConcurrency,
        siteTimeoutMs: settings.siteTimeoutMs,
        siteAttempts: settings.siteAttempts,
        canarySites: settings.canarySites,
        stripeCheck: settings.stripeCheck,
      }),
      // `String()` of a deploy-time number (a CfnParameter) is a plain string CDK no longer resolves.
      ...deployTimeNumbers({
        [SETTINGS.pushConcurrency.variable]: settings.pushConcurrency,
        [SETTINGS.siteAttempts.variable]: settings.siteAttempts,
        [SETTINGS.canarySites.variable]: settings.canarySites,
      }),
      [POWERTOOLS_SETTINGS.serviceName.variable]: settings.serviceName,
      [POWERTOOLS_SETTINGS.metricsNamespace.variable]: POWERTOOLS_SETTINGS.metricsNamespace.default,
      [POWERTOOLS_SETTINGS.logLevel.variable]: POWERTOOLS_SETTINGS.logLevel.default,
      // No NODE_OPTIONS=--enable-source-maps: it parses the 1 MB map at every cold start. The handler maps
      // the stacks of the errors it logs itself, lazily (lambda/stack-map.ts).
    },
  });

  Validations.of(rotationFunction).acknowledge(
    {
      id: 'Serverless-LambdaDLQ',
      reason:
        'Secrets Manager invokes the rotation function synchronously, step by step, and retries a failed ' +
        'rotation itself; a dead-letter queue only receives failed asynchronous invocations, which never happen.',
    },
    {
      id: 'Serverless-LambdaTracing',
      reason:
        'Every step and every site result is a structured log line with step, secret ARN, version id, site, ' +
        'status, attempt and duration, plus EMF metrics; X-Ray would add a wildcard PutTraceSegments permission ' +
        'and a segment per site request without telling more.',
    },
  );
  return { logGroup, role, rotationFunction };
}

/** The settings among `numbers` known only at deploy, as strings CDK resolves. */
function deployTimeNumbers(numbers: Record<string, number>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(numbers)
      .filter(([, value]) => Token.isUnresolved(value))
      .map(([variable, value]) => [variable, Token.asString(value)]),
  );
}
