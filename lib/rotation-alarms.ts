/**
 * The alarms on the rotation function itself: its errors, its limits (throttles, duration near the timeout)
 * and a staged key secret left holding the key in service.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { NOTHING_STAGED } from '../core/index.js';
import { rotationMetric } from './rotation-metrics.js';

/** An alarm (id `id` in `scope`) on any datapoint of `metric` at 1 or more; no data is no alarm. */
export function atLeastOne(
  scope: Construct,
  id: string,
  metric: cloudwatch.Metric,
  alarmDescription: string,
): cloudwatch.Alarm {
  return metric.createAlarm(scope, id, {
    alarmDescription,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/** Any failed step (id ErrorsAlarm). */
export function createErrorsAlarm(
  scope: Construct,
  serviceName: string,
  rotationFunction: lambda.IFunction,
): cloudwatch.Alarm {
  return atLeastOne(
    scope,
    'ErrorsAlarm',
    rotationFunction.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    `A rotation step of ${serviceName} failed (Lambda Errors). AWSCURRENT is unchanged; ` +
      'Secrets Manager retries the rotation. See the function log group for the step and the sites. ' +
      'No notification: the failure rule sends one message per failed rotation, with its error message.',
  );
}

/** The function's limits: throttles and duration near the timeout (ids ThrottlesAlarm, DurationAlarm). */
export function createLimitAlarms(
  scope: Construct,
  serviceName: string,
  rotationFunction: lambda.IFunction,
  timeout: Duration,
): cloudwatch.Alarm[] {
  const fiveMinutes = Duration.minutes(5);
  return [
    atLeastOne(
      scope,
      'ThrottlesAlarm',
      rotationFunction.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: fiveMinutes }),
      `The rotation function was throttled: a rotation step did not run. Check the account concurrency (${serviceName}).`,
    ),
    rotationFunction
      .metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period: fiveMinutes })
      .createAlarm(scope, 'DurationAlarm', {
        alarmDescription:
          `A rotation step of ${serviceName} ran longer than 80% of the function timeout: the push is close to ` +
          'being cut off. Raise the timeout or pushConcurrency, or look for slow sites in the log.',
        threshold: Math.floor(timeout.toMilliseconds() * 0.8),
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
  ];
}

/** A finished rotation left the key in service in the staged key secret too (id StagedKeyResetFailedAlarm). */
export function createStagedKeyResetAlarm(scope: Construct, serviceName: string): cloudwatch.Alarm {
  return atLeastOne(
    scope,
    'StagedKeyResetFailedAlarm',
    rotationMetric(serviceName, 'StagedKeyResetFailed'),
    `A rotation of ${serviceName} finished, but the staged key secret could not be reset: it still holds ` +
      `the key now in service. Put "${NOTHING_STAGED.placeholder}" in it by hand (the rotation log says why the reset failed).`,
  );
}
