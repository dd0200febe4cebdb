import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { ref, resources, testStack } from './support.js';

const SYNTH_TIMEOUT = 60_000;

function build() {
  const stack = testStack();
  const rotation = new StripeKeyRotation(stack, 'Rotation', { keyMode: 'live' });
  return { rotation, template: Template.fromStack(stack) };
}

describe('the secrets the construct owns', () => {
  it(
    'deny DeleteSecret to the account root in their resource policy',
    () => {
      const { rotation, template } = build();
      const policies = Object.values(resources(template)).filter(
        (r) => r.Type === 'AWS::SecretsManager::ResourcePolicy',
      );
      expect(policies.map((p) => p.Properties?.SecretId)).toEqual(
        expect.arrayContaining(
          [rotation.rotatedSecret, rotation.stagedKeySecret, rotation.masterApiKeySecret].map((s) => ref(s)),
        ),
      );
      expect(policies).toHaveLength(3);
      for (const policy of policies) {
        expect(policy.Properties?.ResourcePolicy).toMatchObject({
          Statement: [
            {
              Effect: 'Deny',
              Action: 'secretsmanager:DeleteSecret',
              Principal: { AWS: 'arn:aws:iam::123456789012:root' },
            },
          ],
        });
      }
    },
    SYNTH_TIMEOUT,
  );
});
