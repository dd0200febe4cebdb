/**
 * The example consumer app (examples/consumer-app) as the package's users write it: it imports
 * 'stripe-key-rotator', which resolves here (tsconfig `paths`, vitest `alias`) to this package's own compiled entry (dist/lib/index.js), the
 * very files `npm pack` ships. scripts/check-package.sh proves the same app against the packed tarball.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { PaymentsStack } from '../../examples/consumer-app/lib/payments-stack.js';
import { ENV } from './support.js';

describe('the example consumer app', () => {
  let stack: PaymentsStack;
  let template: Template;
  beforeAll(() => {
    const app = new App();
    stack = new PaymentsStack(app, 'Payments', { env: ENV });
    template = Template.fromStack(stack);
  }, 60_000);

  it('deploys one rotation (and its watchdog) reading its fleet from an SSM path, adopting its staged secret, on its own schedule', () => {
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::SSM::Parameter', 0);
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: {
        Variables: Match.objectLike({
          SITES_PARAMETER: '/payments/sites/',
          STAGED_SECRET_ARN:
            'arn:aws:secretsmanager:eu-west-3:123456789012:secret:payments/staged-stripe-key-Ab12Cd',
        }),
      },
    });
    // Its own staged secret is adopted: only the rotated and master key secrets are created.
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
  });

  it("grants the payment service only the key in service, and the on-call role the operator's set", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^PaymentService') }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'secretsmanager:DescribeSecret',
            Resource: stack.resolve(stack.rotation.rotatedSecret.secretArn),
          },
          {
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: stack.resolve(stack.rotation.rotatedSecret.secretArn),
            Condition: {
              StringEqualsIfExists: { 'secretsmanager:VersionStage': 'AWSCURRENT' },
              Null: { 'secretsmanager:VersionId': 'true' },
            },
          },
        ],
      },
    });
    const onCall = Object.values(template.findResources('AWS::IAM::Policy')).find((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('OnCall'),
    );
    const actions = JSON.stringify(onCall?.Properties.PolicyDocument);
    for (const action of [
      'ssm:GetParametersByPath',
      'lambda:InvokeFunction',
      'secretsmanager:PutSecretValue',
    ]) {
      expect(actions).toContain(action);
    }
  });

  it('sends every notice to its own alerts topic: no topic of the construct, the publish statements on its topic', () => {
    // Its alerts topic, and the construct's notification-path topic (the path's alarms must not depend on it).
    template.resourceCountIs('AWS::SNS::Topic', 2);
    const alerts = { Ref: Match.stringLikeRegexp('^PaymentsAlerts') };
    template.hasResourceProperties('AWS::Events::Rule', { Targets: [Match.objectLike({ Arn: alerts })] });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Endpoint: 'payments-oncall@example.com',
      TopicArn: alerts,
    });
    const statements = JSON.stringify(template.findResources('AWS::SNS::TopicPolicy'));
    for (const sid of ['RulesPublish', 'RotationAlarmsPublish', 'WatchdogAlarmsPublish']) {
      expect(statements).toContain(sid);
    }
  });

  it('alarms on its own metric of failed sites, named by the construct', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SitesFailed',
      Namespace: 'StripeKeyRotator',
      Dimensions: [{ Name: 'service', Value: 'payments-stripe' }],
      Statistic: 'Maximum',
    });
  });

  it('passes the cdk-nag AWS Solutions checks with no unacknowledged finding', () => {
    const violations = new AwsSolutionsChecks().validateScope(stack).violations;
    expect(violations.map((violation) => violation.ruleName)).toEqual([]);
    // The pack walks every resource, the notification path's and the tamper rule's included.
  }, 30_000);
});
