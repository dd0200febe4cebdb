/**
 * The descriptor output every StripeKeyRotation emits, so the CLI's `--stack NAME` finds the construct in
 * any app's stack: one per construct, keyed by the construct's address, a JSON object CloudFormation
 * completes at deploy time from the resources' Refs.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { STACK_DESCRIPTOR, STACK_OUTPUTS } from '../../core/contract.js';
import { parseDescriptor, stackDescriptors } from '../../core/operations/deployment.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import { LIVE_OPERATORS, logicalId, testApp } from './support.js';

const STAGED_ARN = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:payments/staged-stripe-key-AbC123';

type Output = { Value: unknown; Description?: string; Export?: unknown };

function outputs(template: Template): Record<string, Output> {
  return (template.toJSON() as { Outputs?: Record<string, Output> }).Outputs ?? {};
}

/** An output's value as CloudFormation would resolve it, each `{Ref: X}` standing as `<Ref X>`. */
function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return `<Ref ${String(object.Ref)}>`;
  const join = object['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined) return join[1].map(resolve).join(join[0]);
  throw new Error(`unexpected intrinsic in a descriptor: ${JSON.stringify(value)}`);
}

function descriptorOutputs(template: Template): [string, Output][] {
  return Object.entries(outputs(template)).filter(([key]) => key.startsWith(STACK_DESCRIPTOR.outputPrefix));
}

describe('the stack descriptor output', () => {
  it("is emitted by the construct in an adopting app's plain stack: the Refs of its resources, the adopted ARN as is", () => {
    const app = testApp();
    const stack = new Stack(app, 'Payments', { env: { account: '123456789012', region: 'eu-west-3' } });
    const rotation = new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'test',
      operatorPrincipals: LIVE_OPERATORS,
      stagedKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Staged', STAGED_ARN),
    });
    const template = Template.fromStack(stack);

    const found = descriptorOutputs(template);
    expect(found).toHaveLength(1);
    const [key, output] = found[0] as [string, Output];
    expect(key).toBe(`${STACK_DESCRIPTOR.outputPrefix}${rotation.node.addr}`);
    expect(output.Export).toBeUndefined();
    expect(output.Description).toMatch(/--stack/);
    // Nothing else of the repository's own stack: its named outputs are not the construct's.
    for (const name of Object.values(STACK_OUTPUTS)) expect(outputs(template)[name]).toBeUndefined();

    const descriptor = JSON.parse(resolve(output.Value)) as Record<string, unknown>;
    expect(descriptor).toEqual({
      v: STACK_DESCRIPTOR.version,
      id: 'Payments/Rotation',
      rotatedSecret: `<Ref ${logicalId(rotation.rotatedSecret)}>`,
      stagedKeySecret: STAGED_ARN,
      masterApiKeySecret: `<Ref ${logicalId(rotation.masterApiKeySecret)}>`,
      sitesParameter: `<Ref ${logicalId(rotation.sitesParameter)}>`,
      ledgerTable: `<Ref ${logicalId(rotation.ledgerTable)}>`,
      keyMode: 'test',
    });
    // The CLI's parser reads it as it stands.
    const parsed = parseDescriptor(key, resolve(output.Value));
    expect(parsed.id).toBe('Payments/Rotation');
    expect(parsed.outputs.get(STACK_OUTPUTS.stagedKeySecret)).toBe(STAGED_ARN);
  }, 60_000);

  it('is one per construct with unique keys, nested scopes included, each naming its own construct path', () => {
    const app = testApp();
    const stack = new Stack(app, 'Shared', { env: { account: '123456789012', region: 'eu-west-3' } });
    const live = new StripeKeyRotation(stack, 'Live', {
      keyMode: 'live',
      operatorPrincipals: LIVE_OPERATORS,
    });
    const nested = new StripeKeyRotation(new Construct(stack, 'Team'), 'Rotation', {
      keyMode: 'test',
      operatorPrincipals: LIVE_OPERATORS,
    });
    const template = Template.fromStack(stack);

    const found = descriptorOutputs(template);
    expect(found.map(([key]) => key).sort()).toEqual(
      [live, nested].map((r) => `${STACK_DESCRIPTOR.outputPrefix}${r.node.addr}`).sort(),
    );
    const parsed = stackDescriptors(new Map(found.map(([key, output]) => [key, resolve(output.Value)])));
    expect(parsed.map((d) => d.id).sort()).toEqual(['Shared/Live', 'Shared/Team/Rotation']);
    expect(parsed.find((d) => d.id === 'Shared/Live')?.outputs.get(STACK_OUTPUTS.ledgerTable)).toBe(
      `<Ref ${logicalId(live.ledgerTable)}>`,
    );
    // Well inside CloudFormation's 4096-character cap on an output value, with room for long ARNs.
    for (const [, output] of found) expect(resolve(output.Value).length).toBeLessThan(1024);
  }, 60_000);
});
