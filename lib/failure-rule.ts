/**
 * The failure rule: one notice per failed, abandoned or failed-test rotation of the rotated secret, from
 * Secrets Manager's own events (via CloudTrail), with where to look next.
 */
import * as events from 'aws-cdk-lib/aws-events';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { deliverNotices, type NoticeDelivery } from './notice-delivery.js';

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

export interface FailureRuleProps {
  readonly serviceName: string;
  readonly rotatedSecret: secretsmanager.ISecret;
  /** Named in the notice: where the failing step and the per-site results are. */
  readonly logGroup: logs.ILogGroup;
}

/** The rule (id RotationFailureRule in `scope`), delivering its notices through `delivery`. */
export function createFailureRule(
  scope: Construct,
  { serviceName, rotatedSecret, logGroup }: FailureRuleProps,
  delivery: NoticeDelivery,
): events.Rule {
  const rule = new events.Rule(scope, 'RotationFailureRule', {
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
  deliverNotices(rule, message, 'FailureRuleDeadLetters', delivery);
  return rule;
}
