import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../core/errors.js';
import { buildApp } from '../../lib/app.js';
import type { StripeKeyRotationProps } from '../../lib/props.js';
import { KeyRotationSchedule } from '../../lib/schedule.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import {
  arnOf,
  LIVE_OPERATORS,
  logicalId,
  present,
  ref,
  resources,
  testApp,
  testStack,
  watchdogAlarms,
} from './support.js';

const SYNTH_TIMEOUT = 60_000;

function build(props: Partial<StripeKeyRotationProps> = {}) {
  const stack = testStack();
  const rotation = new StripeKeyRotation(stack, 'Rotation', {
    keyMode: 'live',
    operatorPrincipals: LIVE_OPERATORS,
    ...props,
  });
  return { rotation, template: Template.fromStack(stack) };
}

describe("the rotation's watchdog", () => {
  let rotation: StripeKeyRotation;
  let template: Template;
  beforeAll(() => {
    ({ rotation, template } = build());
  }, SYNTH_TIMEOUT);
  const resource = (construct: Parameters<typeof logicalId>[0]) => resources(template)[logicalId(construct)];

  it('runs its own entry of the same sources, with the weekly default schedule’s overdue threshold', () => {
    expect(resource(present(rotation.watchdog).function)?.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 60,
      Environment: {
        Variables: {
          ROTATED_SECRET_ARN: ref(rotation.rotatedSecret),
          // cron(0 2 ? * TUE *) with a 3 h window: 168 + 3.
          OVERDUE_AFTER_HOURS: '171',
          PENDING_MAX_HOURS: '6',
          POWERTOOLS_SERVICE_NAME: 'stripe-key-rotator-live',
          POWERTOOLS_METRICS_NAMESPACE: 'StripeKeyRotator',
        },
      },
    });
  });

  it('may only read the rotated secret’s metadata and write its own logs', () => {
    const policy = Object.entries(resources(template)).find(
      ([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith('RotationWatchdogRole'),
    )?.[1];
    expect(policy?.Properties?.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadRotationState',
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds'],
          Resource: ref(rotation.rotatedSecret),
        },
        {
          Sid: 'WriteOwnLogs',
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: expect.anything(),
        },
      ],
    });
  });

  it('runs every hour, retried, invoked only by its schedule', () => {
    expect(resource(present(rotation.watchdog).schedule)?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [
        { Arn: arnOf(present(rotation.watchdog).function), RetryPolicy: { MaximumRetryAttempts: 2 } },
      ],
    });
    const permission = Object.values(resources(template)).find(
      (r) =>
        r.Type === 'AWS::Lambda::Permission' &&
        JSON.stringify(r.Properties?.FunctionName) ===
          JSON.stringify(arnOf(present(rotation.watchdog).function)),
    );
    expect(permission?.Properties).toMatchObject({
      Principal: 'events.amazonaws.com',
      SourceArn: arnOf(present(rotation.watchdog).schedule),
    });
  });

  it('alarms to the topic on each staleness metric, treating a silent watchdog as breaching', () => {
    const alarm = (construct: Parameters<typeof logicalId>[0]) => resource(construct)?.Properties;
    const common = {
      Namespace: 'StripeKeyRotator',
      Dimensions: [{ Name: 'service', Value: 'stripe-key-rotator-live' }],
      Period: 3600,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
      AlarmActions: [ref(rotation.notificationsTopic)],
    };
    expect(alarm(present(rotation.watchdog).overdueAlarm)).toMatchObject({
      ...common,
      MetricName: 'HoursSinceLastRotation',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 171,
    });
    expect(alarm(present(rotation.watchdog).pendingAlarm)).toMatchObject({
      ...common,
      MetricName: 'PendingAgeHours',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 6,
    });
    expect(alarm(present(rotation.watchdog).disabledAlarm)).toMatchObject({
      ...common,
      MetricName: 'RotationEnabled',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
    });
    for (const each of watchdogAlarms(rotation)) {
      expect(JSON.stringify(alarm(each)?.AlarmDescription)).toMatch(/stopped reporting/);
    }
  });
});

describe("the watchdog's thresholds", () => {
  it(
    'follow the schedule, or the props',
    () => {
      const weekly = build({
        schedule: KeyRotationSchedule.every(Duration.days(30)),
        pendingMaxAge: Duration.hours(12),
      });
      expect(
        weekly.template.toJSON().Resources[logicalId(present(weekly.rotation.watchdog).overdueAlarm)]
          .Properties,
      ).toMatchObject({
        Threshold: 720,
      });
      expect(
        weekly.template.toJSON().Resources[logicalId(present(weekly.rotation.watchdog).pendingAlarm)]
          .Properties,
      ).toMatchObject({
        Threshold: 12,
      });
      const given = build({
        schedule: KeyRotationSchedule.cron('cron(0 2 1 * ? *)', Duration.hours(3)),
        overdueAfter: Duration.days(32),
      });
      expect(
        given.template.toJSON().Resources[logicalId(present(given.rotation.watchdog).overdueAlarm)]
          .Properties,
      ).toMatchObject({
        Threshold: 768,
      });
    },
    SYNTH_TIMEOUT,
  );

  it('refuse a monthly cron without overdueAfter, and a pending limit out of bounds, naming the prop', () => {
    expect(() =>
      build({
        schedule: KeyRotationSchedule.cron('cron(0 2 1 * ? *)', Duration.hours(3)),
        pendingMaxAge: Duration.minutes(30),
      }),
    ).toThrow(ConfigurationError);
    expect(() =>
      build({ schedule: KeyRotationSchedule.cron('cron(0 2 1 * ? *)', Duration.hours(3)) }),
    ).toThrow(/overdueAfter \(cdk\.json: overdueAfterHours\) must be given/);
    expect(() => build({ pendingMaxAge: Duration.minutes(30) })).toThrow(
      /pendingMaxAge=30 minutes must be whole hours from 1 to 168/,
    );
  });
});

describe("the watchdog's thresholds in cdk.json", () => {
  const monthly = { keyMode: 'test', schedule: 'cron(0 2 1 * ? *)', scheduleWindowHours: 3 };
  const watchdogVariables = (settings: Record<string, unknown>) => {
    const [stack] = buildApp(testApp({ context: { environments: { monthly: settings } } }));
    if (stack === undefined) throw new Error('no stack');
    const properties = resources(Template.fromStack(stack))[
      logicalId(present(stack.rotation.watchdog).function)
    ]?.Properties as { Environment: { Variables: Record<string, unknown> } };
    return properties.Environment.Variables;
  };

  it(
    'let an environment on a day-of-month cron set overdueAfterHours, and pendingMaxAgeHours',
    () => {
      expect(watchdogVariables({ ...monthly, overdueAfterHours: 800, pendingMaxAgeHours: 12 })).toMatchObject(
        {
          OVERDUE_AFTER_HOURS: '800',
          PENDING_MAX_HOURS: '12',
        },
      );
    },
    SYNTH_TIMEOUT,
  );

  it('refuse such an environment without overdueAfterHours, naming the cdk.json setting', () => {
    expect(() => watchdogVariables(monthly)).toThrow(
      /overdueAfter \(cdk\.json: overdueAfterHours\) must be given/,
    );
  });
});
