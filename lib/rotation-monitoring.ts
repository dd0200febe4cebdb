/**
 * What tells people about a rotation: the notifications topic (failed, abandoned and failed-test rotations,
 * changes made outside the rotation, alarms), the notification path's own alarms and the dashboard. Separate
 * from the resources it watches, as cdk-monitoring-constructs separates monitoring from the monitored
 * resource; each part is a small module of its own, and this class only puts them together, in order.
 *
 * Not a construct of its own: it builds into the scope it is given, so that `StripeKeyRotation` keeps the
 * construct paths, and hence the logical IDs, of stacks already deployed.
 */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { createFailureRule } from './failure-rule.js';
import { createDeadLetterQueue } from './notice-delivery.js';
import { createPathAlarms, createPathTopic } from './notification-path.js';
import { createNotificationsTopic } from './notifications-topic.js';
import { createErrorsAlarm, createLimitAlarms, createStagedKeyResetAlarm } from './rotation-alarms.js';
import { createDashboard } from './rotation-dashboard.js';
import { createTamperRule } from './tamper-rule.js';
import { allowAlarmsToPublish, allowRulesToPublish } from './topic-access.js';

export interface RotationMonitoringProps {
  /** The deployment's name: the metrics' `service` dimension, the dashboard's name. */
  readonly serviceName: string;
  readonly rotatedSecret: secretsmanager.ISecret;
  readonly rotationFunction: lambda.IFunction;
  /** The function's timeout, drawn on the push duration graph. */
  readonly timeout: Duration;
  /** Named in the notifications: where the failing step and the per-site results are. */
  readonly logGroup: logs.ILogGroup;
  readonly notificationEmails: readonly string[];
  /** The operator's own topic; absent: a topic with its own key is created. */
  readonly topic?: sns.ITopic;
  /** Of the topic's key. */
  readonly removalPolicy: RemovalPolicy;
  /** The rotation function's role: its own writes to the rotated secret are no tamper notice. */
  readonly rotationRole: iam.IRole;
  /** The rotated secret's name, as a caller may pass it for `secretId`. */
  readonly rotatedSecretName: string;
  /** Whether to create the alarms and the notification path's own topic. */
  readonly alarms: boolean;
  /** A new dashboard (`true`), none, or the caller's own, which receives the widgets. */
  readonly dashboard: boolean | cloudwatch.Dashboard;
  /** The new dashboard's name; absent, CloudFormation generates one. */
  readonly dashboardName?: string;
}

export class RotationMonitoring {
  /** Failed, abandoned and failed-test rotations, the notification path and watchdog alarms. */
  readonly topic: sns.ITopic;
  readonly failureRule: events.Rule;
  /** A change to the rotated secret's value, labels or policy by anyone but the rotation function. */
  readonly tamperRule: events.Rule;
  /**
   * Where the alarms on the notification path itself notify: its own topic and key, so that a broken
   * `topic`, topic policy or topic key cannot silence the alarm that says so.
   */
  readonly pathTopic?: sns.Topic;
  readonly errorsAlarm?: cloudwatch.Alarm;
  /** Failure notices EventBridge could not deliver. */
  readonly deadLetterQueue: sqs.Queue;
  /**
   * Every alarm created here, in dashboard order: errors, the notification path (rule delivery failures, dead
   * letters), the function's limits (duration, throttles), the staged key reset. Empty without `alarms`.
   */
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard?: cloudwatch.Dashboard;

  /**
   * Creates the resources in `scope`. The order below is the order of the resources in the template and of
   * the statements in the shared policies: keep it.
   */
  constructor(scope: Construct, props: RotationMonitoringProps) {
    const { serviceName, rotationFunction } = props;
    this.deadLetterQueue = createDeadLetterQueue(scope);
    this.topic = createNotificationsTopic(scope, props, this.deadLetterQueue);
    if (props.alarms) this.pathTopic = createPathTopic(scope, props, this.deadLetterQueue);
    const delivery = { topic: this.topic, deadLetterQueue: this.deadLetterQueue };
    this.failureRule = createFailureRule(scope, props, delivery);
    this.tamperRule = createTamperRule(scope, props, delivery);
    const alarms: cloudwatch.Alarm[] = [];
    /** The alarms that notify `topic` (the notification path's notify `pathTopic`). */
    const onTopic: cloudwatch.Alarm[] = [];
    if (this.pathTopic !== undefined) {
      this.errorsAlarm = createErrorsAlarm(scope, serviceName, rotationFunction);
      const pathAlarms = createPathAlarms(scope, {
        serviceName,
        pathTopic: this.pathTopic,
        failureRule: this.failureRule,
        tamperRule: this.tamperRule,
        deadLetterQueue: this.deadLetterQueue,
      });
      const limitAlarms = createLimitAlarms(scope, serviceName, rotationFunction, props.timeout);
      for (const alarm of limitAlarms) alarm.addAlarmAction(new SnsAction(this.topic));
      const stagedKeyResetAlarm = createStagedKeyResetAlarm(scope, serviceName);
      stagedKeyResetAlarm.addAlarmAction(new SnsAction(this.topic));
      alarms.push(this.errorsAlarm, ...pathAlarms, ...limitAlarms, stagedKeyResetAlarm);
      onTopic.push(...limitAlarms, stagedKeyResetAlarm);
    }
    allowRulesToPublish(scope, this.topic, 'RulesPublish', [this.failureRule, this.tamperRule]);
    if (onTopic.length > 0) allowAlarmsToPublish(scope, this.topic, 'RotationAlarmsPublish', onTopic);
    this.alarms = alarms;
    if (props.dashboard !== false) {
      this.dashboard = createDashboard(scope, {
        serviceName,
        dashboardName: props.dashboardName,
        existing: props.dashboard === true ? undefined : props.dashboard,
        rotationFunction,
        timeout: props.timeout,
        alarms,
      });
    }
  }
}
