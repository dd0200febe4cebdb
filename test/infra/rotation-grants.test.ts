import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { SiteListParameter } from '../../lib/site-list.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { LIVE_OPERATORS, managedPolicyStatements, resources, testStack } from './support.js';

const SYNTH_TIMEOUT = 60_000;
const REGION = 'eu-west-3';

/** The statements of the inline policy CDK attaches to `role`, as the template holds them. */
function roleStatements(template: Template, stack: Stack, role: iam.Role): unknown[] {
  const roleRef = stack.resolve(role.roleName);
  const policies = Object.values(resources(template)).filter(
    (resource) =>
      resource.Type === 'AWS::IAM::Policy' &&
      JSON.stringify(resource.Properties?.Roles) === JSON.stringify([roleRef]),
  );
  return policies.flatMap(
    (policy) => (policy.Properties?.PolicyDocument as { Statement: unknown[] } | undefined)?.Statement ?? [],
  );
}

/**
 * A policy as the set of "action on resource [when condition]" it allows: independent of how CDK merges
 * statements (minimizePolicies), so the tests pin permissions, not layout.
 */
function permissions(statements: readonly unknown[]): string[] {
  const list = (value: unknown) => (Array.isArray(value) ? value : [value]);
  const allowed = new Set<string>();
  for (const statement of statements as { Action: unknown; Resource: unknown; Condition?: unknown }[]) {
    const when = statement.Condition === undefined ? '' : ` when ${JSON.stringify(statement.Condition)}`;
    for (const action of list(statement.Action)) {
      for (const resource of list(statement.Resource)) {
        allowed.add(
          `${action} on ${typeof resource === 'string' ? resource : JSON.stringify(resource)}${when}`,
        );
      }
    }
  }
  return [...allowed].sort();
}

function deployment(prepare?: (stack: Stack) => Partial<ConstructorParameters<typeof StripeKeyRotation>[2]>) {
  const stack = testStack();
  const rotation = new StripeKeyRotation(stack, 'Rotation', {
    keyMode: 'live',
    operatorPrincipals: LIVE_OPERATORS,
    ...prepare?.(stack),
  });
  const grantees = {
    payments: new iam.Role(stack, 'Payments', { assumedBy: new iam.AccountRootPrincipal() }),
    stager: new iam.Role(stack, 'Stager', { assumedBy: new iam.AccountRootPrincipal() }),
    scheduler: new iam.Role(stack, 'Scheduler', { assumedBy: new iam.AccountRootPrincipal() }),
    operator: new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() }),
  };
  rotation.grantReadKey(grantees.payments);
  rotation.grantStageKey(grantees.stager);
  rotation.grantStartRotation(grantees.scheduler);
  rotation.grantOperate(grantees.operator);
  const template = Template.fromStack(stack);
  const r = (value: unknown) => stack.resolve(value);
  return {
    stack,
    rotation,
    template,
    grantees,
    statementsOf: (role: iam.Role) => roleStatements(template, stack, role),
    arns: {
      rotated: r(rotation.rotatedSecret.secretArn),
      staged: r(rotation.stagedKeySecret.secretArn),
      master: r(rotation.masterApiKeySecret.secretArn),
      table: r(rotation.ledgerTable.tableArn),
      historyIndex: { 'Fn::Join': ['', [r(rotation.ledgerTable.tableArn), '/index/history']] },
      function: r(rotation.rotationFunction.functionArn),
      stack: { Ref: 'AWS::StackId' },
    },
    refs: { sites: r(rotation.sitesParameterName) },
  };
}

/** `action on resource [when condition]`, as `permissions` spells it. */
/** `grantReadKey`'s condition: the label AWSCURRENT, named or implied, and no version id. */
const CURRENT_ONLY = {
  StringEqualsIfExists: { 'secretsmanager:VersionStage': 'AWSCURRENT' },
  Null: { 'secretsmanager:VersionId': 'true' },
};

