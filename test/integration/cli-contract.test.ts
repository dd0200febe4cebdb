/**
 * The CLI pushes as the rotation function does: its defaults and bounds are the function's own
 * (core/contract.ts), not copies that drift. Nothing here contacts a site or AWS.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../../core/config.js';
import { range, SETTINGS } from '../../core/contract.js';
import { secret } from '../support/secret-guard.js';
import { runCli, scratchDir } from './cli-harness.js';

const KEY_ENV = {
  STRIPE_SECRET_KEY: secret('sk_test_CliContractIntegrationKey000000000000001'),
  TEMPLATE_MASTER_API_KEY: secret('template-master-key-cli-contract-5e1d'),
};

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let sitesFile: string;

beforeAll(async () => {
  scratch = await scratchDir();
  sitesFile = await scratch.write('sites.txt', 'https://a.example.com\nhttps://b.example.com\n');
});

afterAll(() => scratch.remove());

describe.concurrent("the CLI's push settings are the rotation function's", () => {
  it('push defaults to the concurrency, timeout, canaries and attempts of the function', async ({
    expect,
  }) => {
    const run = await runCli(['push', '--sites-file', sitesFile, '--dry-run', '--json'], { env: KEY_ENV });

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      concurrency: CONFIG_DEFAULTS.pushConcurrency,
      timeoutMs: CONFIG_DEFAULTS.siteTimeoutMs,
      canary: CONFIG_DEFAULTS.canarySites,
      attempts: CONFIG_DEFAULTS.siteAttempts,
    });
  });

  it('push accepts the bounds of the function and refuses one beyond them', async ({ expect }) => {
    const { max } = SETTINGS.pushConcurrency;
    const within = await runCli(
      ['push', '--sites-file', sitesFile, '--dry-run', '--concurrency', String(max)],
      {
        env: KEY_ENV,
      },
    );
    const beyond = await runCli(
      ['push', '--sites-file', sitesFile, '--dry-run', '--concurrency', String(max + 1)],
      { env: KEY_ENV },
    );

    expect(within.code).toBe(0);
    expect(beyond.code).toBe(2);
    expect(beyond.stderr).toContain(
      `--concurrency=${max + 1} is out of range (${range(SETTINGS.pushConcurrency)})`,
    );
  });

  it('abort refuses a concurrency the function would refuse, before reaching AWS', async ({ expect }) => {
    const { max } = SETTINGS.pushConcurrency;
    const run = await runCli([
      'abort',
      '--secret-id',
      'stripe/live/key',
      '--ledger-table',
      'ledger',
      '--master-key-secret-id',
      'stripe/master',
      '--concurrency',
      String(max + 1),
      '--force',
    ]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `--concurrency=${max + 1} is out of range (${range(SETTINGS.pushConcurrency)})`,
    );
  });

  it('plan refuses canary sites the function would refuse', async ({ expect }) => {
    const { max } = SETTINGS.canarySites;
    const run = await runCli(['plan', '--secret-id', 'stripe/live/key', '--canary-sites', String(max + 1)]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `--canary-sites=${max + 1} is out of range (${range(SETTINGS.canarySites)})`,
    );
  });

  it('stage refuses a STRIPE_API_BASE the function would refuse, before reading a key', async ({
    expect,
  }) => {
    const run = await runCli(
      [
        'stage',
        '--secret-id',
        'stripe/test/key',
        '--staged-secret-id',
        'stripe/test/staged',
        '--ledger-table',
        'stripe-test-ledger',
        '--key-mode',
        'test',
      ],
      { env: { STRIPE_API_BASE: 'https://api.stripe.com/?account=other' } },
    );

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('STRIPE_API_BASE must not carry credentials, a query or a fragment');
  });

  it("an AWS command prints neither the SDK's Node-version notice nor a doubled error prefix", async ({
    expect,
  }) => {
    const run = await runCli(['status', '--secret-id', 'stripe/secret-key'], {
      env: {
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'not-a-real-secret-access-key',
        AWS_REGION: 'eu-west-3',
        // Nothing listens on the discard port: the command fails fast, after creating its clients.
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      },
    });

    expect(run.code).not.toBe(0);
    expect(run.stderr).not.toContain('NodeVersionSupportWarning');
    expect(run.stderr).not.toContain('error: Error:');
    expect(run.stderr).toContain('ECONNREFUSED');
  });

  it('abort takes --yes as --force: no confirmation refusal without a terminal', async ({ expect }) => {
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'not-a-real-secret-access-key',
      AWS_REGION: 'eu-west-3',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      LEDGER_TABLE: 'ledger',
      MASTER_API_KEY_SECRET_ARN: 'stripe/master-api-key',
      STAGED_SECRET_ARN: 'stripe/staged-key',
      SITES_PARAMETER: '/stripe/sites',
      KEY_MODE: 'test',
    };
    const asked = await runCli(['abort', '--secret-id', 'stripe/secret-key'], { env });
    const yes = await runCli(['abort', '--secret-id', 'stripe/secret-key', '--yes'], { env });

    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain('refusing to abort without confirmation');
    expect(yes.code).not.toBe(0);
    expect(yes.stderr).not.toContain('refusing to abort without confirmation');
  });
});
