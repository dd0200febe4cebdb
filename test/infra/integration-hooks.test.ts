import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { uniqueSid } from '../../lib/topic-access.js';
import {
  identityStatements,
  LIVE_OPERATORS,
  logicalId,
  ref,
  resourceCounts,
  resources,
  testStack,
} from './support.js';

describe("a StripeKeyRotation's integration hooks", () => {
  let rotation: StripeKeyRotation;
  let template: Template;
  let queue: sqs.Queue;
  beforeAll(() => {
    const stack = testStack();
    rotation = new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'live',
      operatorPrincipals: LIVE_OPERATORS,
    });
    queue = new sqs.Queue(stack, 'Pager', { enforceSSL: true });
    rotation.onRotationFailed('PageOnFailure', {
      target: new targets.SqsQueue(queue),
      eventPattern: { region: ['eu-west-3'] },
    });
    template = Template.fromStack(stack);
  }, 60_000);

  it("onRotationFailed adds a rule on the rotated secret's failure events, its pattern merged in, with the given target", () => {
    const rules = Object.values(resources(template)).filter(
      (resource) =>
        resource.Type === 'AWS::Events::Rule' &&
        JSON.stringify(resource.Properties?.Targets ?? []).includes(logicalId(queue)),
    );
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties?.EventPattern).toEqual({
      source: ['aws.secretsmanager'],
      'detail-type': ['AWS Service Event via CloudTrail'],
      region: ['eu-west-3'],
      detail: {
        eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'],
        additionalEventData: { SecretId: [{ Ref: logicalId(rotation.rotatedSecret) }] },
      },
    });
  });

  it('exposes every alarm it creates, each one in the template once', () => {
    const alarmIds = Object.entries(resources(template))
      .filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm')
      .map(([id]) => id)
      .sort();
    const exposed = rotation.alarms.map((alarm) => logicalId(alarm)).sort();
    expect(exposed).toEqual(alarmIds);
    expect(exposed.length).toBeGreaterThanOrEqual(8);
  });

  it("keeps onRotationFailed rules apart from the construct's own failure rule", () => {
    expect(rotation.failureRule).toBeInstanceOf(events.Rule);
    expect(logicalId(rotation.failureRule)).not.toContain('PageOnFailure');
  });
});