function allow(actions: string | string[], resources: unknown, condition?: unknown): string[] {
  const statement = { Action: actions, Resource: resources, ...(condition ? { Condition: condition } : {}) };
  return permissions([statement]);
}

describe('the grants of a StripeKeyRotation with AWS managed keys and a new site list', () => {
  let d: ReturnType<typeof deployment>;
  beforeAll(() => {
    d = deployment();
  }, SYNTH_TIMEOUT);
  const READ = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];
  const sorted = (...lists: string[][]) => [...new Set(lists.flat())].sort();

  it('grantReadKey lets a workload describe the rotated secret and read its AWSCURRENT only, nothing else', () => {
    expect(permissions(d.statementsOf(d.grantees.payments))).toEqual(
      sorted(
        allow('secretsmanager:DescribeSecret', d.arns.rotated),
        allow('secretsmanager:GetSecretValue', d.arns.rotated, CURRENT_ONLY),
      ),
    );
  });

  it('grantStageKey writes the staged secret, and reads the keys in service and the ledger to compare', () => {
    expect(permissions(d.statementsOf(d.grantees.stager))).toEqual(
      sorted(
        allow([...READ, 'secretsmanager:PutSecretValue'], d.arns.staged),
        // Every version the rotated secret still holds, deprecated ones too: a key once in service.
        allow([...READ, 'secretsmanager:ListSecretVersionIds'], d.arns.rotated),
        allow(['dynamodb:GetItem', 'dynamodb:Query'], d.arns.table),
        allow('dynamodb:Query', d.arns.historyIndex),
      ),
    );
  });

  it('grantStartRotation allows RotateSecret and the invoke right on the rotation function it requires', () => {
    expect(permissions(d.statementsOf(d.grantees.scheduler))).toEqual(
      sorted(
        allow(['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'], d.arns.rotated),
        allow('lambda:InvokeFunction', d.arns.function),
      ),
    );
  });

  it('grantOperate holds exactly what status, plan, rotate and abort call: no value written, nothing deleted', () => {
    const operate = permissions(d.statementsOf(d.grantees.operator));
    expect(operate).toEqual(
      sorted(
        allow(
          [
            ...READ,
            'secretsmanager:ListSecretVersionIds',
            'secretsmanager:UpdateSecretVersionStage',
            'secretsmanager:RotateSecret',
          ],
          d.arns.rotated,
        ),
        allow('lambda:InvokeFunction', d.arns.function),
        allow(READ, d.arns.staged),
        allow(READ, d.arns.master),
        allow(
          ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'],
          d.arns.table,
        ),
        allow('dynamodb:Query', d.arns.historyIndex),
        // The parameter's name is generated: known at deploy only.
        allow('ssm:GetParameter', {
          'Fn::Join': ['', [`arn:aws:ssm:${REGION}:123456789012:parameter/`, d.refs.sites]],
        }),
        // --stack NAME reads the stack's outputs instead of an ARN per flag.
        allow('cloudformation:DescribeStacks', d.arns.stack),
      ),
    );
    expect(operate.join('\n')).not.toMatch(/PutSecretValue|DeleteItem|Scan|DeleteSecret/);
  });

  it('offers the same operator permissions as a managed policy, each statement with a sid', () => {
    const statements = managedPolicyStatements(d.template) as { Sid?: string }[];
    expect(statements.every((statement) => typeof statement.Sid === 'string')).toBe(true);
    expect(permissions(statements)).toEqual(permissions(d.statementsOf(d.grantees.operator)));
  });
});

