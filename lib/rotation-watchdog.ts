/**
 * Staleness detection that works with any schedule: a small function (same sources as the rotation, its
 * own entry lambda/watchdog.ts) runs every WATCHDOG_INTERVAL_HOURS and publishes the rotated secret's
 * HoursSinceLastRotation, PendingAgeHours and RotationEnabled; one alarm per metric notifies the topic.
 * Missing data is breaching, so a watchdog that stops (removed permission, throttling, a broken deploy)
 * alarms too. A metric alarm on "no success for N days" cannot exist: CloudWatch caps an alarm's
 * period × evaluation periods at 7 days, shorter than most rotation schedules.
 */
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import {
  POWERTOOLS_SETTINGS,
  STALENESS_ADVICE,
  WATCHDOG_ALARM_PERIODS,
  WATCHDOG_INTERVAL_HOURS,
  WATCHDOG_SETTINGS,
  type WatchdogMetricName,
} from '../core/index.js';
import { handlerAsset } from './handler-asset.js';
import { watchdogMetric } from './rotation-metrics.js';
import { allowAlarmsToPublish } from './topic-access.js';

export interface RotationWatchdogProps {
  readonly serviceName: string;
  readonly rotatedSecret: secretsmanager.ISecret;
  readonly topic: sns.ITopic;
  readonly overdueAfterHours: number;
  readonly pendingMaxHours: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Whether to alarm on the metrics (the construct's `alarms` prop). */
  readonly alarms: boolean;
}

/** The staleness watchdog of a `StripeKeyRotation`: its function, its schedule and its alarms. */
export interface IRotationWatchdog {
  /** Publishes the rotated secret's rotation state as metrics. */
  readonly function: lambda.IFunction;
  /** Runs the function every `WATCHDOG_INTERVAL_HOURS`. */
  readonly schedule: events.IRule;
  /** No rotation succeeded for longer than `overdueAfter`; absent with `alarms: false`. */
  readonly overdueAlarm?: cloudwatch.IAlarm;
  /** An AWSPENDING version older than `pendingMaxAge`; absent with `alarms: false`. */
  readonly pendingAlarm?: cloudwatch.IAlarm;
  /** Rotation disabled on the rotated secret; absent with `alarms: false`. */
  readonly disabledAlarm?: cloudwatch.IAlarm;
}

export class RotationWatchdog implements IRotationWatchdog {
  readonly function: lambda.IFunction;
  readonly schedule: events.IRule;
  readonly overdueAlarm?: cloudwatch.Alarm;
  readonly pendingAlarm?: cloudwatch.Alarm;
  readonly disabledAlarm?: cloudwatch.Alarm;

