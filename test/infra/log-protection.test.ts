import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { KEY_IN_TEXT } from '../../core/rules/keys.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { LIVE_OPERATORS, logicalId, resources, testStack } from './support.js';

describe("the rotation log group's data-protection policy", () => {
  it('masks Stripe keys in the rotation logs with the same pattern the CLI masks them with', () => {
    const stack = testStack();
    const rotation = new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'live',
      operatorPrincipals: LIVE_OPERATORS,
    });
    const template = Template.fromStack(stack);
    const logGroup = resources(template)[logicalId(rotation.logGroup)];
    expect(logGroup?.Properties?.DataProtectionPolicy).toMatchObject({
      Configuration: { CustomDataIdentifier: [{ Name: 'StripeKey', Regex: KEY_IN_TEXT }] },
      Statement: [
        expect.objectContaining({
          DataIdentifier: ['StripeKey'],
          Operation: { Audit: { FindingsDestination: {} } },
        }),
        expect.objectContaining({
          DataIdentifier: ['StripeKey'],
          Operation: { Deidentify: { MaskConfig: {} } },
        }),
      ],
    });
  }, 60_000);
});
