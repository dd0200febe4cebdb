/**
 * Who may publish to a notifications topic and use its key: each publisher (an EventBridge rule, a set of
 * CloudWatch alarms) is written out and pinned to its source, rather than `grantPublish`. A topic or key
 * shared by several rotations holds one statement per rotation, hence the unique statement ids.
 */
import { Annotations, Names, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/**
 * `base` made unique to `scope`: a topic or key shared by several rotations holds one statement per rotation,
 * and SNS rejects a policy whose statement ids repeat. Letters and digits only, as SNS and KMS accept.
 */
export function uniqueSid(scope: Construct, base: string): string {
  return `${base}${Names.uniqueId(scope).replace(/[^A-Za-z0-9]/g, '')}`;
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

/** Lets `service` use `key` for the topic it encrypts: what SNS needs to encrypt a message from that service. */
function allowServiceOnKey(
  scope: Construct,
  key: kms.IKey,
  sidBase: string,
  service: string,
  conditions?: Record<string, unknown>,
): void {
  allowOnTopic(
    scope,
    key,
    'KMS key',
    new iam.PolicyStatement({
      sid: uniqueSid(scope, sidBase),
      principals: [new iam.ServicePrincipal(service)],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions,
    }),
  );
}

/**
 * Lets EventBridge rules use `key` for a topic it encrypts. No aws:Source* condition: SNS documents them as
 * unsupported in a key policy for EventBridge-to-encrypted topic delivery (docs/permissions.md); the topic
 * policy pins each rule by aws:SourceArn instead.
 */
export function allowRulesOnKey(scope: Construct, key: kms.IKey): void {
  allowServiceOnKey(scope, key, 'LetEventBridgePublish', 'events.amazonaws.com');
}

/**
 * Lets CloudWatch alarms of this account use `key` for a topic it encrypts. aws:SourceAccount is kept: SNS
 * documents the aws:Source* keys as supported in a key policy for every event source but EventBridge.
 */
export function allowAlarmsOnKey(scope: Construct, key: kms.IKey): void {
  allowServiceOnKey(scope, key, 'LetAlarmsPublish', 'cloudwatch.amazonaws.com', {
    StringEquals: { 'aws:SourceAccount': Stack.of(scope).account },
  });
}

/** Lets exactly `alarms`, of this account, publish to `topic` (statement id `sidBase` made unique to `scope`). */
export function allowAlarmsToPublish(
  scope: Construct,
  topic: sns.ITopic,
  sidBase: string,
  alarms: readonly cloudwatch.IAlarm[],
): void {
  allowToPublish(scope, topic, sidBase, 'cloudwatch.amazonaws.com', {
    ArnEquals: { 'aws:SourceArn': alarms.map((alarm) => alarm.alarmArn) },
    StringEquals: { 'aws:SourceAccount': Stack.of(scope).account },
  });
}

/** Lets exactly `rules` publish to `topic` (statement id `sidBase` made unique to `scope`). */
export function allowRulesToPublish(
  scope: Construct,
  topic: sns.ITopic,
  sidBase: string,
  rules: readonly { readonly ruleArn: string }[],
): void {
  allowToPublish(scope, topic, sidBase, 'events.amazonaws.com', {
    ArnEquals: { 'aws:SourceArn': rules.map((rule) => rule.ruleArn) },
  });
}

/** Lets `service` publish to `topic` under `conditions`, which pin the publisher to its source. */
function allowToPublish(
  scope: Construct,
  topic: sns.ITopic,
  sidBase: string,
  service: string,
  conditions: Record<string, unknown>,
): void {
  allowOnTopic(
    scope,
    topic,
    'topic',
    new iam.PolicyStatement({
      sid: uniqueSid(scope, sidBase),
      principals: [new iam.ServicePrincipal(service)],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions,
    }),
  );
}
