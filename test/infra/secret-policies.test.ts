import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import type { StripeKeyRotationProps } from '../../lib/props.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { arnOf, LIVE_OPERATORS, logicalId, ref, resources, testApp, testStack } from './support.js';

const SYNTH_TIMEOUT = 60_000;
const ROOT = 'arn:aws:iam::123456789012:root';
const ON_CALL = 'arn:aws:iam::123456789012:role/ops/on-call';

function build(
  props: (stack: Stack) => Partial<StripeKeyRotationProps> = () => ({}),
  after: (rotation: StripeKeyRotation, stack: Stack) => void = () => {},
) {
  const stack = testStack();
  const rotation = new StripeKeyRotation(stack, 'Rotation', {
    keyMode: 'live',
    operatorPrincipals: LIVE_OPERATORS,
    ...props(stack),
  });
  after(rotation, stack);
  return { stack, rotation, template: Template.fromStack(stack) };
}

type Statement = Record<string, unknown>;

function policyOf(template: Template, secret: secretsmanager.ISecret): Statement[] {
  const found = Object.values(resources(template)).filter(
    (r) =>
      r.Type === 'AWS::SecretsManager::ResourcePolicy' &&
      JSON.stringify(r.Properties?.SecretId) === JSON.stringify(ref(secret)),
  );
  expect(found).toHaveLength(1);
  return (found[0]?.Properties?.ResourcePolicy as { Statement: Statement[] } | undefined)?.Statement ?? [];
}

const denyRootDelete = {
  Effect: 'Deny',
  Action: 'secretsmanager:DeleteSecret',
  Principal: { AWS: ROOT },
  Resource: '*',
};

function writeGuard(writers: unknown[]): Statement {
  return {
    Sid: 'OnlyRotationAndOperatorsWriteVersions',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
    Resource: '*',
    Condition: { ArnNotLike: { 'aws:PrincipalArn': writers } },
  };
}

function stagedReadGuard(readers: unknown[]): Statement {
  return {
    Sid: 'OnlyRotationStagersAndOperatorsRead',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 'secretsmanager:GetSecretValue',
    Resource: '*',
    Condition: { ArnNotLike: { 'aws:PrincipalArn': readers } },
  };
}

function rotateGuard(rotation: StripeKeyRotation): Statement {
  const functionArn = arnOf(rotation.rotationFunction);
  return {
    Sid: 'RotateOnlyWithThisFunction',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 'secretsmanager:RotateSecret',
    Resource: '*',
    Condition: {
      Null: { 'secretsmanager:RotationLambdaARN': 'false' },
      ArnNotLike: {
        'secretsmanager:RotationLambdaARN': [functionArn, { 'Fn::Join': ['', [functionArn, ':*']] }],
      },
    },
  };
}

/** The construct's own warnings (Annotations.addWarningV2 records them as node metadata). */
function warnings(rotation: StripeKeyRotation): string {
  return rotation.node.metadata
    .filter((entry) => entry.type === 'aws:cdk:warning')
    .map((entry) => String(entry.data))
    .join('\n');
}

const ownRoleArn = (rotation: StripeKeyRotation) => arnOf(rotation.rotationFunction.role as iam.Role);

describe('the secrets the construct owns', () => {
  it(
    'deny DeleteSecret to the account root; the master key secret nothing else',
    () => {
      const { rotation, template } = build();
      expect(
        Object.values(resources(template)).filter((r) => r.Type === 'AWS::SecretsManager::ResourcePolicy'),
      ).toHaveLength(3);
      expect(policyOf(template, rotation.rotatedSecret)[0]).toEqual(denyRootDelete);
      expect(policyOf(template, rotation.stagedKeySecret)).toEqual([
        denyRootDelete,
        stagedReadGuard([ownRoleArn(rotation), ON_CALL]),
      ]);
      expect(policyOf(template, rotation.masterApiKeySecret)).toEqual([denyRootDelete]);
    },
    SYNTH_TIMEOUT,
  );
});

