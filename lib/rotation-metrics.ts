/**
 * The rotation function's custom metrics as CloudWatch `Metric`s: the namespace, names and dimension come
 * from the contract module, so the dashboard, the construct's `metric*` methods and the function agree.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS, type MetricName, POWERTOOLS_SETTINGS } from '../core/index.js';

/** How each metric is read when the caller does not say: counts of events summed, per-push figures at their maximum. */
const DEFAULT_STATISTIC: Record<MetricName, string> = {
  RotationSucceeded: cloudwatch.Stats.SUM,
  RotationStepFailed: cloudwatch.Stats.SUM,
  SitesConfirmed: cloudwatch.Stats.MAXIMUM,
  SitesFailed: cloudwatch.Stats.MAXIMUM,
  SitesNotAttempted: cloudwatch.Stats.MAXIMUM,
  PushDuration: cloudwatch.Stats.MAXIMUM,
  StagedKeyResetFailed: cloudwatch.Stats.SUM,
};

/**
 * One of the function's metrics for the deployment named `serviceName`.
 * Defaults: the statistic above, a five-minute period.
 */
export function rotationMetric(
  serviceName: string,
  metricName: MetricName,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: POWERTOOLS_SETTINGS.metricsNamespace.default,
    metricName,
    dimensionsMap: { [METRICS.dimension]: serviceName },
    statistic: DEFAULT_STATISTIC[metricName],
    period: Duration.minutes(5),
    ...options,
  });
}