describe('a StripeKeyRotation given its own notifications topic', () => {
  const TOPIC_ARN = 'arn:aws:sns:eu-west-3:123456789012:platform-alerts';

  it('sends every notice to a topic of the same app, adding the publish statements to its policy and its key', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'AlertsKey', { enableKeyRotation: true });
    const topic = new sns.Topic(stack, 'Alerts', { masterKey: key, enforceSSL: true });
    const rotation = new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'live',
      operatorPrincipals: LIVE_OPERATORS,
      notificationsTopic: topic,
      notificationEmails: ['ops@example.com'],
    });
    const template = Template.fromStack(stack);

    expect(rotation.notificationsTopic).toBe(topic);
    // Besides the given topic and key: the notification path's own, which its alarms notify.
    expect(resourceCounts(template)['AWS::SNS::Topic']).toBe(2);
    expect(resourceCounts(template)['AWS::KMS::Key']).toBe(2);
    // Every alarm but the errors alarm, which notifies nobody: the failure rule announces a failed step.
    for (const alarm of rotation.alarms.filter((a) => a !== rotation.errorsAlarm)) {
      const watchesPath = JSON.stringify(resources(template)[logicalId(alarm)]).match(
        /FailedInvocations|SQS/,
      );
      expect(resources(template)[logicalId(alarm)]?.Properties?.AlarmActions).toEqual([
        ref(watchesPath ? rotation.notificationPathTopic : topic),
      ]);
    }
    const rule = resources(template)[logicalId(rotation.failureRule)]?.Properties as {
      Targets: { Arn: unknown }[];
    };
    expect(rule.Targets.map((target) => target.Arn)).toEqual([ref(topic)]);
    const topicPolicy = Object.values(resources(template)).find(
      (r) =>
        r.Type === 'AWS::SNS::TopicPolicy' &&
        JSON.stringify(r.Properties?.Topics) === JSON.stringify([ref(topic)]),
    )?.Properties as { PolicyDocument: { Statement: { Sid: string }[] } };
    expect(topicPolicy.PolicyDocument.Statement.map((statement) => statement.Sid)).toEqual([
      'AllowPublishThroughSSLOnly',
      uniqueSid(rotation, 'RulesPublish'),
      uniqueSid(rotation, 'RotationAlarmsPublish'),
      uniqueSid(rotation, 'WatchdogAlarmsPublish'),
    ]);
    const keyPolicy = resources(template)[logicalId(key)]?.Properties?.KeyPolicy as {
      Statement: { Sid?: string; Principal?: unknown; Condition?: unknown }[];
    };
    expect(keyPolicy.Statement.find((s) => s.Sid === uniqueSid(rotation, 'LetEventBridgePublish'))).toEqual({
      Sid: uniqueSid(rotation, 'LetEventBridgePublish'),
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: '*',
    });
    expect(keyPolicy.Statement.find((s) => s.Sid === uniqueSid(rotation, 'LetAlarmsPublish'))).toMatchObject({
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: ref(topic),
    });
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  }, 60_000);

  it('targets an imported topic by its ARN and warns at synth, naming each statement to add by hand', () => {
    const stack = testStack();
    const topic = sns.Topic.fromTopicArn(stack, 'Alerts', TOPIC_ARN);
    const rotation = new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'live',
      operatorPrincipals: LIVE_OPERATORS,
      notificationsTopic: topic,
    });
    const template = Template.fromStack(stack);

    // Only the notification path's own topic and its policy.
    expect(resourceCounts(template)['AWS::SNS::Topic']).toBe(1);
    expect(resourceCounts(template)['AWS::SNS::TopicPolicy']).toBe(1);
    const limitAndWatchdog = rotation.alarms.filter(
      (a) =>
        a !== rotation.errorsAlarm &&
        !/FailedInvocations|SQS/.test(JSON.stringify(resources(template)[logicalId(a)])),
    );
    expect(limitAndWatchdog).toHaveLength(6);
    for (const alarm of limitAndWatchdog) {
      expect(resources(template)[logicalId(alarm)]?.Properties?.AlarmActions).toEqual([TOPIC_ARN]);
    }
    const warnings = Annotations.fromStack(stack)
      .findWarning('*', Match.stringLikeRegexp('notificationsTopic is imported'))
      .map((warning) => String(warning.entry.data));
    expect(warnings).toHaveLength(3);
    for (const sid of ['RulesPublish', 'RotationAlarmsPublish', 'WatchdogAlarmsPublish']) {
      const unique = uniqueSid(rotation, sid);
      expect(warnings.some((warning) => warning.includes(`statement ${unique} could not be added`))).toBe(
        true,
      );
    }
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('notifyOnSuccess'))).toEqual(
      [],
    );
  }, 60_000);

  it('with notifyOnSuccess and an imported topic, grants the publish and warns what the topic side needs', () => {
    const stack = testStack();
    const topic = sns.Topic.fromTopicArn(stack, 'Alerts', TOPIC_ARN);
    new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'live',
      operatorPrincipals: LIVE_OPERATORS,
      notificationsTopic: topic,
      notifyOnSuccess: true,
    });

    expect(identityStatements(Template.fromStack(stack))).toContainEqual({
      Sid: 'PublishSuccessNotice',
      Action: 'sns:Publish',
      Effect: 'Allow',
      Resource: TOPIC_ARN,
    });
    const warnings = Annotations.fromStack(stack)
      .findWarning('*', Match.stringLikeRegexp('notifyOnSuccess: notificationsTopic is imported'))
      .map((warning) => String(warning.entry.data));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('kms:Decrypt and kms:GenerateDataKey through SNS');
  }, 60_000);
});
