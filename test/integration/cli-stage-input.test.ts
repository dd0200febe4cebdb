/**
 * `stage` reading the key from stdin, as a process: one line, no wait for the end of an open pipe, a
 * several-line file refused, an empty one named. The deployment points at a closed loopback port: each case
 * ends before AWS, or fails fast on the unreachable endpoint (which proves the key was taken).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fakeKey } from '../support/rotation-fixtures.js';
import { runCli } from './cli-harness.js';

const KEY = fakeKey('test', 'StageInputKey');
let env: Record<string, string>;

beforeAll(() => {
  env = {
    // Nothing listens on port 9 of loopback: any AWS call fails at once.
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_MAX_ATTEMPTS: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    STAGED_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staged-AbCdEf',
    LEDGER_TABLE: 'ledger',
    KEY_MODE: 'test',
  };
});

const stage = (input: string, keepStdinOpen = false) =>
  runCli(['stage', '--secret-id', 'stripe/key', '--no-stripe-check'], {
    env,
    input,
    keepStdinOpen,
    timeoutMs: 20_000,
  });

describe('stripe-key-rotator stage, reading the key from stdin', () => {
  it('takes the first line of a pipe that stays open, without waiting for its end', async () => {
    const run = await stage(`${KEY}\n`, true);

    // It went on to AWS (unreachable here) instead of waiting for EOF until the time limit.
    expect(run.timedOut).toBe(false);
    expect(run.code).not.toBeNull();
    expect(run.stderr).not.toContain('Waiting for the key on stdin');
    expect(run.stderr).not.toContain(KEY);
  });

  it('says what it waits for when stdin stays silent', async () => {
    const run = await runCli(['stage', '--secret-id', 'stripe/key', '--no-stripe-check'], {
      env,
      keepStdinOpen: true,
      timeoutMs: 20_000,
      // Stopped once it said so; it would otherwise wait for the key as long as the pipe stays open.
      interrupt: { signal: 'SIGTERM', when: ({ stderr }) => stderr.includes('Waiting for the key') },
    });

    expect(run.timedOut).toBe(false);
    expect(run.stderr).toContain('Waiting for the key on stdin (one line; Ctrl-C to cancel)...');
  });

  it('refuses a file of several lines with exit 2, showing none of them', async () => {
    const run = await stage(`${KEY}\nexport TEMPLATE_MASTER_API_KEY=something-secret\n`);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the input holds more than one line: give the key alone');
    expect(run.stderr).not.toContain('something-secret');
  });

  it('names an empty stdin with exit 2', async () => {
    const run = await stage('');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('stdin was empty: pipe the key alone, e.g. < key.txt');
  });
});
