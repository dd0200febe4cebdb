/**
 * `doctor`'s checks of the notification path: the topic's subscriptions and policy, its key's policy, the
 * CloudTrail trail the CloudTrail-delivered notices need, and the alarms' states.
 */
import {
  type AlarmFacts,
  allowsService,
  type DoctorCheck,
  fail,
  type PolicyDocument,
  pass,
  REDEPLOY,
  serviceStatements,
  type TrailFacts,
} from './doctor-facts.js';

const EVENTS = 'events.amazonaws.com';
const CLOUDWATCH = 'cloudwatch.amazonaws.com';

export interface TopicFacts {
  readonly policy?: PolicyDocument;
  readonly kmsKeyId?: string;
  /** Per subscription: its protocol, and whether it is confirmed (never its endpoint). */
  readonly subscriptions: readonly { readonly protocol: string; readonly confirmed: boolean }[];
}

export function subscriptionCheck(
  total: number,
  pending: number,
  protocols: string,
  arn: string,
): DoctorCheck {
  if (total === 0) {
    return fail(
      'notifications',
      'the topic has no subscription: nobody is told',
      `subscribe someone to ${arn}`,
    );
  }
  if (pending > 0) {
    return fail(
      'notifications',
      `${pending} of ${total} subscriptions are PendingConfirmation: nobody is told through them`,
      'confirm them (the link in the message SNS sent), or subscribe again',
    );
  }
  return pass('notifications', `${total} confirmed subscription(s) (${protocols})`);
}

export function topicPolicyCheck(facts: TopicFacts): DoctorCheck {
  const missing = [EVENTS, CLOUDWATCH].filter(
    (service) => !allowsService(facts.policy, service, 'sns:Publish'),
  );
  return missing.length === 0
    ? pass('topic-policy', `EventBridge and CloudWatch may publish to the topic`)
    : fail('topic-policy', `the topic policy does not let ${missing.join(' or ')} publish`, REDEPLOY);
}

export async function keyPolicyCheck(
  keyPolicy: (keyId: string) => Promise<PolicyDocument | undefined>,
  keyId: string,
): Promise<DoctorCheck> {
  if (/alias\/aws\/sns$/.test(keyId)) {
    return fail(
      'key-policy',
      'the topic is encrypted with the AWS managed key alias/aws/sns, which EventBridge and CloudWatch cannot use',
      REDEPLOY,
    );
  }
  const policy = await keyPolicy(keyId);
  const actions = ['kms:Decrypt', 'kms:GenerateDataKey'];
  const missing = [EVENTS, CLOUDWATCH].filter(
    (service) => !actions.every((action) => allowsService(policy, service, action)),
  );
  const conditioned = serviceStatements(policy, EVENTS).some((statement) =>
    Object.values(statement.Condition ?? {}).some((test) =>
      Object.keys(test).some((key) => /^aws:source(account|arn)$/i.test(key)),
    ),
  );
  if (missing.length > 0) {
    return fail(
      'key-policy',
      `the topic's key policy does not let ${missing.join(' or ')} use the key`,
      REDEPLOY,
    );
  }
  if (conditioned) {
    return fail(
      'key-policy',
      "the key policy's EventBridge statement carries an aws:SourceAccount/SourceArn condition, which EventBridge's KMS calls do not match",
      REDEPLOY,
    );
  }
  return pass('key-policy', 'EventBridge and CloudWatch may use the topic key, without source conditions');
}

export function trailCheck(region: string, trails: readonly TrailFacts[]): DoctorCheck {
  const covering = trails.filter((trail) => trail.multiRegion || trail.homeRegion === region);
  const good = covering.find((trail) => trail.logging && trail.managementEvents);
  if (good !== undefined) {
    return pass('cloudtrail', `trail ${good.name} is logging management events in ${region}`);
  }
  const seen =
    covering.length === 0
      ? `no trail covers ${region}`
      : `trail(s) ${covering.map((t) => `${t.name} (${t.logging ? 'logging' : 'not logging'}${t.managementEvents ? '' : ', no management events'})`).join(', ')}`;
  return fail(
    'cloudtrail',
    `${seen}: the rotation failure and tamper notices (CloudTrail events) never reach EventBridge`,
    'create a multi-Region trail logging management events, or start logging (docs/aws-behaviour.md)',
  );
}

export function alarmCheck(alarms: readonly AlarmFacts[]): DoctorCheck {
  const firing = alarms.filter((alarm) => alarm.state === 'ALARM').map((alarm) => alarm.name);
  const noData = alarms.filter((alarm) => alarm.state === 'INSUFFICIENT_DATA').map((alarm) => alarm.name);
  const quiet = noData.length === 0 ? '' : `; INSUFFICIENT_DATA: ${noData.join(', ')}`;
  return firing.length === 0
    ? pass('alarms', `${alarms.length} alarm(s), none in ALARM${quiet}`)
    : fail(
        'alarms',
        `in ALARM: ${firing.join(', ')}${quiet}`,
        'read the alarm description and the function log; stripe-key-rotator status shows the rotation',
      );
}