describe('the grants of a StripeKeyRotation with customer managed keys, imported secrets and a site-list path', () => {
  const ROTATED_ARN = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key-AbC123';
  const ROTATED_KEY = 'arn:aws:kms:eu-west-3:123456789012:key/rotated-key';
  const SITE_KEY = 'arn:aws:kms:eu-west-3:123456789012:key/site-list-key';
  const MASTER_ARN = `arn:aws:secretsmanager:${REGION}:123456789012:secret:stripe/master-??????`;
  const PATH_ARN = `arn:aws:ssm:${REGION}:123456789012:parameter/stripe/live/sites`;
  let d: ReturnType<typeof deployment>;
  let secretsKey: unknown;
  beforeAll(() => {
    d = deployment((stack) => {
      const key = new kms.Key(stack, 'SecretsKey', { enableKeyRotation: true });
      secretsKey = stack.resolve(key.keyArn);
      return {
        encryptionKey: key,
        rotatedSecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Rotated', {
          secretCompleteArn: ROTATED_ARN,
          encryptionKey: kms.Key.fromKeyArn(stack, 'RotatedKey', ROTATED_KEY),
        }),
        // Known by name only: policies must add the 6-character suffix wildcard.
        masterApiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Master', 'stripe/master'),
        siteList: SiteListParameter.fromPath('/stripe/live/sites/', {
          decryptionKey: kms.Key.fromKeyArn(stack, 'SiteKey', SITE_KEY),
        }),
      };
    });
  }, SYNTH_TIMEOUT);

  const via = (service: string) => ({ 'kms:ViaService': `${service}.${REGION}.amazonaws.com` });

  it('grantReadKey may decrypt with the rotated secret key only via Secrets Manager and for that secret', () => {
    expect(permissions(d.statementsOf(d.grantees.payments))).toEqual(
      [
        ...allow('secretsmanager:DescribeSecret', ROTATED_ARN),
        ...allow('secretsmanager:GetSecretValue', ROTATED_ARN, CURRENT_ONLY),
        ...allow('kms:Decrypt', ROTATED_KEY, {
          StringEquals: { ...via('secretsmanager'), 'kms:EncryptionContext:SecretARN': ROTATED_ARN },
        }),
      ].sort(),
    );
  });

  it('grantStageKey may generate data keys for the staged secret only, and read the ledger via DynamoDB', () => {
    const stager = permissions(d.statementsOf(d.grantees.stager));
    expect(stager).toEqual(
      expect.arrayContaining([
        ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], secretsKey, {
          StringEquals: { ...via('secretsmanager'), 'kms:EncryptionContext:SecretARN': d.arns.staged },
        }),
        ...allow('kms:Decrypt', secretsKey, { StringEquals: via('dynamodb') }),
      ]),
    );
    expect(stager.filter((p) => p.startsWith('kms:GenerateDataKey'))).toHaveLength(1);
  });

  it('grantOperate: exact permissions, a secret known by name through its suffix wildcard, the path with its key', () => {
    const READ = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];
    expect(permissions(d.statementsOf(d.grantees.operator))).toEqual(
      [
        ...allow(
          [
            ...READ,
            'secretsmanager:ListSecretVersionIds',
            'secretsmanager:RotateSecret',
            'secretsmanager:UpdateSecretVersionStage',
          ],
          ROTATED_ARN,
        ),
        ...allow('kms:Decrypt', ROTATED_KEY, {
          StringEquals: { ...via('secretsmanager'), 'kms:EncryptionContext:SecretARN': ROTATED_ARN },
        }),
        ...allow('lambda:InvokeFunction', d.arns.function),
        ...allow(READ, [d.arns.staged, MASTER_ARN]),
        // The master key secret is known by name only, without its key: nothing to decrypt with for it.
        ...allow('kms:Decrypt', secretsKey, {
          StringEquals: { ...via('secretsmanager'), 'kms:EncryptionContext:SecretARN': d.arns.staged },
        }),
        ...allow(
          ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'],
          d.arns.table,
        ),
        ...allow('dynamodb:Query', d.arns.historyIndex),
        ...allow(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], secretsKey, {
          StringEquals: via('dynamodb'),
        }),
        ...allow('ssm:GetParametersByPath', [PATH_ARN, `${PATH_ARN}/`]),
        ...allow('kms:Decrypt', SITE_KEY, {
          StringEquals: via('ssm'),
          StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': `${PATH_ARN}/*` },
        }),
        ...allow('cloudformation:DescribeStacks', d.arns.stack),
      ].sort(),
    );
  });
});