describe("the rotated secret's resource policy", () => {
  it(
    'denies PutSecretValue and UpdateSecretVersionStage to all but the function role, and RotateSecret naming another function',
    () => {
      const { rotation, template } = build();
      expect(policyOf(template, rotation.rotatedSecret)).toEqual([
        denyRootDelete,
        writeGuard([ownRoleArn(rotation), ON_CALL]),
        rotateGuard(rotation),
      ]);
    },
    SYNTH_TIMEOUT,
  );

  it(
    'lets the operatorPrincipals through by role or user ARN, imported or defined in the app',
    () => {
      const { rotation, template } = build((stack) => ({
        operatorPrincipals: [
          iam.Role.fromRoleArn(stack, 'OnCall', ON_CALL),
          new iam.ArnPrincipal('arn:aws:iam::123456789012:user/break-glass'),
          new iam.User(stack, 'Operator'),
        ],
      }));
      const user = rotation.node.scope?.node.findChild('Operator') as iam.User;
      expect(policyOf(template, rotation.rotatedSecret)[1]).toEqual(
        writeGuard([
          ownRoleArn(rotation),
          ON_CALL,
          'arn:aws:iam::123456789012:user/break-glass',
          arnOf(user),
        ]),
      );
    },
    SYNTH_TIMEOUT,
  );

  it(
    'lets a role or user given grantOperate through, even after construction, once',
    () => {
      const { rotation, template } = build(
        () => ({}),
        (rotation, stack) => {
          const onCall = iam.Role.fromRoleArn(stack, 'OnCall', ON_CALL);
          rotation.grantOperate(onCall);
          rotation.grantOperate(onCall);
        },
      );
      expect(policyOf(template, rotation.rotatedSecret)[1]).toEqual(
        writeGuard([ownRoleArn(rotation), ON_CALL]),
      );
    },
    SYNTH_TIMEOUT,
  );

  it(
    'warns when grantOperate is given a group, which aws:PrincipalArn never names, and leaves the policy as it was',
    () => {
      const { rotation, template } = build(
        () => ({}),
        (rotation, stack) => {
          rotation.grantOperate(new iam.Group(stack, 'Operators'));
        },
      );
      expect(policyOf(template, rotation.rotatedSecret)[1]).toEqual(
        writeGuard([ownRoleArn(rotation), ON_CALL]),
      );
      expect(warnings(rotation)).toContain('name its roles or users in operatorPrincipals');
    },
    SYNTH_TIMEOUT,
  );

  it(
    'is not written on an adopted rotated secret, and operatorPrincipals then warns',
    () => {
      const rotatedArn = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key-AbC123';
      const { rotation, template } = build((stack) => ({
        rotatedSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Rotated', rotatedArn),
        operatorPrincipals: [iam.Role.fromRoleArn(stack, 'OnCall', ON_CALL)],
      }));
      const policies = Object.values(resources(template)).filter(
        (r) => r.Type === 'AWS::SecretsManager::ResourcePolicy',
      );
      expect(policies).toHaveLength(2);
      expect(JSON.stringify(policies)).not.toContain('RotateOnlyWithThisFunction');
      expect(warnings(rotation)).toContain('operatorPrincipals has no effect');
    },
    SYNTH_TIMEOUT,
  );

  it(
    'refuses operatorPrincipals that aws:PrincipalArn never holds, naming the prop and the value',
    () => {
      const attempt = (principal: (stack: Stack) => iam.IPrincipal) => () =>
        build((stack) => ({
          operatorPrincipals: [iam.Role.fromRoleArn(stack, 'Ok', ON_CALL), principal(stack)],
        }));
      const problems = (run: () => unknown) => {
        try {
          run();
        } catch (error) {
          return JSON.stringify((error as { problems?: unknown }).problems);
        }
        throw new Error('expected the construct to refuse the props');
      };
      const session = 'arn:aws:sts::123456789012:assumed-role/on-call/alice';
      expect(problems(attempt(() => new iam.ArnPrincipal(session)))).toContain(
        `operatorPrincipals[1]=${session} is a role session`,
      );
      expect(problems(attempt(() => new iam.AccountRootPrincipal()))).toContain('operatorPrincipals[1]=');
      expect(problems(attempt(() => new iam.AccountRootPrincipal()))).toContain('is not a role or a user');
      expect(problems(attempt((stack) => new iam.Group(stack, 'Operators')))).toContain(
        'is not a role or a user',
      );
      expect(problems(attempt(() => new iam.ArnPrincipal('arn:aws:iam::123456789012:role/*')))).toContain(
        'operatorPrincipals[1]=arn:aws:iam::123456789012:role/* would let every role of the account through',
      );
      expect(problems(attempt(() => new iam.ArnPrincipal('arn:aws:s3:::not-a-principal')))).toContain(
        'operatorPrincipals[1]=arn:aws:s3:::not-a-principal is not the ARN of an IAM role or user',
      );
    },
    SYNTH_TIMEOUT,
  );
});

