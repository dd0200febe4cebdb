import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../core/errors.js';
import { type DeploymentProbe, runDoctor, type StackFacts } from '../../core/operations/doctor.js';
import type { DoctorCheck, PolicyDocument, SecretFacts } from '../../core/operations/doctor-facts.js';

const STACK = 'StripeKeyRotator-live';
const ACCOUNT = '123456789012';
const ROTATED = `arn:aws:secretsmanager:eu-west-3:${ACCOUNT}:secret:live/stripe-secret-key-AbCdEf`;
const FUNCTION = 'StripeKeyRotator-live-RotationFunction';
const TOPIC = `arn:aws:sns:eu-west-3:${ACCOUNT}:notices`;
const KEY = `arn:aws:kms:eu-west-3:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const CURRENT = '11111111-1111-1111-1111-111111111111';
const PENDING = '22222222-2222-2222-2222-222222222222';

const allow = (service: string, actions: string[], condition?: Record<string, Record<string, string>>) => ({
  Effect: 'Allow',
  Principal: { Service: service },
  Action: actions,
  ...(condition ? { Condition: condition } : {}),
});

const secret = (overrides: Partial<SecretFacts> = {}): SecretFacts => ({
  arn: ROTATED,
  rotationEnabled: true,
  rotationLambdaArn: `arn:aws:lambda:eu-west-3:${ACCOUNT}:function:${FUNCTION}`,
  schedule: 'rate(30 days)',
  lastRotatedAt: new Date('2026-11-01T00:00:00Z'),
  lastChangedAt: new Date('2026-11-01T00:00:00Z'),
  versions: [{ id: CURRENT, stages: ['AWSCURRENT'] }],
  ...overrides,
});

const STACK_FACTS: StackFacts = {
  status: 'UPDATE_COMPLETE',
  outputs: {
    RotatedSecretArn: ROTATED,
    StagedKeySecretArn: 'staged',
    MasterApiKeySecretArn: 'master',
    SitesParameterName: '/stripe/sites',
    LedgerTableName: 'ledger',
    KeyMode: 'live',
  },
  resources: [
    { type: 'AWS::Lambda::Function', logicalId: 'RotationFunction', physicalId: FUNCTION },
    { type: 'AWS::SNS::Topic', logicalId: 'NotificationsTopic', physicalId: TOPIC },
    { type: 'AWS::CloudWatch::Alarm', logicalId: 'ErrorsAlarm', physicalId: 'errors' },
  ],
};

/** A deployment where every check holds; each test breaks one fact. */
function healthy(overrides: Partial<DeploymentProbe> = {}): DeploymentProbe {
  return {
    region: async () => 'eu-west-3',
    stack: async () => STACK_FACTS,
    secret: async (id) => secret({ arn: id }),
    rotationFunction: async () => ({
      state: 'Active',
      lastUpdateStatus: 'Successful',
      invokableBySecretsManager: true,
    }),
    topic: async () => ({
      policy: {
        Statement: [
          allow('events.amazonaws.com', ['sns:Publish']),
          allow('cloudwatch.amazonaws.com', ['sns:Publish']),
        ],
      },
      kmsKeyId: KEY,
      subscriptions: [{ protocol: 'email', confirmed: true }],
    }),
    keyPolicy: async () => ({
      Statement: [
        allow('events.amazonaws.com', ['kms:Decrypt', 'kms:GenerateDataKey*']),
        allow('cloudwatch.amazonaws.com', ['kms:Decrypt', 'kms:GenerateDataKey*'], {
          StringEquals: { 'aws:SourceAccount': ACCOUNT },
        }),
      ],
    }),
    trails: async () => [
      { name: 'org', homeRegion: 'us-east-1', multiRegion: true, logging: true, managementEvents: true },
    ],
    table: async () => ({
      keySchema: [
        { name: 'pk', type: 'HASH' },
        { name: 'sk', type: 'RANGE' },
      ],
      indexes: [
        {
          name: 'history',
          keySchema: [
            { name: 'gsi1pk', type: 'HASH' },
            { name: 'gsi1sk', type: 'RANGE' },
          ],
          projection: 'ALL',
        },
      ],
    }),
    siteList: async () => ({
      sites: ['https://a.example', 'https://b.example'],
      sources: ['/stripe/sites'],
      duplicates: [],
    }),
    alarms: async () => [{ name: 'errors', state: 'OK' }],
    abortPermission: async () => ({
      known: true,
      caller: `arn:aws:iam::${ACCOUNT}:role/Operator`,
      denied: [],
    }),
    ...overrides,
  };
}

async function check(probe: DeploymentProbe, id: string): Promise<DoctorCheck> {
  const found = (await runDoctor(probe, STACK)).find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}

const ALL = [
  'stack',
  'stack-outputs',
  'rotation',
  'last-rotation',
  'abort-permission',
  'master-key',
  'staged-key',
  'ledger-table',
  'site-list',
  'notifications',
  'topic-policy',
  'key-policy',
  'cloudtrail',
  'alarms',
];

describe('doctor on a healthy deployment', () => {
  it('runs every check, and every one holds', async () => {
    const checks = await runDoctor(healthy(), STACK);

    expect(checks.map((c) => c.id)).toEqual(ALL);
    for (const c of checks) expect(c, c.id).toMatchObject({ ok: true });
    expect(checks.find((c) => c.id === 'site-list')?.detail).toBe('2 sites from 1 parameter(s)');
  });

  it('never prints a site address', async () => {
    const text = JSON.stringify(await runDoctor(healthy(), STACK));

    expect(text).not.toContain('example');
  });
});

describe('doctor, one fact broken at a time: the check fails with its fix', () => {
  const broken: [string, string, Partial<DeploymentProbe>, RegExp][] = [
    [
      'stack',
      'a stack that rolled back',
      { stack: async () => ({ ...STACK_FACTS, status: 'UPDATE_ROLLBACK_COMPLETE' }) },
      /cdk deploy/,
    ],
    [
      'stack-outputs',
      'an output missing',
      {
        stack: async () => {
          const { KeyMode: _, ...outputs } = STACK_FACTS.outputs;
          return { ...STACK_FACTS, outputs };
        },
      },
      /stripe-key-rotator stack/,
    ],
    [
      'rotation',
      'rotation disabled',
      { secret: async (id) => secret({ arn: id, rotationEnabled: false }) },
      /enable it/,
    ],
    [
      'rotation',
      'a function that is not the stack’s',
      {
        secret: async (id) =>
          secret({ arn: id, rotationLambdaArn: `arn:aws:lambda:eu-west-3:${ACCOUNT}:function:Other` }),
      },
      /enable it/,
    ],
    [
      'rotation',
      'a failed function',
      { rotationFunction: async () => ({ state: 'Failed', invokableBySecretsManager: true }) },
      /Lambda console/,
    ],
    [
      'rotation',
      'Secrets Manager may not invoke',
      { rotationFunction: async () => ({ state: 'Active', invokableBySecretsManager: false }) },
      /cdk deploy/,
    ],
    [
      'last-rotation',
      'AWSPENDING on another version',
      {
        secret: async (id) =>
          secret({
            arn: id,
            versions: [
              { id: CURRENT, stages: ['AWSCURRENT'] },
              { id: PENDING, stages: ['AWSPENDING'], createdAt: new Date('2026-12-01T00:00:00Z') },
            ],
          }),
      },
      /stripe-key-rotator abort --stack StripeKeyRotator-live/,
    ],
    [
      'abort-permission',
      'a denied action',
      {
        abortPermission: async () => ({
          known: true,
          caller: 'arn:aws:iam::1:role/R',
          denied: ['secretsmanager:UpdateSecretVersionStage'],
        }),
      },
      /operator principals/,
    ],
    [
      'master-key',
      'no value',
      { secret: async (id) => (id === 'master' ? secret({ arn: id, versions: [] }) : secret({ arn: id })) },
      /X-API-Key/,
    ],
    [
      'staged-key',
      'scheduled for deletion',
      {
        secret: async (id) =>
          id === 'staged' ? secret({ arn: id, deletedAt: new Date() }) : secret({ arn: id }),
      },
      /RestoreSecret/,
    ],
    [
      'ledger-table',
      'no history index',
      {
        table: async () => ({
          keySchema: [
            { name: 'pk', type: 'HASH' },
            { name: 'sk', type: 'RANGE' },
          ],
          indexes: [],
        }),
      },
      /ledger-schema/,
    ],
    [
      'ledger-table',
      'a KEYS_ONLY history index',
      {
        table: async () => ({
          ...(await healthy().table('ledger')),
          indexes: [
            {
              name: 'history',
              keySchema: [
                { name: 'gsi1pk', type: 'HASH' },
                { name: 'gsi1sk', type: 'RANGE' },
              ],
              projection: 'KEYS_ONLY',
            },
          ],
        }),
      },
      /ledger-schema/,
    ],
    [
      'site-list',
      'invalid lines',
      {
        siteList: async () => {
          throw new ConfigurationError('The site list in /stripe/sites has 1 invalid entry', {
            problems: ['/stripe/sites line 3: http URL refused, https required'],
          });
        },
      },
      /one https/,
    ],
    [
      'notifications',
      'a subscription never confirmed',
      {
        topic: async () => ({
          ...(await healthy().topic(TOPIC)),
          subscriptions: [{ protocol: 'email', confirmed: false }],
        }),
      },
      /confirm them/,
    ],
    [
      'notifications',
      'no subscription',
      { topic: async () => ({ ...(await healthy().topic(TOPIC)), subscriptions: [] }) },
      /subscribe someone/,
    ],
    [
      'topic-policy',
      'no CloudWatch statement',
      {
        topic: async () => ({
          ...(await healthy().topic(TOPIC)),
          policy: { Statement: [allow('events.amazonaws.com', ['sns:Publish'])] },
        }),
      },
      /cdk deploy/,
    ],
    [
      'key-policy',
      'a source condition on the EventBridge statement',
      {
        keyPolicy: async (): Promise<PolicyDocument> => ({
          Statement: [
            allow('events.amazonaws.com', ['kms:*'], { StringEquals: { 'aws:SourceArn': 'x' } }),
            allow('cloudwatch.amazonaws.com', ['kms:*']),
          ],
        }),
      },
      /cdk deploy/,
    ],
    [
      'key-policy',
      'the AWS managed key',
      { topic: async () => ({ ...(await healthy().topic(TOPIC)), kmsKeyId: 'alias/aws/sns' }) },
      /cdk deploy/,
    ],
    [
      'cloudtrail',
      'a trail not logging',
      { trails: async () => [{ name: 'org', multiRegion: true, logging: false, managementEvents: true }] },
      /multi-Region trail/,
    ],
    [
      'cloudtrail',
      'a trail of another Region only',
      {
        trails: async () => [
          { name: 'us', homeRegion: 'us-east-1', multiRegion: false, logging: true, managementEvents: true },
        ],
      },
      /multi-Region trail/,
    ],
    [
      'alarms',
      'an alarm firing',
      {
        alarms: async () => [
          { name: 'errors', state: 'ALARM' },
          { name: 'quiet', state: 'INSUFFICIENT_DATA' },
        ],
      },
      /function log/,
    ],
  ];

  it.each(broken)('%s: %s', async (id, _case, override, fix) => {
    const verdict = await check(healthy(override), id);

    expect(verdict.ok).toBe(false);
    expect(verdict.fix).toMatch(fix);
  });

  it('names alarms without data, without failing on them', async () => {
    const verdict = await check(
      healthy({ alarms: async () => [{ name: 'watchdog', state: 'INSUFFICIENT_DATA' }] }),
      'alarms',
    );

    expect(verdict).toMatchObject({
      ok: true,
      detail: expect.stringContaining('INSUFFICIENT_DATA: watchdog'),
    });
  });

  it('says unknown, with how to check, when the caller may not simulate', async () => {
    const verdict = await check(
      healthy({ abortPermission: async () => ({ known: false, reason: 'AccessDenied' }) }),
      'abort-permission',
    );

    expect(verdict.ok).toBeNull();
    expect(verdict.fix).toContain('IAM policy simulator');
  });

  it('fails a check it cannot read, naming the permission, and still runs the others', async () => {
    const denied = Object.assign(new Error('not authorized to perform dynamodb:DescribeTable'), {
      name: 'AccessDeniedException',
    });
    const checks = await runDoctor(
      healthy({
        table: async () => {
          throw denied;
        },
      }),
      STACK,
    );

    expect(checks.find((c) => c.id === 'ledger-table')).toMatchObject({
      ok: false,
      fix: 'the caller needs dynamodb:DescribeTable on ledger',
    });
    expect(checks.filter((c) => c.ok === true)).toHaveLength(ALL.length - 1);
  });

  it('reports an unknown stack alone', async () => {
    const checks = await runDoctor(healthy({ stack: async () => undefined }), STACK);

    expect(checks).toEqual([
      {
        id: 'stack',
        ok: false,
        detail: `no stack ${STACK} in eu-west-3`,
        fix: expect.stringContaining('--region'),
      },
    ]);
  });
});

describe("doctor on an adopting app's stack: the construct's descriptor output", () => {
  const descriptor = (id: string, rotated: string) =>
    JSON.stringify({
      v: 1,
      id,
      rotatedSecret: rotated,
      stagedKeySecret: 'staged',
      masterApiKeySecret: 'master',
      sitesParameter: '/stripe/sites',
      ledgerTable: 'ledger',
      keyMode: 'live',
    });
  const OTHER = `arn:aws:secretsmanager:eu-west-3:${ACCOUNT}:secret:other-AbCdEf`;
  const withOutputs = (outputs: Record<string, string>): DeploymentProbe =>
    healthy({ stack: async () => ({ ...STACK_FACTS, outputs }) });

  it('reads the only descriptor as the named outputs, and the one --construct-id names among several', async () => {
    const described: string[] = [];
    const one = await runDoctor(
      {
        ...withOutputs({ StripeKeyRotationDescriptorc8a: descriptor('App/Rotation', ROTATED) }),
        secret: async (id) => {
          described.push(id);
          return secret({ arn: id });
        },
      },
      STACK,
    );
    expect(one.find((c) => c.id === 'stack-outputs')).toMatchObject({ ok: true });
    expect(described).toContain(ROTATED);

    const two = withOutputs({
      StripeKeyRotationDescriptorc8a: descriptor('App/Rotation', ROTATED),
      StripeKeyRotationDescriptorc8b: descriptor('App/Team/Other', OTHER),
    });
    await expect(runDoctor(two, STACK)).rejects.toThrow(ConfigurationError);
    await expect(runDoctor(two, STACK)).rejects.toThrow('pass --construct-id with one of them');
    const picked = await runDoctor(two, STACK, 'Rotation');
    expect(picked.find((c) => c.id === 'stack-outputs')).toMatchObject({ ok: true });
  });

  it('leaves a stack with neither to its stack-outputs check', async () => {
    const checks = await runDoctor(withOutputs({ Unrelated: 'x' }), STACK);
    expect(checks.find((c) => c.id === 'stack-outputs')).toMatchObject({ ok: false });
  });
});
