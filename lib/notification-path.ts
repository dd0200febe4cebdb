/**
 * The notification path watched from outside itself: alarms on rule delivery failures and dead letters
 * notify a topic and key of their own, so that a broken notifications topic, topic policy or topic key
 * cannot silence the alarm that says so.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { subscribeEmails } from './notice-delivery.js';
import { atLeastOne } from './rotation-alarms.js';
import { allowAlarmsOnKey, allowAlarmsToPublish } from './topic-access.js';

export interface PathTopicProps {
  readonly serviceName: string;
  /** Of the topic's key. */
  readonly removalPolicy: RemovalPolicy;
  readonly notificationEmails: readonly string[];
}

/** The topic of the notification path's own alarms (ids NotificationPathKey, NotificationPathTopic). */
export function createPathTopic(
  scope: Construct,
  { serviceName, removalPolicy, notificationEmails }: PathTopicProps,
  deadLetterQueue: sqs.IQueue,
): sns.Topic {
  // CloudWatch alarms cannot publish to a topic under SNS's AWS managed key (its policy cannot be changed).
  const key = new kms.Key(scope, 'NotificationPathKey', {
    description: `Encrypts the notification-path alarms topic of ${serviceName}.`,
    enableKeyRotation: true,
    removalPolicy,
  });
  const topic = new sns.Topic(scope, 'NotificationPathTopic', {
    displayName: `Stripe key rotation notification path (${serviceName})`,
    masterKey: key,
    enforceSSL: true,
  });
  allowAlarmsOnKey(scope, key);
  subscribeEmails(topic, notificationEmails, deadLetterQueue);
  return topic;
}

export interface PathAlarmsProps {
  readonly serviceName: string;
  readonly pathTopic: sns.ITopic;
  readonly failureRule: events.Rule;
  readonly tamperRule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
}

/** Alarms on the notification path itself: they notify `pathTopic`, never the topic they watch. */
export function createPathAlarms(scope: Construct, props: PathAlarmsProps): cloudwatch.Alarm[] {
  const { serviceName, pathTopic } = props;
  const fiveMinutes = Duration.minutes(5);
  const failedInvocations = (rule: events.Rule) =>
    new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'FailedInvocations',
      dimensionsMap: { RuleName: rule.ruleName },
      statistic: cloudwatch.Stats.SUM,
      period: fiveMinutes,
    });
  const alarm = (id: string, metric: cloudwatch.Metric, description: string) =>
    atLeastOne(scope, id, metric, `${description} (${serviceName}).`);
  const alarms = [
    alarm(
      'FailureRuleFailedInvocationsAlarm',
      failedInvocations(props.failureRule),
      'EventBridge could not deliver a rotation failure notice to the topic: check the topic policy and its KMS key policy; the notice is in the dead-letter queue',
    ),
    alarm(
      'DeadLetterAlarm',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: fiveMinutes,
      }),
      'A rotation failure or tamper notice is in the dead-letter queue: read it (it names the secret and the event), then fix the topic delivery',
    ),
    alarm(
      'TamperRuleFailedInvocationsAlarm',
      failedInvocations(props.tamperRule),
      'EventBridge could not deliver a notice that the Stripe key secret changed outside the rotation: check the topic policy and its KMS key policy; the notice is in the dead-letter queue',
    ),
  ];
  for (const created of alarms) created.addAlarmAction(new SnsAction(pathTopic));
  allowAlarmsToPublish(scope, pathTopic, 'PathAlarmsPublish', alarms);
  return alarms;
}
