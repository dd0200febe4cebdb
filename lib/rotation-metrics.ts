/**
 * The rotation function's custom metrics as CloudWatch `Metric`s: the namespace, names and dimension come
 * from the contract module, so the dashboard, the construct's `metric*` methods and the function agree.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  METRICS,
  type MetricName,
  POWERTOOLS_SETTINGS,
  WATCHDOG_INTERVAL_HOURS,
  type WatchdogMetricName,
} from '../core/index.js';

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
  return deploymentMetric(serviceName, metricName, {
    statistic: DEFAULT_STATISTIC[metricName],
    period: Duration.minutes(5),
    ...options,
  });
}

/**
 * How the watchdog's metrics are read when the caller does not say, as its alarms read them: the age of
 * the last rotation and of AWSPENDING at their lowest in the period (a late run does not inflate them),
 * rotation enabled at its highest.
 */
const WATCHDOG_STATISTIC: Record<WatchdogMetricName, string> = {
  HoursSinceLastRotation: cloudwatch.Stats.MINIMUM,
  PendingAgeHours: cloudwatch.Stats.MINIMUM,
  RotationEnabled: cloudwatch.Stats.MAXIMUM,
};

/**
 * One of the watchdog's metrics for the deployment named `serviceName`.
 * Defaults: the statistic above, the watchdog's interval as period.
 */
export function watchdogMetric(
  serviceName: string,
  metricName: WatchdogMetricName,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return deploymentMetric(serviceName, metricName, {
    statistic: WATCHDOG_STATISTIC[metricName],
    period: Duration.hours(WATCHDOG_INTERVAL_HOURS),
    ...options,
  });
}

/** A metric of the deployment named `serviceName`, in the namespace and dimension every function writes. */
function deploymentMetric(
  serviceName: string,
  metricName: string,
  options: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: POWERTOOLS_SETTINGS.metricsNamespace.default,
    metricName,
    dimensionsMap: { [METRICS.dimension]: serviceName },
    ...options,
  });
}
