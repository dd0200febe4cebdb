/**
 * `rotate` against a mocked Secrets Manager: a ResourceNotFoundException from RotateSecret is a started
 * rotation only when the secret shows the version the call created, whatever AWS_ENDPOINT_URL says (it
 * also configures VPC endpoints and proxies in front of the real service).
 */
import {
  DescribeSecretCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_OK } from '../../cli/commands/frame.js';
import { rotateCommand } from '../../cli/commands/rotate.js';
import { runInProcess } from '../support/cli-in-process.js';

const ARN = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key-AbC123';
const FUNCTION = 'arn:aws:lambda:eu-west-3:123456789012:function:rotation';
const sm = mockClient(SecretsManagerClient);
afterEach(() => sm.reset());

const notFound = () => new ResourceNotFoundException({ message: 'Lambda function not found', $metadata: {} });

describe('rotate, when RotateSecret answers ResourceNotFoundException', () => {
  it('fails with exit 2 when no version was created, even with AWS_ENDPOINT_URL set', async () => {
    sm.on(DescribeSecretCommand).resolves({ ARN, RotationLambdaARN: FUNCTION, VersionIdsToStages: {} });
    sm.on(RotateSecretCommand).rejects(notFound());
    const run = await runInProcess(rotateCommand, ['--secret-id', ARN, '--region', 'eu-west-3'], {
      AWS_ENDPOINT_URL: 'https://vpce-0123.secretsmanager.eu-west-3.vpce.amazonaws.com',
    });
    expect(run.code).toBe(2);
    expect(run.stdout).not.toContain('Rotation started');
    expect(run.stderr).toContain('Starting the rotation of');
    expect(run.stderr).toContain('ResourceNotFoundException');
  });

  it('reports the rotation started when the call created the AWSPENDING version (an emulator without the function)', async () => {
    sm.on(DescribeSecretCommand).resolves({ ARN, RotationLambdaARN: FUNCTION, VersionIdsToStages: {} });
    sm.on(RotateSecretCommand).callsFake((input: { ClientRequestToken: string }) => {
      sm.on(DescribeSecretCommand).resolves({
        ARN,
        RotationLambdaARN: FUNCTION,
        VersionIdsToStages: { [input.ClientRequestToken]: ['AWSPENDING'] },
      });
      throw notFound();
    });
    const run = await runInProcess(rotateCommand, ['--secret-id', ARN, '--region', 'eu-west-3'], {});
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toContain('Rotation started');
    expect(run.stderr).toContain('the rotation started but its function could not be invoked');
  });
});