  /** Creates the resources in `scope` (ids Watchdog*). */
  constructor(scope: Construct, props: RotationWatchdogProps) {
    const { serviceName, rotatedSecret } = props;
    const logGroup = new logs.LogGroup(scope, 'WatchdogLogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const role = new iam.Role(scope, 'WatchdogRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Rotation watchdog of ${serviceName}: reads the rotated secret's rotation state, nothing else.`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadRotationState',
        // Metadata only: neither call returns a secret value, so no GetSecretValue and no kms:Decrypt.
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds'],
        resources: [rotatedSecret.secretFullArn ?? `${rotatedSecret.secretArn}-??????`],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    const watchdogFunction = new lambda.Function(scope, 'WatchdogFunction', {
      // Pre-built like the rotation function (scripts/build.ts).
      code: lambda.Code.fromAsset(handlerAsset('watchdog')),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      description: `Publishes the rotation state of the Stripe key secret of ${serviceName} (staleness alarms).`,
      memorySize: 256,
      timeout: Duration.seconds(60),
      role,
      logGroup,
      environment: {
        [WATCHDOG_SETTINGS.rotatedSecretId.variable]: rotatedSecret.secretArn,
        [WATCHDOG_SETTINGS.overdueAfterHours.variable]: String(props.overdueAfterHours),
        [WATCHDOG_SETTINGS.pendingMaxHours.variable]: String(props.pendingMaxHours),
        [POWERTOOLS_SETTINGS.serviceName.variable]: serviceName,
        [POWERTOOLS_SETTINGS.metricsNamespace.variable]: POWERTOOLS_SETTINGS.metricsNamespace.default,
        [POWERTOOLS_SETTINGS.logLevel.variable]: POWERTOOLS_SETTINGS.logLevel.default,
      },
    });

    this.function = watchdogFunction;
    const schedule = new events.Rule(scope, 'WatchdogSchedule', {
      description: `Runs the rotation watchdog of ${serviceName}.`,
      schedule: events.Schedule.rate(Duration.hours(WATCHDOG_INTERVAL_HOURS)),
      targets: [new targets.LambdaFunction(watchdogFunction, { retryAttempts: 2 })],
    });
    this.schedule = schedule;
    // A run that never happens is already an alert: its alarms treat missing data as breaching.
    const missedRunIsAlarmed =
      'A lost watchdog run publishes no metric, and every watchdog alarm treats missing data as breaching ' +
      '(3 hours): the loss is notified without a dead-letter queue to watch.';
    Validations.of(schedule).acknowledge({ id: 'Serverless-EventBusDLQ', reason: missedRunIsAlarmed });
    Validations.of(watchdogFunction).acknowledge(
      { id: 'Serverless-LambdaDLQ', reason: missedRunIsAlarmed },
      {
        id: 'Serverless-LambdaTracing',
        reason:
          'Two read-only Secrets Manager calls per run, logged as structured JSON; X-Ray would add a wildcard ' +
          'PutTraceSegments permission for no diagnostic gain.',
      },
    );

    if (!props.alarms) return;
    const alarm = (
      id: string,
      metricName: WatchdogMetricName,
      comparisonOperator: cloudwatch.ComparisonOperator,
      threshold: number,
      what: string,
      todo: string,
    ) => {
      const created = watchdogMetric(serviceName, metricName).createAlarm(scope, `Watchdog${id}`, {
        alarmDescription:
          `${what} (${serviceName}). ${todo} Also fires when the watchdog stopped reporting for ` +
          `${WATCHDOG_ALARM_PERIODS} hours: then read log group ${logGroup.logGroupName}.`,
        threshold,
        comparisonOperator,
        evaluationPeriods: WATCHDOG_ALARM_PERIODS,
        datapointsToAlarm: WATCHDOG_ALARM_PERIODS,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      created.addAlarmAction(new SnsAction(props.topic));
      return created;
    };
    const above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    this.overdueAlarm = alarm(
      'OverdueAlarm',
      'HoursSinceLastRotation',
      above,
      props.overdueAfterHours,
      `No rotation succeeded in the last ${props.overdueAfterHours} hours (schedule period plus window)`,
      STALENESS_ADVICE.rotation_overdue,
    );
    this.pendingAlarm = alarm(
      'PendingAlarm',
      'PendingAgeHours',
      above,
      props.pendingMaxHours,
      `An AWSPENDING version is older than ${props.pendingMaxHours} hours`,
      STALENESS_ADVICE.pending_stuck,
    );
    this.disabledAlarm = alarm(
      'DisabledAlarm',
      'RotationEnabled',
      cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      1,
      'Rotation is disabled on the rotated secret',
      STALENESS_ADVICE.rotation_disabled,
    );

    allowAlarmsToPublish(scope, props.topic, 'WatchdogAlarmsPublish', this.alarms);
  }

  /** The alarms, none with `alarms: false`. */
  get alarms(): cloudwatch.Alarm[] {
    return [this.overdueAlarm, this.pendingAlarm, this.disabledAlarm].filter(
      (alarm): alarm is cloudwatch.Alarm => alarm !== undefined,
    );
  }
}
