/**
 * The notifications topic: the operator's own, or one this construct creates with a key of its own, either
 * way open to the rules' and alarms' services on its key and subscribed with `notificationEmails`.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { subscribeEmails } from './notice-delivery.js';
import { allowAlarmsOnKey, allowRulesOnKey } from './topic-access.js';

export interface NotificationsTopicProps {
  readonly serviceName: string;
  /** The operator's own topic; absent: a topic with its own key is created. */
  readonly topic?: sns.ITopic;
  /** Of the created topic's key. */
  readonly removalPolicy: RemovalPolicy;
  readonly notificationEmails: readonly string[];
}

/** The topic (ids NotificationsKey, NotificationsTopic in `scope` when created). */
export function createNotificationsTopic(
  scope: Construct,
  { serviceName, topic: ownTopic, removalPolicy, notificationEmails }: NotificationsTopicProps,
  deadLetterQueue: sqs.IQueue,
): sns.ITopic {
  let topic = ownTopic;
  if (topic === undefined) {
    // SNS's AWS managed key cannot be used by EventBridge or CloudWatch alarms: the topic needs its own key.
    const topicKey = new kms.Key(scope, 'NotificationsKey', {
      description: `Encrypts the rotation notifications topic of ${serviceName}.`,
      enableKeyRotation: true,
      removalPolicy,
    });
    topic = new sns.Topic(scope, 'NotificationsTopic', {
      displayName: `Stripe key rotation (${serviceName})`,
      masterKey: topicKey,
      enforceSSL: true,
    });
  }
  if (topic.masterKey !== undefined) {
    allowRulesOnKey(scope, topic.masterKey);
    allowAlarmsOnKey(scope, topic.masterKey);
  }
  subscribeEmails(topic, notificationEmails, deadLetterQueue);
  return topic;
}
