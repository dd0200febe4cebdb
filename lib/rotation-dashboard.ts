/**
 * The dashboard of one deployment: rotation outcomes, site counts per push and push duration against the
 * function's timeout, from the function's EMF metrics (rotation-metrics.ts), beside the alarms' states.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import type { MetricName } from '../core/index.js';
import { rotationMetric } from './rotation-metrics.js';

export interface DashboardProps {
  /** The metrics' `service` dimension. */
  readonly serviceName: string;
  /** The new dashboard's name; absent, CloudFormation generates one. */
  readonly dashboardName?: string;
  /** The caller's own dashboard, which receives the widgets instead of a new one. */
  readonly existing?: cloudwatch.Dashboard;
  readonly rotationFunction: lambda.IFunction;
  /** The function's timeout, drawn on the push duration graph. */
  readonly timeout: Duration;
  /** Shown in the alarm status widget, in this order. */
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/** The widgets, on `existing` or on a new dashboard (id Dashboard in `scope`). */
export function createDashboard(scope: Construct, props: DashboardProps): cloudwatch.Dashboard {
  const { serviceName, rotationFunction, timeout, alarms } = props;
  const metric = (metricName: MetricName, statistic: string, label: string, period = Duration.hours(1)) =>
    rotationMetric(serviceName, metricName, { statistic, label, period });
  const fiveMinutes = Duration.minutes(5);
  const siteCounts = () => [
    metric('SitesConfirmed', cloudwatch.Stats.MAXIMUM, 'Confirmed', fiveMinutes),
    metric('SitesFailed', cloudwatch.Stats.MAXIMUM, 'Failed', fiveMinutes),
    metric('SitesNotAttempted', cloudwatch.Stats.MAXIMUM, 'Not attempted', fiveMinutes),
  ];
  const dashboard =
    props.existing ??
    new cloudwatch.Dashboard(scope, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(14),
    });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown:
        `# Stripe key rotation — ${serviceName}\n` +
        'A rotation succeeds only when every site confirmed the key. Site counts are emitted at the end ' +
        'of each setSecret step; a failed step lists the failing sites in the function log.',
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Rotation outcomes',
      left: [
        metric('RotationSucceeded', cloudwatch.Stats.SUM, 'Rotations succeeded'),
        metric('RotationStepFailed', cloudwatch.Stats.SUM, 'Steps failed'),
        metric('StagedKeyResetFailed', cloudwatch.Stats.SUM, 'Staged key resets failed'),
        rotationFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.hours(1) }),
      ],
      view: cloudwatch.GraphWidgetView.BAR,
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Sites per rotation (end of setSecret)',
      left: siteCounts(),
      view: cloudwatch.GraphWidgetView.BAR,
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.SingleValueWidget({
      title: 'Last push (sites)',
      metrics: siteCounts(),
      setPeriodToTimeRange: false,
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Push duration vs. function timeout',
      left: [
        metric('PushDuration', cloudwatch.Stats.MAXIMUM, 'Push duration (max)', fiveMinutes),
        rotationFunction.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period: fiveMinutes }),
      ],
      leftAnnotations: [
        {
          value: timeout.toMilliseconds(),
          label: 'Function timeout',
          color: cloudwatch.Color.RED,
        },
      ],
      width: 10,
    }),
    // Without alarms (the `alarms` prop off) there is no state to show.
    ...(alarms.length === 0
      ? []
      : [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms], width: 6 })]),
  );
  return dashboard;
}
