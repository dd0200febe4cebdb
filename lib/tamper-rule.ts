/**
 * The tamper rule: one notice per change to the rotated secret's value, labels or resource policy made by
 * anyone but the rotation function (CloudTrail management events: the account needs a trail in this region).
 */
import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { deliverNotices, type NoticeDelivery } from './notice-delivery.js';

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

export interface TamperRuleProps {
  readonly serviceName: string;
  readonly rotatedSecret: secretsmanager.ISecret;
  /** The rotated secret's name, as a caller may pass it for `secretId`. */
  readonly rotatedSecretName: string;
  /** The rotation function's role: its own writes to the rotated secret are no tamper notice. */
  readonly rotationRole: iam.IRole;
}

/** The rule (id TamperRule in `scope`), delivering its notices through `delivery`. */
export function createTamperRule(
  scope: Construct,
  { serviceName, rotatedSecret, rotatedSecretName, rotationRole }: TamperRuleProps,
  delivery: NoticeDelivery,
): events.Rule {
  const rule = new events.Rule(scope, 'TamperRule', {
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
  deliverNotices(rule, message, 'TamperRuleDeadLetters', delivery);
  return rule;
}
