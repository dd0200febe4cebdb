import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { logicalId, resources, testStack } from './support.js';

describe("a StripeKeyRotation's integration hooks", () => {
  let rotation: StripeKeyRotation;
  let template: Template;
  let queue: sqs.Queue;
  beforeAll(() => {
    const stack = testStack();
    rotation = new StripeKeyRotation(stack, 'Rotation', { keyMode: 'live' });
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
