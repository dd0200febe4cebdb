/**
 * Every AWS call ends at its deadline, whatever the endpoint does: an endpoint that accepts the connection
 * and never answers fails the call with an error naming the service, in the rotation function (within
 * the invocation's remaining time), through the adapters the CLI uses, and in the built CLI at the real
 * default deadline.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsDeploymentProbe } from '../../adapters/aws/doctor-probe.js';
import { createDeps } from '../../adapters/aws/index.js';
import { AWS_CALL_DEADLINE_MS, runDoctor } from '../../core/index.js';
import { createRotationHandler } from '../../lambda/runtime.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { type SilentEndpoint, startSilentEndpoint } from '../support/silent-endpoint.js';
import { runCli } from './cli-harness.js';

let silent: SilentEndpoint;
let endpoint: string;

beforeAll(async () => {
  silent = await startSilentEndpoint();
  endpoint = silent.url;
});

afterAll(() => silent.close());

const clientConfig = () => ({
  endpoint,
  region: 'eu-west-3',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'deadline-test' },
});

/** How long `call` took to fail, and its error. */
async function failure(call: () => Promise<unknown>): Promise<{ ms: number; error: Error }> {
  const started = performance.now();
  const error = await call().then(
    () => new Error('expected a failure'),
    (thrown: unknown) => thrown as Error,
  );
  return { ms: performance.now() - started, error };
}

describe('an AWS endpoint that accepts and never answers', () => {
  it("fails the rotation step within the invocation's remaining time, naming Secrets Manager", async () => {
    const handler = createRotationHandler(
      {
        STAGED_SECRET_ARN: 'stripe/test/staged-key',
        MASTER_API_KEY_SECRET_ARN: 'stripe/test/master-api-key',
        SITES_PARAMETER: '/stripe/test/sites',
        LEDGER_TABLE: 'deadline-ledger',
        KEY_MODE: 'test',
      },
      { secretsManager: new SecretsManagerClient(clientConfig()), ledger: new InMemoryLedger() },
    );
    const event = {
      Step: 'createSecret',
      SecretId: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/test/key-AbC123',
      ClientRequestToken: '11111111-2222-3333-4444-555555555555',
    };
    // 4 s left in the invocation: the call may take what is left less the margin kept to record the failure.
    const { ms, error } = await failure(() => handler(event, { getRemainingTimeInMillis: () => 4_000 }));
    expect(error.message).toMatch(/^Secrets Manager did not answer DescribeSecret within 2 s/);
    expect(error.name).toBe('TimeoutError');
    expect(ms).toBeLessThan(3_500);
  });

  it('fails a site list read within the call deadline, naming SSM', async () => {
    const aws = createDeps({ callDeadlineMs: 700, clients: { ssm: new SSMClient(clientConfig()) } });
    try {
      const { ms, error } = await failure(() => aws.siteList('/stripe/test/sites').load());
      expect(error.message).toContain('TimeoutError: SSM did not answer GetParameter within 700 ms');
      expect(ms).toBeLessThan(2_000);
    } finally {
      aws.destroy();
    }
  });

  it('fails a ledger read within the call deadline, naming DynamoDB', async () => {
    const aws = createDeps({
      callDeadlineMs: 700,
      clients: { dynamodb: new DynamoDBClient(clientConfig()) },
    });
    try {
      const { ms, error } = await failure(() =>
        aws.ledger('deadline-ledger').get({ secretArn: 'arn:x', token: 'token' }),
      );
      expect(error.message).toContain('TimeoutError: DynamoDB did not answer Get within 700 ms');
      expect(ms).toBeLessThan(2_000);
    } finally {
      aws.destroy();
    }
  });

  it("fails doctor's first read within the call deadline, naming CloudFormation (clients from createDeps)", async () => {
    const saved = { ...process.env };
    // doctor's clients are built by createDeps from the environment, as the CLI's are.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'deadline-test',
    });
    const aws = createDeps({ callDeadlineMs: 700 });
    try {
      const { ms, error } = await failure(() => runDoctor(new AwsDeploymentProbe(aws), 'StripeKeyRotator'));
      expect(error.message).toContain('CloudFormation did not answer DescribeStacks within 700 ms');
      expect(ms).toBeLessThan(2_000);
    } finally {
      aws.destroy();
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});

describe('the built CLI against an endpoint that never answers', () => {
  it('exits 1 at the AWS call deadline, naming Secrets Manager', async () => {
    const run = await runCli(
      ['status', '--secret-id', 'stripe/live/key', '--region', 'eu-west-3', '--json'],
      {
        entry: 'shim',
        timeoutMs: AWS_CALL_DEADLINE_MS + 15_000,
        env: {
          AWS_ENDPOINT_URL: endpoint,
          AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEONLY',
          AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
    );
    expect(run.timedOut).toBe(false);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(
      `Secrets Manager did not answer DescribeSecret within ${AWS_CALL_DEADLINE_MS / 1000} s`,
    );
    expect(JSON.parse(run.stdout)).toEqual({
      ok: false,
      error: {
        kind: 'failure',
        message: expect.stringContaining('Secrets Manager did not answer DescribeSecret'),
        exitCode: 1,
      },
    });
    expect(run.durationMs).toBeLessThan(AWS_CALL_DEADLINE_MS + 5_000);
  }, 60_000);
});
