/**
 * What `push` says when it could not finish: every site counted once (sites = confirmed + failed +
 * notAttempted + unknown), a site whose request was in flight at the end `unknown`, a site never contacted
 * `not_attempted`; the advice to retry names a result file that exists; no heading without rows.
 */
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { createTestCa, type TestCertificateAuthority } from '../../sim/tls.js';
import { secret } from '../support/secret-guard.js';
import { runCli, scratchDir } from './cli-harness.js';

const KEY = secret('sk_test_CliPushAccountingKey0000000000000000000001');
const MASTER = secret('template-master-key-cli-accounting-7c2d');

let ca: TestCertificateAuthority;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let caFile: string;
const fleets: TemplateFleet[] = [];

beforeAll(async () => {
  ca = await createTestCa();
  scratch = await scratchDir();
  caFile = await scratch.write('ca.pem', ca.certPem);
});

afterAll(async () => {
  await Promise.all(fleets.map((fleet) => fleet.close()));
  await scratch.remove();
});

async function fleetFile(size: number, latencyMs: number, name: string) {
  const fleet = await startTemplateFleet({ size, masterApiKey: MASTER, ca, latencyMs });
  fleets.push(fleet);
  return { fleet, sitesFile: await scratch.write(`${name}.txt`, `${fleet.urls.join('\n')}\n`) };
}

const env = () => ({ NODE_EXTRA_CA_CERTS: caFile, STRIPE_SECRET_KEY: KEY, TEMPLATE_MASTER_API_KEY: MASTER });

interface PushDocument {
  readonly summary: Record<'sites' | 'confirmed' | 'failed' | 'notAttempted' | 'unknown', number>;
  readonly results: readonly { readonly site: string; readonly outcome: string; readonly detail: string }[];
}

/** Slower than the interrupt's grace period: requests in flight at the signal never answer in time. */
const NEVER_IN_TIME_MS = 9_000;

describe.concurrent('push, interrupted with requests in flight that never answer in time', {
  timeout: 60_000,
}, () => {
  it('counts the sites in flight as unknown and those never contacted as not attempted, adding up (exit 143)', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetFile(30, NEVER_IN_TIME_MS, 'in-flight');

    const run = await runCli(
      ['push', '--sites-file', sitesFile, '--concurrency', '5', '--canary', '0', '--json', '--force'],
      {
        env: env(),
        timeoutMs: 30_000,
        interrupt: { signal: 'SIGTERM', when: () => fleet.requestCount >= 5 },
      },
    );

    expect(run.code, run.stderr).toBe(143);
    const document = JSON.parse(run.stdout) as PushDocument;
    const { summary } = document;
    expect(summary).toEqual({ sites: 30, confirmed: 0, failed: 0, notAttempted: 25, unknown: 5 });
    expect(summary.confirmed + summary.failed + summary.notAttempted + summary.unknown).toBe(summary.sites);
    const contacted = fleet.sites.filter((site) => site.requestCount > 0).map((site) => site.url);
    const unknown = document.results.filter((r) => r.outcome === 'unknown').map((r) => r.site);
    expect(unknown.sort()).toEqual(contacted.sort());
    const notAttempted = document.results.filter((r) => r.outcome === 'not_attempted');
    expect(notAttempted).toHaveLength(25);
    for (const result of notAttempted) expect(result.detail).toBe('not attempted: interrupted by SIGTERM');
    expect(document.results).toHaveLength(30);
  });

  it('in text, writes the result file its advice names, and prints no heading without rows', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetFile(60, NEVER_IN_TIME_MS, 'text-interrupted');
    const cwd = scratch.path('');

    const run = await runCli(
      ['push', '--sites-file', sitesFile, '--concurrency', '5', '--canary', '0', '--force'],
      {
        env: env(),
        cwd,
        timeoutMs: 30_000,
        interrupt: { signal: 'SIGINT', when: () => fleet.requestCount >= 5 },
      },
    );

    expect(run.code, run.stderr).toBe(130);
    expect(run.stdout).not.toMatch(/did not confirm \(0 of/);
    const named = /--retry-from (\S+push-result-[\w-]+\.json)/.exec(run.stdout)?.[1];
    expect(named, run.stdout).toBeDefined();
    const saved = JSON.parse(await readFile(named ?? '', 'utf8')) as PushDocument & {
      key: { masked: string };
    };
    expect(saved.summary).toEqual({ sites: 60, confirmed: 0, failed: 0, notAttempted: 55, unknown: 5 });
    expect(JSON.stringify(saved)).not.toContain(KEY);
    expect(run.stdout).toContain(`Result saved to ${named}`);
  });
});

describe('push over more than 50 sites, every one confirming', () => {
  it('prints no empty heading and writes no result file', async ({ expect }) => {
    const { sitesFile } = await fleetFile(55, 0, 'all-confirm');
    const cwd = await scratchDir();

    try {
      const run = await runCli(['push', '--sites-file', sitesFile, '--concurrency', '20', '--force'], {
        env: env(),
        cwd: cwd.path(''),
      });

      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).not.toContain('Sites that did not confirm');
      expect(run.stdout).toContain('55 confirmed, 0 failed, 0 not attempted.');
      expect(await readdir(cwd.path(''))).toEqual([]);
    } finally {
      await cwd.remove();
    }
  });
});
