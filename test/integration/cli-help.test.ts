/** Every command explains itself: `--help` exits 0 with usage on stdout; no command at all is a usage error. */
import { describe, it } from 'vitest';
import { runCli } from './cli-harness.js';

describe.concurrent('stripe-key-rotator --help', () => {
  it('lists the commands and the exit codes at the top level', async ({ expect }) => {
    const run = await runCli(['--help']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: stripe-key-rotator <command> [options]');
    expect(run.stdout).toMatch(/^ {2}push +push a Stripe key/m);
    expect(run.stdout).toMatch(/^ {2}demo +rehearse a complete rotation/m);
    expect(run.stdout).toContain('2 usage or configuration error');
  });

  it('explains push: sources of the keys, every option, exit codes', async ({ expect }) => {
    const run = await runCli(['push', '--help']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: stripe-key-rotator push --sites-file <path> [options]');
    for (const option of [
      '--sites-file',
      '--secret-key',
      '--master-key',
      '--concurrency',
      '--timeout',
      '--dry-run',
      '--force, --yes',
      '--live',
      '--retry-from',
      '--json',
      '-q, --quiet',
      '130  interrupted by SIGINT',
      '143  interrupted by SIGTERM',
    ]) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).toContain('STRIPE_SECRET_KEY');
    expect(run.stdout).toContain('TEMPLATE_MASTER_API_KEY');
    expect(run.stdout).toContain('visible to every user of this machine');
  });

  it('explains demo', async ({ expect }) => {
    const run = await runCli(['help', 'demo']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: stripe-key-rotator demo [--sites <n>] [--json] [--verbose]');
  });

  it('answers no command with the usage on stderr and exit 2', async ({ expect }) => {
    const run = await runCli([]);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Usage: stripe-key-rotator <command> [options]');
  });
});
