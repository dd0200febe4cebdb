/**
 * Builds the rotation's dependencies once (module scope in `handler.ts`) and returns the Lambda handler.
 * Overrides exist so tests and local tools can trust a test CA, or inject endpoint-bound clients, without
 * mocking modules.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbLedger } from '../adapters/aws/dynamodb-ledger.js';
import { SecretsManagerStore } from '../adapters/aws/secrets-manager.js';
import { SnsNotifier } from '../adapters/aws/sns-notifier.js';
import { SsmSiteListSource } from '../adapters/aws/ssm-site-list.js';
import type { InvocationClock, RotationDeps, RotationLedger } from '../core/index.js';
import {
  AWS_CLIENT_CONFIG,
  createSiteServices,
  loadConfig,
  METRICS,
  type MetricName,
  POWERTOOLS_SETTINGS,
  parseRotationEvent,
  rotate,
} from '../core/index.js';
import { SourceMappedLogger } from './stack-map.js';

export interface RuntimeOverrides {
  /** PEM of a CA trusted instead of the default roots, for the sites and Stripe (tests, the simulated fleet). */
  readonly ca?: string;
  readonly secretsManager?: SecretsManagerClient;
  readonly ssm?: SSMClient;
  readonly dynamodb?: DynamoDBClient;
  readonly sns?: SNSClient;
  /** Replaces the DynamoDB ledger entirely (tests focused on HTTP, local runs). */
  readonly ledger?: RotationLedger;
  readonly logger?: Logger;
}

export type RotationHandler = (event: unknown, context: InvocationClock) => Promise<void>;

export function createRotationHandler(
  env: Readonly<Record<string, string | undefined>>,
  overrides: RuntimeOverrides = {},
): RotationHandler {
  const config = loadConfig(env);
  const { serviceName: service, metricsNamespace: namespace } = POWERTOOLS_SETTINGS;
  const serviceName = env[service.variable] || service.default;
  // Logged errors carry source-mapped stacks, read from the bundle's map only when one is logged.
  const logger = overrides.logger ?? new SourceMappedLogger({ serviceName });
  const metrics = new Metrics({ namespace: env[namespace.variable] || namespace.default, serviceName });
  const record = (name: MetricName, value: number) =>
    metrics.addMetric(name, METRICS.names[name].unit, value);
  const services = createSiteServices({
    config,
    logger,
    ...(overrides.ca === undefined ? {} : { ca: overrides.ca }),
  });
  const store = new SecretsManagerStore(
    overrides.secretsManager ?? new SecretsManagerClient(AWS_CLIENT_CONFIG),
  );

  const deps: RotationDeps = {
    config,
    secrets: store,
    siteList: new SsmSiteListSource({
      client: overrides.ssm ?? new SSMClient(AWS_CLIENT_CONFIG),
      parameter: config.sitesParameter,
    }),
    keyChecker: services.keyChecker,
    pusher: services.pusher,
    ledger:
      overrides.ledger ??
      new DynamoDbLedger({
        client: DynamoDBDocumentClient.from(overrides.dynamodb ?? new DynamoDBClient(AWS_CLIENT_CONFIG)),
        tableName: config.ledgerTable,
      }),
    logger,
    metrics: { record },
    ...(config.successNoticeTopicArn === undefined
      ? {}
      : {
          notifier: new SnsNotifier(
            overrides.sns ?? new SNSClient(AWS_CLIENT_CONFIG),
            config.successNoticeTopicArn,
          ),
        }),
  };

  return async (input, context) => {
    // Identifiers only, on every line of this invocation (pusher and Stripe checker included): never RotationToken.
    const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
    logger.appendKeys({
      step: typeof raw.Step === 'string' ? raw.Step.slice(0, 40) : undefined,
      secretArn: typeof raw.SecretId === 'string' ? raw.SecretId.slice(0, 2048) : undefined,
      versionId: typeof raw.ClientRequestToken === 'string' ? raw.ClientRequestToken.slice(0, 64) : undefined,
    });
    try {
      await rotate(parseRotationEvent(input), deps, context);
    } catch (error) {
      record('RotationStepFailed', 1);
      logger.error('Rotation step failed', { error });
      throw error;
    } finally {
      metrics.publishStoredMetrics();
      logger.removeKeys(['step', 'secretArn', 'versionId']);
    }
  };
}
