import { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { arnOf, LIVE_OPERATORS, logicalId, ref, resources, testStack } from './support.js';

describe('the tamper rule: changes to the rotated secret made outside the rotation', () => {
  let rotation: StripeKeyRotation;
  let template: Template;
  beforeAll(() => {
    const stack = testStack();
    rotation = new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'live',
      operatorPrincipals: LIVE_OPERATORS,
      // Named, so that a caller may name it: the rule matches that name too.
      namePrefix: 'stripe-key-rotator-live',
    });
    template = Template.fromStack(stack);
  }, 60_000);

  const rule = () =>
    resources(template)[logicalId(rotation.tamperRule)]?.Properties as {
      EventPattern: Record<string, unknown>;
      Targets: Record<string, unknown>[];
    };

  it('matches value, label and policy changes of this secret, named by ARN or name, spelled arn or aRN', () => {
    const secretArn = ref(rotation.rotatedSecret);
    expect(rule().EventPattern).toEqual({
      source: ['aws.secretsmanager'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: [
          'PutSecretValue',
          'UpdateSecret',
          'UpdateSecretVersionStage',
          'PutResourcePolicy',
          'DeleteResourcePolicy',
        ],
        userIdentity: {
          arn: [
            {
              'anything-but': {
                prefix: {
                  'Fn::Join': [
                    '',
                    [
                      'arn:aws:sts::123456789012:assumed-role/',
                      ref(rotation.rotationFunction.role as iam.Role),
                      '/',
                    ],
                  ],
                },
              },
            },
          ],
        },
        $or: [
          { requestParameters: { secretId: [secretArn, 'stripe-key-rotator-live/stripe-secret-key'] } },
          { responseElements: { arn: [secretArn] } },
          { responseElements: { aRN: [secretArn] } },
        ],
      },
    });
  });

  it('tells the topic who changed what and when, with the failure rule retries and dead-letter queue', () => {
    const [target] = rule().Targets;
    expect(target).toMatchObject({
      Arn: ref(rotation.notificationsTopic),
      RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 86_400 },
      InputTransformer: {
        InputPathsMap: {
          'detail-eventName': '$.detail.eventName',
          'detail-userIdentity-arn': '$.detail.userIdentity.arn',
          time: '$.time',
        },
      },
    });
    expect(JSON.stringify(target?.DeadLetterConfig)).toContain('NotificationsDeadLetterQueue');
    const queuePolicy = Object.values(resources(template)).find((r) => r.Type === 'AWS::SQS::QueuePolicy');
    expect(JSON.stringify(queuePolicy)).toContain(JSON.stringify(arnOf(rotation.tamperRule)));
  });

  it('alarms through the notification path topic when a notice cannot be delivered', () => {
    const alarm = resources(template)[logicalId(rotation.node.findChild('TamperRuleFailedInvocationsAlarm'))];
    expect(alarm?.Properties).toMatchObject({
      AlarmActions: [ref(rotation.notificationPathTopic)],
      Dimensions: [{ Name: 'RuleName', Value: ref(rotation.tamperRule) }],
    });
  });
});
