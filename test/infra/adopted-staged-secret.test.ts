import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../core/contract.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import {
  identityStatements,
  LIVE_OPERATORS,
  logicalId,
  propertiesOf,
  resources,
  rotationFunctionEnvironment,
  testStack,
} from './support.js';

const STAGED_ARN = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:payments/staged-stripe-key-AbC123';
const STAGED_KEY = 'arn:aws:kms:eu-west-3:123456789012:key/staged-key';

describe('a StripeKeyRotation adopting an existing staged key secret (e.g. one a deleted stack retained)', () => {
  let rotation: StripeKeyRotation;
  let template: Template;
  beforeAll(() => {
    const stack = testStack();
    rotation = new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'live',
      operatorPrincipals: LIVE_OPERATORS,
      stagedKeySecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Staged', {
        secretCompleteArn: STAGED_ARN,
        encryptionKey: kms.Key.fromKeyArn(stack, 'StagedKey', STAGED_KEY),
      }),
    });
    template = Template.fromStack(stack);
  }, 60_000);

  it('creates no staged secret of its own: only the rotated and master key secrets', () => {
    const secrets = Object.entries(resources(template)).filter(
      ([, r]) => r.Type === 'AWS::SecretsManager::Secret',
    );
    expect(secrets.map(([id]) => id).sort()).toEqual(
      [logicalId(rotation.rotatedSecret), logicalId(rotation.masterApiKeySecret)].sort(),
    );
    expect(rotation.stagedKeySecret.secretArn).toBe(STAGED_ARN);
  });

  it('points the function at the adopted secret, and lets it read (and decrypt) only that one', () => {
    expect(rotationFunctionEnvironment(template)[SETTINGS.stagedSecretId.variable]).toBe(STAGED_ARN);
    const statements = JSON.stringify(identityStatements(template));
    expect(statements).toContain(STAGED_ARN);
    expect(statements).toContain(STAGED_KEY);
    expect(propertiesOf(template, 'AWS::SSM::Parameter')).toBeDefined();
  });

  it('leaves the adopted secret to its owner: no delete-deny policy written for it, and both cdk-nag packs clean', () => {
    const policies = Object.values(resources(template)).filter(
      (r) => r.Type === 'AWS::SecretsManager::ResourcePolicy',
    );
    expect(JSON.stringify(policies)).not.toContain(STAGED_ARN);
    const violations = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap(
      (pack) => pack.validateScope(rotation).violations,
    );
    expect(violations.map((violation) => violation.ruleName)).toEqual([]);
    // Both packs walk every resource of the rotation: slower than the default timeout on a loaded machine.
  }, 30_000);
});
