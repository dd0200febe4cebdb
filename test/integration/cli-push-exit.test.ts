/**
 * `push` ends when its result is out: with hosts that never resolve, the DNS lookups of abandoned attempts
 * must not keep the process alive after the summary. The CLI runs as its own process, since only a process
 * can show it exits; sim/nxdomain-resolver.ts, preloaded into that process, answers every lookup NXDOMAIN the
 * way a slow resolver would, so no query reaches the machine's resolver.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { observeText, secret } from '../support/secret-guard.js';
import { ROOT, scratchDir, TSX, WORK_DIR } from './cli-harness.js';

const KEY = secret('sk_test_CliPushExitIntegrationKey00000000000000001');
const MASTER = secret('template-master-key-cli-push-exit-2c7d');

let scratch: Awaited<ReturnType<typeof scratchDir>>;

beforeAll(async () => {
  scratch = await scratchDir();
});

afterAll(async () => {
  await scratch.remove();
});

describe('push with unresolvable hosts', () => {
  it('exits within 2 s of printing its summary', { timeout: 90_000 }, async ({ expect }) => {
    // .invalid never resolves (RFC 6761).
    const sites = Array.from({ length: 12 }, (_, i) => `https://site-${i}.unresolvable.invalid`);
    const sitesFile = await scratch.write('unresolvable.txt', `${sites.join('\n')}\n`);
    const child = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        '--import',
        pathToFileURL(join(ROOT, 'sim/nxdomain-resolver.ts')).href,
        join(ROOT, 'cli/main.ts'),
        'push',
        '--sites-file',
        sitesFile,
        '--force',
        '--canary',
        '0',
        '--concurrency',
        '12',
        '--timeout',
        '1s',
      ],
      {
        cwd: WORK_DIR,
        env: {
          PATH: process.env.PATH ?? '',
          STRIPE_SECRET_KEY: KEY,
          TEMPLATE_MASTER_API_KEY: MASTER,
          // Slower than a local cache, so lookups queue behind the stand-in's four threads.
          SIM_RESOLVER_ANSWER_MS: '250',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let summaryAt = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (summaryAt === 0 && stdout.includes('not attempted.')) summaryAt = performance.now();
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    clearTimeout(killer);
    const exitedAt = performance.now();
    observeText(stdout);
    observeText(stderr);

    expect(code, stdout).toBe(1);
    expect(summaryAt).toBeGreaterThan(0);
    expect(stdout).toContain('0 confirmed, 12 failed, 0 not attempted.');
    expect(exitedAt - summaryAt).toBeLessThan(2_000);
    // Every attempt asked the stand-in, none the machine's resolver.
    const answered = Number(/sim resolver: lookups answered ENOTFOUND: (\d+)/.exec(stderr)?.[1] ?? 0);
    expect(answered, stderr.slice(-500)).toBeGreaterThanOrEqual(12);
  });
});
