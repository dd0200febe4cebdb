/**
 * The watchdog's handler, built once at cold start: reads the rotated secret's rotation state, publishes
 * HoursSinceLastRotation, PendingAgeHours and RotationEnabled, and logs what an operator must do. The alarms
 * on these metrics (missing data = breaching) notify; the watchdog itself never publishes to the topic.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { withCallDeadline } from '../adapters/aws/index.js';
import { SecretsManagerRotationState } from '../adapters/aws/secret-rotation-state.js';
import type { RotationStateReader } from '../core/index.js';
import {
  AWS_CALL_DEADLINE_MS,
  AWS_CLIENT_CONFIG,
  assessStaleness,
  ConfigurationError,
  POWERTOOLS_SETTINGS,
  range,
  STALENESS_ADVICE,
  type StalenessLimits,
  type StalenessReport,
  WATCHDOG_METRICS,
  WATCHDOG_SETTINGS,
} from '../core/index.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface WatchdogConfig extends StalenessLimits {
  readonly rotatedSecretId: string;
}

export function loadWatchdogConfig(env: Env): WatchdogConfig {
  const problems: string[] = [];
  const { rotatedSecretId, overdueAfterHours, pendingMaxHours } = WATCHDOG_SETTINGS;
  const secretId = env[rotatedSecretId.variable]?.trim() ?? '';
  if (!secretId)
    problems.push(`${rotatedSecretId.variable} is not set: it must name ${rotatedSecretId.meaning}`);
  const hours = (setting: typeof overdueAfterHours | typeof pendingMaxHours): number => {
    const raw = env[setting.variable]?.trim();
    if (!raw) {
      if ('default' in setting) return setting.default;
      problems.push(`${setting.variable} is not set: it must give ${setting.meaning} (${range(setting)})`);
      return setting.min;
    }
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < setting.min || value > setting.max) {
      problems.push(`${setting.variable}="${raw}" is not a whole number in ${range(setting)}`);
    }
    return value;
  };
  const config = {
    rotatedSecretId: secretId,
    overdueAfterHours: hours(overdueAfterHours),
    pendingMaxHours: hours(pendingMaxHours),
  };
  if (problems.length > 0) {
    throw new ConfigurationError('The watchdog is misconfigured; fix its environment variables:', {
      problems,
    });
  }
  return config;
}

export interface WatchdogOverrides {
  readonly secretsManager?: SecretsManagerClient;
  readonly reader?: RotationStateReader;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => Date;
}

export type WatchdogHandler = () => Promise<StalenessReport>;

export function createWatchdogHandler(env: Env, overrides: WatchdogOverrides = {}): WatchdogHandler {
  const config = loadWatchdogConfig(env);
  const { serviceName: service, metricsNamespace: namespace } = POWERTOOLS_SETTINGS;
  const serviceName = env[service.variable] || service.default;
  const logger = overrides.logger ?? new Logger({ serviceName });
  const metrics =
    overrides.metrics ??
    new Metrics({ namespace: env[namespace.variable] || namespace.default, serviceName });
  const reader =
    overrides.reader ??
    new SecretsManagerRotationState(
      withCallDeadline(
        overrides.secretsManager ?? new SecretsManagerClient(AWS_CLIENT_CONFIG),
        'Secrets Manager',
        () => AWS_CALL_DEADLINE_MS,
      ),
    );
  const now = overrides.now ?? (() => new Date());

  return async () => {
    // A failure to read publishes nothing: the alarms treat the missing data as breaching.
    const state = await reader.rotationState(config.rotatedSecretId);
    const report = assessStaleness(state, now(), config);
    const values: Record<keyof typeof WATCHDOG_METRICS, number> = {
      HoursSinceLastRotation: report.hoursSinceLastRotation,
      PendingAgeHours: report.pendingAgeHours,
      RotationEnabled: report.rotationEnabled ? 1 : 0,
    };
    for (const [name, value] of Object.entries(values) as [keyof typeof WATCHDOG_METRICS, number][]) {
      metrics.addMetric(name, WATCHDOG_METRICS[name].unit, value);
    }
    metrics.publishStoredMetrics();
    const details = {
      secretArn: state.arn,
      ...values,
      limits: { overdueAfterHours: config.overdueAfterHours, pendingMaxHours: config.pendingMaxHours },
    };
    if (report.findings.length === 0) logger.info('Rotation is healthy', details);
    else {
      logger.warn('Rotation needs attention', {
        ...details,
        findings: report.findings.map((finding) => ({ finding, todo: STALENESS_ADVICE[finding] })),
      });
    }
    return report;
  };
}
