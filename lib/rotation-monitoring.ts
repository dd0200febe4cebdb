/**
 * What tells people about a rotation: the notifications topic (failed, abandoned and failed-test rotations,
 * function errors) and the dashboard of the function's EMF metrics. Separate from the resources it watches,
 * as cdk-monitoring-constructs separates monitoring from the monitored resource.
 *
 * Not a construct of its own: it builds into the scope it is given, so that `StripeKeyRotation` keeps the
 * construct paths, and hence the logical IDs, of stacks already deployed.
 */
import { Annotations, Duration, Names, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
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
  /** The rotation function's role: its own writes to the rotated secret are no tamper notice. */
  readonly rotationRole: iam.IRole;
  /** The rotated secret's name, as a caller may pass it for `secretId`. */
  readonly rotatedSecretName: string;
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
 * `base` made unique to `scope`: a topic or key shared by several rotations holds one statement per rotation,
 * and SNS rejects a policy whose statement ids repeat. Letters and digits only, as SNS and KMS accept.
 */
export function uniqueSid(scope: Construct, base: string): string {
  return `${base}${Names.uniqueId(scope).replace(/[^A-Za-z0-9]/g, '')}`;
}

/** The calls that change the rotated secret's value, labels or resource policy. */
export const TAMPER_EVENT_NAMES = [
  'PutSecretValue',
  'UpdateSecret',
  'UpdateSecretVersionStage',
  'PutResourcePolicy',
  'DeleteResourcePolicy',
] as const;

/**
 * CloudTrail's record of a call in TAMPER_EVENT_NAMES on `rotatedSecret` by anyone but a session of
 * `rotationRole`. The secret is matched as the caller named it (`secretId`: ARN or name) or as the response
 * names it (`arn`, or `aRN` in some events); the role by the assumed-role session ARN, which has no path.
 */
export function tamperPattern(
  rotatedSecret: secretsmanager.ISecret,
  rotatedSecretName: string,
  rotationRole: iam.IRole,
): events.EventPattern {
  const stack = Stack.of(rotatedSecret);
  const arn =
    rotatedSecret.secretFullArn === undefined
      ? [{ prefix: rotatedSecret.secretArn }]
      : [rotatedSecret.secretArn];
  return {
    source: ['aws.secretsmanager'],
    detailType: ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: [...TAMPER_EVENT_NAMES],
      userIdentity: {
        arn: [
          {
            'anything-but': {
              prefix: `arn:${stack.partition}:sts::${stack.account}:assumed-role/${rotationRole.roleName}/`,
            },
          },
        ],
      },
      $or: [
        { requestParameters: { secretId: [...arn, rotatedSecretName] } },
        { responseElements: { arn } },
        { responseElements: { aRN: arn } },
      ],
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
  /** A change to the rotated secret's value, labels or policy by anyone but the rotation function. */
  readonly tamperRule: events.Rule;
  /**
   * Where the alarms on the notification path itself notify: its own topic and key, so that a broken
   * `topic`, topic policy or topic key cannot silence the alarm that says so.
   */
  readonly pathTopic: sns.Topic;
  /** The alarms on the notification path: rule delivery failures and dead letters. They notify `pathTopic`. */
  readonly notificationPathAlarms: cloudwatch.Alarm[];
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
    this.pathTopic = this.buildPathTopic();
    this.failureRule = this.buildFailureRule();
    this.tamperRule = this.buildTamperRule();
    this.errorsAlarm = this.buildErrorsAlarm();
    this.notificationPathAlarms = this.buildNotificationPathAlarms();
    this.pathAlarms = [...this.notificationPathAlarms, ...this.buildLimitAlarms()];
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
      // No aws:Source* condition: SNS documents them as unsupported in a key policy for EventBridge-to-encrypted
      // topic delivery (docs/permissions.md); the topic policy pins each rule by aws:SourceArn instead.
      allowOnTopic(
        this.scope,
        topic.masterKey,
        'KMS key',
        new iam.PolicyStatement({
          sid: uniqueSid(this.scope, 'LetEventBridgePublish'),
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
        }),
      );
      allowAlarmsOnKey(this.scope, topic.masterKey);
    }
    for (const email of this.props.notificationEmails) {
      topic.addSubscription(new EmailSubscription(email, { deadLetterQueue: this.deadLetterQueue }));
    }
    return topic;
  }

  /** The topic of the notification path's own alarms, with its own key and the same email subscribers. */
  private buildPathTopic(): sns.Topic {
    const { serviceName, removalPolicy } = this.props;
    // CloudWatch alarms cannot publish to a topic under SNS's AWS managed key (its policy cannot be changed).
    const key = new kms.Key(this.scope, 'NotificationPathKey', {
      description: `Encrypts the notification-path alarms topic of ${serviceName}.`,
      enableKeyRotation: true,
      removalPolicy,
    });
    const topic = new sns.Topic(this.scope, 'NotificationPathTopic', {
      displayName: `Stripe key rotation notification path (${serviceName})`,
      masterKey: key,
      enforceSSL: true,
    });
    allowAlarmsOnKey(this.scope, key);
    for (const email of this.props.notificationEmails)
      topic.addSubscription(new EmailSubscription(email, { deadLetterQueue: this.deadLetterQueue }));
    return topic;
  }

  /** One notice per change to the rotated secret's value, labels or policy made outside the rotation. */
  private buildTamperRule(): events.Rule {
    const { serviceName, rotatedSecret, rotatedSecretName, rotationRole } = this.props;
    const rule = new events.Rule(this.scope, 'TamperRule', {
      description: `Changes to the Stripe key secret of ${serviceName} made by anyone but its rotation function.`,
      eventPattern: tamperPattern(rotatedSecret, rotatedSecretName, rotationRole),
    });
    const message = events.RuleTargetInput.fromText(
      `Stripe key secret of ${serviceName} changed outside the rotation: ` +
        `${events.EventField.fromPath('$.detail.eventName')} on ${rotatedSecret.secretArn} by ` +
        `${events.EventField.fromPath('$.detail.userIdentity.arn')} at ${events.EventField.time} ` +
        `(request ${events.EventField.fromPath('$.detail.requestID')}). If nobody meant this, check the ` +
        'secret\'s versions and resource policy now (README, "Runbook: the secret changed outside the rotation").',
    );
    this.deliver(rule, message, 'TamperRuleDeadLetters');
    return rule;
  }

  /** Targets `rule` at the topic with the failure rule's retries and dead-letter queue. */
  private deliver(rule: events.Rule, input: events.RuleTargetInput, deadLetterSid: string): void {
    this.deadLetterQueue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: deadLetterSid,
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
      }),
    );
    rule.addTarget({
      bind: () => ({
        arn: this.topic.topicArn,
        input,
        targetResource: this.topic,
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
        retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: Duration.hours(24).toSeconds() },
      }),
    });
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
    this.deliver(rule, message, 'FailureRuleDeadLetters');
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

  private atLeastOne(id: string, metric: cloudwatch.Metric, description: string): cloudwatch.Alarm {
    return metric.createAlarm(this.scope, id, {
      alarmDescription: `${description} (${this.props.serviceName}).`,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Alarms on the notification path itself: they notify `pathTopic`, never the topic they watch. */
  private buildNotificationPathAlarms(): cloudwatch.Alarm[] {
    const fiveMinutes = Duration.minutes(5);
    const failedInvocations = (rule: events.Rule) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'FailedInvocations',
        dimensionsMap: { RuleName: rule.ruleName },
        statistic: cloudwatch.Stats.SUM,
        period: fiveMinutes,
      });
    const alarms = [
      this.atLeastOne(
        'FailureRuleFailedInvocationsAlarm',
        failedInvocations(this.failureRule),
        'EventBridge could not deliver a rotation failure notice to the topic: check the topic policy and its KMS key policy; the notice is in the dead-letter queue',
      ),
      this.atLeastOne(
        'DeadLetterAlarm',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: fiveMinutes,
        }),
        'A rotation failure or tamper notice is in the dead-letter queue: read it (it names the secret and the event), then fix the topic delivery',
      ),
      this.atLeastOne(
        'TamperRuleFailedInvocationsAlarm',
        failedInvocations(this.tamperRule),
        'EventBridge could not deliver a notice that the Stripe key secret changed outside the rotation: check the topic policy and its KMS key policy; the notice is in the dead-letter queue',
      ),
    ];
    for (const alarm of alarms) alarm.addAlarmAction(new SnsAction(this.pathTopic));
    allowOnTopic(
      this.scope,
      this.pathTopic,
      'topic',
      new iam.PolicyStatement({
        sid: uniqueSid(this.scope, 'PathAlarmsPublish'),
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.pathTopic.topicArn],
        conditions: {
          ArnEquals: { 'aws:SourceArn': alarms.map((alarm) => alarm.alarmArn) },
          StringEquals: { 'aws:SourceAccount': Stack.of(this.scope).account },
        },
      }),
    );
    return alarms;
  }

  /** The function's limits: throttles and duration near the timeout. */
  private buildLimitAlarms(): cloudwatch.Alarm[] {
    const { serviceName, rotationFunction, timeout } = this.props;
    const fiveMinutes = Duration.minutes(5);
    const alarms = [
      this.atLeastOne(
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
    const limitAlarms = this.pathAlarms.filter((alarm) => !this.notificationPathAlarms.includes(alarm));
    allowOnTopic(
      this.scope,
      topic,
      'topic',
      new iam.PolicyStatement({
        sid: uniqueSid(this.scope, 'RulesPublish'),
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { ArnEquals: { 'aws:SourceArn': [this.failureRule.ruleArn, this.tamperRule.ruleArn] } },
      }),
    );
    allowOnTopic(
      this.scope,
      topic,
      'topic',
      new iam.PolicyStatement({
        sid: uniqueSid(this.scope, 'RotationAlarmsPublish'),
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnEquals: {
            'aws:SourceArn': [...limitAlarms, this.stagedKeyResetAlarm].map((alarm) => alarm.alarmArn),
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

/**
 * Lets CloudWatch alarms of this account use `key` for a topic it encrypts. aws:SourceAccount is kept: SNS
 * documents the aws:Source* keys as supported in a key policy for every event source but EventBridge.
 */
function allowAlarmsOnKey(scope: Construct, key: kms.IKey): void {
  allowOnTopic(
    scope,
    key,
    'KMS key',
    new iam.PolicyStatement({
      sid: uniqueSid(scope, 'LetAlarmsPublish'),
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  );
}
