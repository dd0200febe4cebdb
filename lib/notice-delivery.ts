/**
 * How the rules' notices reach the notifications topic: retried by EventBridge for a day, then kept in a
 * dead-letter queue whose depth is alarmed on (notification-path.ts), so that a notice is never silently lost.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** Where a rule's notices go, and where those that cannot be delivered are kept. */
export interface NoticeDelivery {
  readonly topic: sns.ITopic;
  readonly deadLetterQueue: sqs.Queue;
}

/**
 * A notice EventBridge cannot deliver (a wrong key or topic policy), or SNS cannot deliver to a subscriber,
 * lands in this queue (id NotificationsDeadLetterQueue) after the retries, and alarms.
 */
export function createDeadLetterQueue(scope: Construct): sqs.Queue {
  const queue = new sqs.Queue(scope, 'NotificationsDeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge(
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
  return queue;
}

/** Subscribes each address to `topic`; what SNS cannot deliver to one goes to `deadLetterQueue`. */
export function subscribeEmails(
  topic: sns.ITopic,
  emails: readonly string[],
  deadLetterQueue: sqs.IQueue,
): void {
  for (const email of emails) {
    topic.addSubscription(new EmailSubscription(email, { deadLetterQueue }));
  }
}

/** Targets `rule` at the topic, with retries and the dead-letter queue (which only `rule` may write). */
export function deliverNotices(
  rule: events.Rule,
  input: events.RuleTargetInput,
  deadLetterSid: string,
  { topic, deadLetterQueue }: NoticeDelivery,
): void {
  deadLetterQueue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: deadLetterSid,
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [deadLetterQueue.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
    }),
  );
  rule.addTarget({
    bind: () => ({
      arn: topic.topicArn,
      input,
      targetResource: topic,
      deadLetterConfig: { arn: deadLetterQueue.queueArn },
      retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: Duration.hours(24).toSeconds() },
    }),
  });
}
