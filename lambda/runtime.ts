/**
 * Builds the rotation's dependencies once (module scope in `handler.ts`) and returns the Lambda handler.
 * Overrides exist so tests and local tools can trust a test CA, or inject endpoint-bound clients, without
 * mocking modules.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createDeps } from '../adapters/aws/index.js';
import type { InvocationClock, RotationLedger } from '../core/index.js';
import {
  loadConfig,
  METRICS,
  type MetricName,
  POWERTOOLS_SETTINGS,
  parseRotationEvent,
  rotate,
} from '../core/index.js';
import { SourceMappedLogger } from './stack-map.js';

/**
 * Kept from the invocation's remaining time for the step to record its failure after an AWS call gave up;
 * near the end a call still gets what is left, up to AWS_CALL_FLOOR_MS (a fast call can still succeed).
 */
const AWS_CALL_MARGIN_MS = 2_000;
const AWS_CALL_FLOOR_MS = 1_000;

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
  // AWS calls end at their deadline, and never after the invocation would be killed.
  let invocation: InvocationClock | undefined;
  const aws = createDeps({
    remainingTimeMs: () => {
      if (invocation === undefined) return undefined;
      const remaining = invocation.getRemainingTimeInMillis();
      return Math.min(remaining, Math.max(remaining - AWS_CALL_MARGIN_MS, AWS_CALL_FLOOR_MS));
    },
    clients: overrides,
  });
  const { deps } = aws.rotationDeps({
    config,
    logger,
    metrics: { record },
    ca: overrides.ca,
    ledger: overrides.ledger,
  });

  return async (input, context) => {
    // Identifiers only, on every line of this invocation (pusher and Stripe checker included): never RotationToken.
    const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
    logger.appendKeys({
      step: typeof raw.Step === 'string' ? raw.Step.slice(0, 40) : undefined,
      secretArn: typeof raw.SecretId === 'string' ? raw.SecretId.slice(0, 2048) : undefined,
      versionId: typeof raw.ClientRequestToken === 'string' ? raw.ClientRequestToken.slice(0, 64) : undefined,
    });
    invocation = context;
    try {
      await rotate(parseRotationEvent(input), deps, context);
    } catch (error) {
      record('RotationStepFailed', 1);
      logger.error('Rotation step failed', { error });
      throw error;
    } finally {
      invocation = undefined;
      metrics.publishStoredMetrics();
      logger.removeKeys(['step', 'secretArn', 'versionId']);
    }
  };
}
