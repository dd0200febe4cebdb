/**
 * The CLI as a process under the conditions a shell puts it in: its version asked of the installed build,
 * a reader that stops after one line (`| head -1`), a script reading `--json` on every exit, and a flag
 * typed twice.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { createTestCa } from '../../sim/tls.js';
import { secret } from '../support/secret-guard.js';
import { ROOT, runCli, scratchDir } from './cli-harness.js';

const KEY = secret('sk_test_CliProcessBehaviourKey000000000000000000001');
const MASTER_API_KEY = secret('template-master-key-cli-process-0d3e');

let fleet: TemplateFleet;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let caFile: string;
let sitesFile: string;

beforeAll(async () => {
  const ca = await createTestCa();
  fleet = await startTemplateFleet({ size: 4, masterApiKey: MASTER_API_KEY, ca });
  scratch = await scratchDir();
  caFile = await scratch.write('ca.pem', ca.certPem);
  sitesFile = await scratch.write('sites.txt', `${fleet.urls.join('\n')}\n`);
});

afterAll(async () => {
  await fleet.close();
  await scratch.remove();
});

/**
 * Runs the installed build with a reader that has gone before the first line is written, as `| head -1` is
 * once it has its line: every write to stdout then fails with EPIPE.
 */
function pushIntoClosedPipe(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/stripe-key-rotator.js'), 'push', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_EXTRA_CA_CERTS: caFile,
      STRIPE_SECRET_KEY: KEY,
      TEMPLATE_MASTER_API_KEY: MASTER_API_KEY,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe.concurrent('the CLI as a process', () => {
  it('prints the package version from the installed build', async ({ expect }) => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

    const run = await runCli(['--version'], { entry: 'shim' });

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`stripe-key-rotator ${version}\n`);
  });

  it.for([
    ['text', ['--force']],
    ['dry run', ['--dry-run']],
    ['json', ['--force', '--json']],
  ] as const)(
    'exits quietly when its reader has gone (%s), the code still saying how the push went',
    async ([, extra], { expect }) => {
      const run = await pushIntoClosedPipe(['--sites-file', sitesFile, ...extra]);

      expect(run.stderr).not.toMatch(/EPIPE|Unhandled 'error' event/);
      expect(run.code, run.stderr).toBe(0);
    },
  );

  it('prints one JSON error document with --json when the command fails, and exit 1', async ({ expect }) => {
    const run = await runCli(['status', '--secret-id', 'stripe/secret-key', '--json'], {
      env: {
        AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
        AWS_REGION: 'eu-west-3',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'not-a-real-secret-access-key',
      },
      entry: 'shim',
    });

    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: false,
      error: { kind: 'failure', message: expect.any(String), exitCode: 1 },
    });
  });

  it('prints one JSON error document with --json on a usage error, and exit 2', async ({ expect }) => {
    const run = await runCli(['push', '--sites-file', sitesFile, '--json', '--canary', 'many'], {
      entry: 'shim',
    });

    expect(run.code, run.stderr).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: false,
      error: { kind: 'usage', message: '--canary must be a whole number (0–100)', exitCode: 2 },
    });
  });

  it('refuses a single-value flag given twice instead of letting the last one win', async ({ expect }) => {
    const run = await runCli(['push', '--sites-file', sitesFile, '--sites-file', sitesFile, '--dry-run'], {
      entry: 'shim',
    });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('error: --sites-file is given more than once; give it once');
  });

  it('shows an out-of-range number as typed, cut short, not as a float', async ({ expect }) => {
    const run = await runCli(['push', '--sites-file', sitesFile, '--concurrency', '1'.padEnd(24, '0')], {
      entry: 'shim',
    });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('error: --concurrency=100000000000… (24 digits) is out of range (1–256)');
  });
});
