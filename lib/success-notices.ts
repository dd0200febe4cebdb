/**
 * `notifyOnSuccess`: the rotation function publishes a notice when a rotation finished, to the notifications
 * topic only, and may use the topic's key for that through SNS only.
 */
import { Annotations, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { SETTINGS } from '../core/index.js';

/** Lets `fn` publish success notices to `topic`; warns on `scope` what an imported topic must allow itself. */
export function allowSuccessNotices(scope: Construct, fn: lambda.Function, topic: sns.ITopic): void {
  fn.addEnvironment(SETTINGS.successNoticeTopicArn.variable, topic.topicArn);
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'PublishSuccessNotice',
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
    }),
  );
  if (topic.masterKey !== undefined) {
    // What SNS needs to encrypt a message for an encrypted topic, through SNS only (no wildcard action).
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'EncryptSuccessNotice',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [topic.masterKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(scope).region}.amazonaws.com` } },
      }),
    );
  } else if (topic.node.defaultChild === undefined) {
    // An imported topic: its encryption and its policy are not known here.
    Annotations.of(scope).addWarningV2(
      'stripe-key-rotator:notifyOnSuccess:imported-topic',
      `notifyOnSuccess: notificationsTopic is imported, so the rotation role may publish to it but nothing ` +
        `here can allow it on the topic's side: if the topic is encrypted, its key policy must let the role use ` +
        `kms:Decrypt and kms:GenerateDataKey through SNS; if it is in another account, its policy must allow ` +
        `sns:Publish to the role. Otherwise success notices fail (logged by the function, never failing a rotation).`,
    );
  }
}
