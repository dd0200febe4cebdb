/**
 * What tells people about a rotation: the notifications topic (failed, abandoned and failed-test rotations,
 * function errors) and the dashboard of the function's EMF metrics. Separate from the resources it watches,
 * as cdk-monitoring-constructs separates monitoring from the monitored resource.
 *
 * Not a construct of its own: it builds into the scope it is given, so that `StripeKeyRotation` keeps the
 * construct paths, and hence the logical IDs, of stacks already deployed.
 */
import { Annotations, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type MetricName, NOTHING_STAGED } from '../core/index.js';
import { rotationMetric } from './rotation-metrics.js';

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
}

/** Secrets Manager's events for a failed, abandoned or failed-test rotation of `rotatedSecret` (via CloudTrail). */
export function rotationFailurePattern(rotatedSecret: secretsmanager.ISecret): events.EventPattern {
  return {
    source: ['aws.secretsmanager'],
    detailType: ['AWS Service Event via CloudTrail'],
    detail: {
      eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'],
      additionalEventData: {
        // An imported secret known by name only: match its full ARN by prefix.
        SecretId:
          rotatedSecret.secretFullArn === undefined
            ? [{ prefix: rotatedSecret.secretArn }]
            : [rotatedSecret.secretArn],
      },
    },
  };
}

/**
 * Adds a statement to a topic's resource policy, or its key's, and warns at synth when it cannot (an imported
 * topic or key): notices would then be dropped until someone adds the statement by hand.
 */
export function allowOnTopic(
  scope: Construct,
  target: { addToResourcePolicy(statement: iam.PolicyStatement): { statementAdded: boolean } },
  what: string,
  statement: iam.PolicyStatement,
): void {
  if (!target.addToResourcePolicy(statement).statementAdded) {
    Annotations.of(scope).addWarningV2(
      `stripe-key-rotator:notificationsTopic:${statement.sid ?? 'statement'}`,
      `The ${what} of notificationsTopic is imported, so statement ${statement.sid} could not be added: ` +
        `add it yourself or notices will not arrive: ${JSON.stringify(Stack.of(scope).resolve(statement.toStatementJson()))}`,
    );
  }
}

export class RotationMonitoring {
  /** Failed, abandoned and failed-test rotations, the notification path and watchdog alarms. */
  readonly topic: sns.ITopic;
  readonly failureRule: events.Rule;
  readonly errorsAlarm: cloudwatch.Alarm;
  /** Failure notices EventBridge could not deliver. */
  readonly deadLetterQueue: sqs.Queue;
  /** The notification path and the function's limits: rule delivery failures, dead letters, duration, throttles. */
  readonly pathAlarms: cloudwatch.Alarm[];
  /** A finished rotation left the key in service in the staged key secret too (its reset failed). */
  readonly stagedKeyResetAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