describe('a rotation function role of your own', () => {
  it(
    'runs the function, takes its statements, and is the role the resource policy lets write',
    () => {
      const { rotation, template } = build((stack) => ({
        role: new iam.Role(stack, 'OwnRole', {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          path: '/rotation/',
        }),
      }));
      const own = rotation.node.scope?.node.findChild('OwnRole') as iam.Role;
      expect(rotation.rotationFunction.role).toBe(own);
      expect(Object.values(resources(template)).filter((r) => r.Type === 'AWS::IAM::Role')).toHaveLength(
        // The given role and the watchdog's: no ServiceRole of the construct.
        2,
      );
      expect(rotation.node.tryFindChild('ServiceRole')).toBeUndefined();
      template.hasResourceProperties('AWS::Lambda::Function', {
        Role: arnOf(own),
        Handler: 'index.handler',
      });
      const policy = Object.values(resources(template)).find(
        (r) =>
          r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles) === JSON.stringify([ref(own)]),
      );
      const statements = (policy?.Properties?.PolicyDocument as { Statement: Statement[] } | undefined)
        ?.Statement;
      const sids = (statements ?? []).map((s) => s.Sid);
      expect(sids).toEqual(
        expect.arrayContaining(['RotateOwnSecretVersions', 'ResetStagedKey', 'WriteOwnLogs']),
      );
      expect(policyOf(template, rotation.rotatedSecret)[1]).toEqual(writeGuard([arnOf(own), ON_CALL]));
      expect(logicalId(own)).toMatch(/^OwnRole/);
    },
    SYNTH_TIMEOUT,
  );

  it(
    'when imported immutable, gets no statement and is still the role the policy lets write',
    () => {
      const roleArn = 'arn:aws:iam::123456789012:role/platform/stripe-rotation';
      const { rotation, template } = build((stack) => ({
        role: iam.Role.fromRoleArn(stack, 'Imported', roleArn, { mutable: false }),
      }));
      expect(Object.values(resources(template)).filter((r) => r.Type === 'AWS::IAM::Policy')).toHaveLength(
        // Only the watchdog's.
        1,
      );
      template.hasResourceProperties('AWS::Lambda::Function', { Role: roleArn, Handler: 'index.handler' });
      expect(policyOf(template, rotation.rotatedSecret)[1]).toEqual(writeGuard([roleArn, ON_CALL]));
    },
    SYNTH_TIMEOUT,
  );
});

describe('the operatorPrincipals setting of cdk.json', () => {
  it(
    'reaches the rotated secret policy of that environment',
    () => {
      const app = testApp({
        context: {
          environments: {
            live: {
              keyMode: 'live',
              account: '123456789012',
              region: 'eu-west-3',
              operatorPrincipals: [ON_CALL],
            },
          },
        },
      });
      const [stack] = buildApp(app);
      if (stack === undefined) throw new Error('expected the live stack');
      const template = Template.fromStack(stack);
      expect(policyOf(template, stack.rotation.rotatedSecret)[1]).toEqual(
        writeGuard([ownRoleArn(stack.rotation), ON_CALL]),
      );
    },
    SYNTH_TIMEOUT,
  );
});

describe('the operators a rotation needs to clear a stuck rotation', () => {
  const bare = (
    keyMode: 'live' | 'test',
    after: (rotation: StripeKeyRotation, stack: Stack) => void = () => {},
  ) => {
    const stack = testStack();
    const rotation = new StripeKeyRotation(stack, 'Rotation', { keyMode });
    after(rotation, stack);
    return { rotation, stack };
  };

  it(
    'refuses to synthesize a live rotation nobody could abort, naming operatorPrincipals and where to set it',
    () => {
      const { stack } = bare('live');
      expect(() => Template.fromStack(stack)).toThrow(
        /operatorPrincipals is required for a live rotation: .*cdk\.json: "environments": \{"<name>": \{"operatorPrincipals"/,
      );
    },
    SYNTH_TIMEOUT,
  );

  it(
    'accepts a live rotation whose operator is given grantOperate after construction',
    () => {
      const { stack } = bare('live', (rotation, stack) =>
        rotation.grantOperate(iam.Role.fromRoleArn(stack, 'OnCall', ON_CALL)),
      );
      expect(() => Template.fromStack(stack)).not.toThrow();
    },
    SYNTH_TIMEOUT,
  );

  it(
    'warns at synthesis for a test rotation nobody could abort',
    () => {
      const { rotation, stack } = bare('test');
      Template.fromStack(stack);
      expect(warnings(rotation)).toContain('no operator may write the rotated secret');
    },
    SYNTH_TIMEOUT,
  );
});

describe("the staged secret's resource policy", () => {
  it(
    'lets the roles and users given grantStageKey or grantOperate read it, and warns for a group',
    () => {
      const stager = 'arn:aws:iam::123456789012:role/payments/stager';
      const { rotation, template } = build(
        () => ({}),
        (rotation, stack) => {
          rotation.grantStageKey(iam.Role.fromRoleArn(stack, 'Stager', stager));
          rotation.grantStageKey(new iam.Group(stack, 'Stagers'));
        },
      );
      expect(policyOf(template, rotation.stagedKeySecret)[1]).toEqual(
        stagedReadGuard([ownRoleArn(rotation), ON_CALL, stager]),
      );
      expect(warnings(rotation)).toContain(
        "grantStageKey(Test/Stagers): not a role or a user, so the staged secret's resource policy still denies it GetSecretValue",
      );
    },
    SYNTH_TIMEOUT,
  );

  it(
    'is left to the owner of an adopted staged secret, with a warning saying what to add',
    () => {
      const stagedArn = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:payments/staged-AbC123';
      const { rotation, template } = build((stack) => ({
        stagedKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Staged', stagedArn),
      }));
      expect(JSON.stringify(template.toJSON())).not.toContain('OnlyRotationStagersAndOperatorsRead');
      expect(warnings(rotation)).toContain(
        'stagedKeySecret was adopted, and its resource policy belongs to its owner',
      );
    },
    SYNTH_TIMEOUT,
  );
});
