/**
 * The demo as a newcomer runs it (`npm run demo`, from source after `npm ci`) and as the package's bin runs
 * it (the CLI that `npm run build` builds, rebuilt from this tree by the integration suite's global setup).
 * The demo generates its own keys, so leaks are checked by shape: no unmasked key and no master key in any
 * output.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './cli-harness.js';

/** A Stripe key that is not masked (`sk_test_…abcd` has the ellipsis right after the prefix). */
const UNMASKED_KEY = /[sr]k_(?:test|live)_[A-Za-z0-9]{6,}/;
const DEMO_MASTER_KEY = /master-api-key-[0-9a-f]{8,}/;

describe('stripe-key-rotator demo', () => {
  it('plays a whole rotation: refusal, fix, resume, finish, then the per-site table and audit trail', async () => {
    const run = await runCli(['demo', '--verbose'], { entry: 'shim', timeoutMs: 60_000 });
    const all = `${run.stdout}\n${run.stderr}`;

    expect(run.code, all).toBe(0);
    expect(run.durationMs).toBeLessThan(60_000);
    const broken = /misconfigured +(https:\/\/127\.0\.0\.\d+:\d+) expects another master API key/.exec(
      run.stdout,
    )?.[1];
    expect(broken, run.stdout).toBeDefined();
    // The story, in order.
    const story = [
      'RotateSecret: version',
      'createSecret  picks the staged key',
      '✓ AWSPENDING holds sk_test_…',
      'setSecret     checks the key with Stripe',
      '✗ PropagationError:',
      `${broken}: invalid_api_key (answered 401 invalid_api_key)`,
      'AWSCURRENT is still sk_test_…',
      'finishSecret  invoked anyway',
      '✗ refused: Refusing to move AWSCURRENT: the ledger shows 11 of 12 sites confirmed',
      `The operator fixes ${broken}`,
      `✓ contacted only ${broken} (confirmed); the 11 sites confirmed earlier were not contacted again`,
      'testSecret    read-only checks',
      '✓ AWSCURRENT  → version',
      'Per-site results, from the ledger',
      'Audit trail',
      'Demo passed in',
      'Every local server is stopped.',
    ];
    let from = 0;
    for (const line of story) {
      const at = run.stdout.indexOf(line, from);
      expect(at, `"${line}" after position ${from}`).toBeGreaterThanOrEqual(from);
      from = at + line.length;
    }
    expect(run.stdout).toMatch(/SITE +STATUS +ATTEMPTS +LATENCY +KEY HELD \(LEDGER\)/);
    // After the finish the new version carries AWSCURRENT alone, as Secrets Manager shows it.
    expect(run.stdout).toMatch(/[0-9a-f-]{36} {2}AWSCURRENT {2,}sk_test_/);
    expect(run.stdout).not.toContain('AWSPENDING, AWSCURRENT');
    expect(
      run.stdout.match(
        /^https:\/\/127\.0\.0\.\d+:\d+ +confirmed +[12] +\d+ ms +sk_test_…[0-9a-f]{4} \(fp [0-9a-f]{12}\)/gm,
      ),
    ).toHaveLength(12);
    expect(run.stdout).toMatch(new RegExp(`${broken} +confirmed +2 .*misconfigured, fixed by the operator`));
    expect(run.stdout).toMatch(/trigger +staged/);
    expect(run.stdout).toMatch(/setSecret +completed/);
    expect(run.stdout).toMatch(/counts +12 confirmed, 0 failed, 0 pending/);
    expect(run.stdout).toMatch(/outcome +finished at \d{4}-/);
    // --verbose: the core's own log, which must be as clean as the rest.
    expect(run.stderr).toContain('"message":"Rotation finished: AWSCURRENT moved"');
    expect(all).not.toMatch(UNMASKED_KEY);
    expect(all).not.toMatch(DEMO_MASTER_KEY);
  }, 70_000);

  it('with --json prints one document on stdout (the story on stderr, nothing at all with -q)', async () => {
    const run = await runCli(['demo', '--json', '--sites', '4', '-q'], { entry: 'shim', timeoutMs: 60_000 });

    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stderr).toBe('');
    const document = JSON.parse(run.stdout) as { steps: { step: string; ok: boolean }[] };
    expect(document).toMatchObject({ passed: true, sites: 4, misconfiguredSite: expect.any(String) });
    expect(document.steps.map(({ step, ok }) => `${step}:${ok ? 'ok' : 'failed'}`)).toEqual([
      'createSecret:ok',
      'setSecret:failed',
      'finishSecret:failed',
      'createSecret:ok',
      'setSecret:ok',
      'testSecret:ok',
      'finishSecret:ok',
    ]);
    expect(run.stdout).not.toMatch(UNMASKED_KEY);
    expect(run.stdout).not.toMatch(DEMO_MASTER_KEY);
  });

  it('runs as `npm run demo` after `npm ci` alone: the script needs no build', () => {
    // --json for a checkable ending; the script is the one package.json gives a newcomer.
    const run = spawnSync('npm', ['run', '--silent', 'demo', '--', '--sites', '3', '--json', '-q'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      encoding: 'utf8',
      timeout: 60_000,
    });

    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ passed: true, sites: 3 });
    expect(`${run.stdout}${run.stderr}`).not.toMatch(UNMASKED_KEY);
  }, 70_000);

  it('refuses a fleet too small to tell the story (exit 2)', async () => {
    const run = await runCli(['demo', '--sites', '1']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--sites=1 is out of range (2–200)');
  });
});