  /** Creates the resources in `scope` (ids NotificationsKey, NotificationsTopic, RotationFailureRule, ErrorsAlarm, Dashboard). */
  constructor(
    private readonly scope: Construct,
    private readonly props: RotationMonitoringProps,
  ) {
    // A notice EventBridge cannot deliver (a wrong key or topic policy), or SNS cannot deliver to a
    // subscriber, lands here after the retries, and alarms.
    this.deadLetterQueue = new sqs.Queue(scope, 'NotificationsDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.topic = this.buildTopic();
    this.failureRule = this.buildFailureRule();
    this.errorsAlarm = this.buildErrorsAlarm();
    this.pathAlarms = this.buildPathAlarms();
    this.stagedKeyResetAlarm = this.buildStagedKeyResetAlarm();
    this.allowPublishing();
    this.dashboard = this.buildDashboard();
  }

  private buildTopic(): sns.ITopic {
    const { serviceName, removalPolicy } = this.props;
    let topic = this.props.topic;
    if (topic === undefined) {
      // SNS's AWS managed key cannot be used by EventBridge or CloudWatch alarms: the topic needs its own key.
      const topicKey = new kms.Key(this.scope, 'NotificationsKey', {
        description: `Encrypts the rotation notifications topic of ${serviceName}.`,
        enableKeyRotation: true,
        removalPolicy,
      });
      topic = new sns.Topic(this.scope, 'NotificationsTopic', {
        displayName: `Stripe key rotation (${serviceName})`,
        masterKey: topicKey,
        enforceSSL: true,
      });
    }
    if (topic.masterKey !== undefined) {
      allowOnTopic(
        this.scope,
        topic.masterKey,
        'KMS key',
        new iam.PolicyStatement({
          sid: 'LetEventBridgeAndAlarmsPublish',
          principals: [
            new iam.ServicePrincipal('events.amazonaws.com'),
            new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
          ],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
          // Confused-deputy guard: only this account's rules and alarms.
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this.scope).account } },
        }),
      );
    }
    for (const email of this.props.notificationEmails) {
      topic.addSubscription(new EmailSubscription(email, { deadLetterQueue: this.deadLetterQueue }));
    }
    return topic;
  }

  private buildFailureRule(): events.Rule {
    const { serviceName, rotatedSecret, logGroup } = this.props;
    const rule = new events.Rule(this.scope, 'RotationFailureRule', {
      description: `Failed, abandoned or failed-test rotations of the Stripe key secret of ${serviceName}.`,
      eventPattern: rotationFailurePattern(rotatedSecret),
    });
    // Secrets Manager's errorMessage names the failing step and function ("Error when executing lambda <arn>
    // during setSecret step"), not the function's own error: that one is in the log group the message names.
    const message = events.RuleTargetInput.fromText(
      `Stripe key rotation ${events.EventField.fromPath('$.detail.eventName')} for ` +
        `${events.EventField.fromPath('$.detail.additionalEventData.SecretId')} at ${events.EventField.time}. ` +
        `Secrets Manager: ${events.EventField.fromPath('$.detail.errorMessage')}. ` +
        'AWSCURRENT moves only after every site confirmed: unless the ledger shows this rotation finished, the ' +
        "key in service is unchanged. The function's own error and the per-site results are in log " +
        `group ${logGroup.logGroupName} (search for "Rotation step failed") and on dashboard ${serviceName}.`,
    );
    this.deadLetterQueue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'FailureRuleDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
      }),
    );
    Validations.of(this.deadLetterQueue).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is the dead-letter queue of the failure rule; its depth is alarmed on.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'This queue is itself the dead-letter queue of the failure rule: nothing consumes it to redrive from, ' +
          'and a message arriving in it raises the dead-letters alarm.',
      },
    );
    rule.addTarget({
      bind: () => ({
        arn: this.topic.topicArn,
        input: message,
        targetResource: this.topic,
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
        retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: Duration.hours(24).toSeconds() },
      }),
    });
    return rule;
  }

  private buildErrorsAlarm(): cloudwatch.Alarm {
    const alarm = this.props.rotationFunction
      .metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM })
      .createAlarm(this.scope, 'ErrorsAlarm', {
        alarmDescription:
          `A rotation step of ${this.props.serviceName} failed (Lambda Errors). AWSCURRENT is unchanged; ` +
          'Secrets Manager retries the rotation. See the function log group for the step and the sites. ' +
          'No notification: the failure rule sends one message per failed rotation, with its error message.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    return alarm;
  }

  private buildPathAlarms(): cloudwatch.Alarm[] {
    const { serviceName, rotationFunction, timeout } = this.props;
    const fiveMinutes = Duration.minutes(5);
    const atLeastOne = (id: string, metric: cloudwatch.Metric, description: string) =>
      metric.createAlarm(this.scope, id, {
        alarmDescription: `${description} (${serviceName}).`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const alarms = [
      atLeastOne(
        'FailureRuleFailedInvocationsAlarm',
        new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'FailedInvocations',
          dimensionsMap: { RuleName: this.failureRule.ruleName },
          statistic: cloudwatch.Stats.SUM,
          period: fiveMinutes,
        }),
        'EventBridge could not deliver a rotation failure notice to the topic: check the topic policy and its KMS key policy; the notice is in the dead-letter queue',
      ),
      atLeastOne(
        'DeadLetterAlarm',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: fiveMinutes,
        }),
        'A rotation failure notice is in the dead-letter queue: read it (it names the secret and the error), then fix the topic delivery',
      ),
      atLeastOne(
        'ThrottlesAlarm',
        rotationFunction.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: fiveMinutes }),
        'The rotation function was throttled: a rotation step did not run. Check the account concurrency',
      ),
      rotationFunction
        .metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period: fiveMinutes })
        .createAlarm(this.scope, 'DurationAlarm', {
          alarmDescription:
            `A rotation step of ${serviceName} ran longer than 80% of the function timeout: the push is close to ` +
            'being cut off. Raise the timeout or pushConcurrency, or look for slow sites in the log.',
          threshold: Math.floor(timeout.toMilliseconds() * 0.8),
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
    ];
    for (const alarm of alarms) alarm.addAlarmAction(new SnsAction(this.topic));
    return alarms;
  }

  private buildStagedKeyResetAlarm(): cloudwatch.Alarm {
    const { serviceName } = this.props;
    const alarm = rotationMetric(serviceName, 'StagedKeyResetFailed').createAlarm(
      this.scope,
      'StagedKeyResetFailedAlarm',
      {
        alarmDescription:
          `A rotation of ${serviceName} finished, but the staged key secret could not be reset: it still holds ` +
          `the key now in service. Put "${NOTHING_STAGED.placeholder}" in it by hand (the rotation log says why the reset failed).`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    alarm.addAlarmAction(new SnsAction(this.topic));
    return alarm;
  }

  /** Written out rather than `grantPublish`, so each publisher is pinned to its source. */
  private allowPublishing(): void {
    const topic = this.topic;
    allowOnTopic(
      this.scope,
      topic,
      'topic',
      new iam.PolicyStatement({
        sid: 'FailureRulePublishes',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.failureRule.ruleArn } },
      }),
    );
    allowOnTopic(
      this.scope,
      topic,
      'topic',
      new iam.PolicyStatement({
        sid: 'RotationAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnEquals: {
            'aws:SourceArn': [...this.pathAlarms, this.stagedKeyResetAlarm].map((alarm) => alarm.alarmArn),
          },
          StringEquals: { 'aws:SourceAccount': Stack.of(this.scope).account },
        },
      }),
    );
  }

  private buildDashboard(): cloudwatch.Dashboard {
    const { serviceName, rotationFunction } = this.props;
    const metric = (metricName: MetricName, statistic: string, label: string, period = Duration.hours(1)) =>
      rotationMetric(serviceName, metricName, { statistic, label, period });
    const fiveMinutes = Duration.minutes(5);
    const siteCounts = () => [
      metric('SitesConfirmed', cloudwatch.Stats.MAXIMUM, 'Confirmed', fiveMinutes),
      metric('SitesFailed', cloudwatch.Stats.MAXIMUM, 'Failed', fiveMinutes),
      metric('SitesNotAttempted', cloudwatch.Stats.MAXIMUM, 'Not attempted', fiveMinutes),
    ];
    const dashboard = new cloudwatch.Dashboard(this.scope, 'Dashboard', {
      dashboardName: serviceName,
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
            value: this.props.timeout.toMilliseconds(),
            label: 'Function timeout',
            color: cloudwatch.Color.RED,
          },
        ],
        width: 10,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [this.errorsAlarm, ...this.pathAlarms, this.stagedKeyResetAlarm],
        width: 6,
      }),
    );
    return dashboard;
  }
}
