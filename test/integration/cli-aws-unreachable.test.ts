/**
 * Every AWS command against an AWS side it cannot talk to: an endpoint that accepts connections and never
 * answers ends each one at the AWS call deadline, and an endpoint that refuses connections ends it at once;
 * either way with exit 1, the service named, what to check, and with --json the one error document.
 * Nothing leaves loopback.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { AWS_CALL_DEADLINE_MS } from '../../core/index.js';
import { secret } from '../support/secret-guard.js';
import { type SilentEndpoint, startSilentEndpoint } from '../support/silent-endpoint.js';
import { type CliRun, runCli } from './cli-harness.js';

const KEY = secret('sk_test_UnreachableAwsStagedKey00000000000000000001');
const SECRET = 'stripe/test/key';

/** Every deployment setting in the environment, as in the rotation function: no command stops for one. */
const DEPLOYMENT = {
  STAGED_SECRET_ARN: 'stripe/test/staged-key',
  SITES_PARAMETER: '/stripe/test/sites',
  LEDGER_TABLE: 'unreachable-ledger',
  MASTER_API_KEY_SECRET_ARN: 'stripe/test/master-api-key',
  KEY_MODE: 'test',
};

/** Each AWS command as an operator runs it, and the service its first call goes to. */
const COMMANDS: readonly { args: readonly string[]; service: string; input?: string }[] = [
  { args: ['status', '--secret-id', SECRET], service: 'Secrets Manager' },
  { args: ['plan', '--secret-id', SECRET], service: 'Secrets Manager' },
  {
    args: ['stage', '--secret-id', SECRET, '--no-stripe-check', '--force'],
    service: 'Secrets Manager',
    input: `${KEY}\n`,
  },
  { args: ['rotate', '--secret-id', SECRET, '--wait'], service: 'Secrets Manager' },
  { args: ['abort', '--secret-id', SECRET, '--force'], service: 'Secrets Manager' },
  { args: ['doctor', '--stack', 'StripeKeyRotator-test'], service: 'CloudFormation' },
];

let silent: SilentEndpoint;

beforeAll(async () => {
  silent = await startSilentEndpoint();
});

afterAll(() => silent.close());

function run(
  command: (typeof COMMANDS)[number],
  endpoint: string,
  extra: readonly string[],
  timeoutMs = 20_000,
): Promise<CliRun> {
  // The installed build: what an operator runs, and quicker to start than the sources through tsx.
  return runCli([...command.args, '--region', 'eu-west-3', ...extra], {
    entry: 'shim',
    env: {
      ...DEPLOYMENT,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEONLY',
      AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    ...(command.input === undefined ? {} : { input: command.input }),
    timeoutMs,
  });
}

interface ErrorDocument {
  readonly ok: boolean;
  readonly error: { readonly kind: string; readonly message: string; readonly exitCode: number };
}

describe.concurrent('an AWS endpoint that accepts connections and never answers', () => {
  it.for(COMMANDS.map((command) => [command.args[0], command] as const))(
    '%s ends at the AWS call deadline with exit 1 and one JSON error document naming the service',
    async ([, command], { expect }) => {
      const ran = await run(command, silent.url, ['--json'], AWS_CALL_DEADLINE_MS + 10_000);

      expect(ran.timedOut, ran.stderr).toBe(false);
      expect(ran.code, ran.stderr).toBe(1);
      expect(ran.durationMs).toBeLessThan(AWS_CALL_DEADLINE_MS + 6_000);
      const document = JSON.parse(ran.stdout) as ErrorDocument;
      expect(document).toMatchObject({ ok: false, error: { kind: 'failure', exitCode: 1 } });
      expect(document.error.message).toContain(`${command.service} did not answer`);
      expect(ran.stderr).toContain(`error: ${document.error.message}`);
    },
  );
});

describe('an AWS endpoint that refuses connections', () => {
  const refusing = 'http://127.0.0.1:1';
  it.for(COMMANDS.map((command) => [command.args[0], command] as const))(
    '%s says which service could not be reached and what to check, in text and in the JSON error',
    async ([, command], { expect }) => {
      const text = await run(command, refusing, []);
      const json = await run(command, refusing, ['--json']);

      for (const ran of [text, json]) expect(ran.code, ran.stderr).toBe(1);
      expect(text.stderr).toContain(`${command.service} could not be reached for`);
      expect(text.stderr).toMatch(
        /Check the endpoint \(AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:1\), the region \(eu-west-3\), .*credentials/,
      );
      const { error } = JSON.parse(json.stdout) as ErrorDocument;
      expect(error.kind).toBe('failure');
      expect(error.message).toContain(`${command.service} could not be reached for`);
      expect(error.message).toContain('Check the endpoint (AWS_ENDPOINT_URL=http://127.0.0.1:1)');
    },
  );
});

describe('rotate --wait interrupted while an AWS call hangs', () => {
  it('ends at the first SIGINT within 2 s with exit 130 and the JSON error document of kind interrupted', async ({
    expect,
  }) => {
    const before = silent.connections;
    let signalledAt = 0;

    const ran = await runCli(['rotate', '--secret-id', SECRET, '--region', 'eu-west-3', '--wait', '--json'], {
      entry: 'shim',
      env: {
        AWS_ENDPOINT_URL: silent.url,
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEONLY',
        AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      timeoutMs: AWS_CALL_DEADLINE_MS,
      interrupt: {
        signal: 'SIGINT',
        when: () => {
          // Once DescribeSecret is waiting on the endpoint.
          const hanging = silent.connections > before;
          if (hanging) signalledAt = performance.now();
          return hanging;
        },
      },
    });
    const exitMs = performance.now() - signalledAt;

    expect(ran.timedOut, ran.stderr).toBe(false);
    expect(ran.code, ran.stderr).toBe(130);
    expect(exitMs).toBeLessThan(2_000);
    const document = JSON.parse(ran.stdout) as ErrorDocument;
    expect(document).toMatchObject({ ok: false, error: { kind: 'interrupted', exitCode: 130 } });
    expect(document.error.message).toContain(`status --secret-id ${SECRET} --region eu-west-3`);
  });
});
