/**
 * `push` interrupted as an operator does it (Ctrl-C = SIGINT, or SIGTERM from a supervisor), driven as a
 * child process against a slow HTTPS fleet: the partial result must name exactly the sites that hold the key.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { createTestCa, type TestCertificateAuthority } from '../../sim/tls.js';
import { observeText, secret } from '../support/secret-guard.js';
import { ROOT, runCli, scratchDir, TSX, WORK_DIR } from './cli-harness.js';

const KEY = secret('sk_test_CliInterruptIntegrationKey000000000000000001');
const MASTER = secret('template-master-key-cli-interrupt-5e8a1f');

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

interface Interrupted {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** From the signal to the exit. */
  readonly exitMs: number;
}

/** Starts `push --json --force`; sends each step's signal once its `ready(stderr)` holds; waits for the exit. */
function pushThenSignal(
  sitesFile: string,
  steps: readonly { readonly signal: NodeJS.Signals; readonly ready: (stderr: string) => boolean }[],
): Promise<Interrupted> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      TSX,
      join(ROOT, 'cli/main.ts'),
      'push',
      '--sites-file',
      sitesFile,
      '--json',
      '--force',
      '--canary',
      '0',
      '--concurrency',
      '4',
    ],
    {
      cwd: WORK_DIR,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_EXTRA_CA_CERTS: caFile,
        STRIPE_SECRET_KEY: KEY,
        TEMPLATE_MASTER_API_KEY: MASTER,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  let signalledAt = 0;
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  let step = 0;
  const check = (): void => {
    const next = steps[step];
    if (next === undefined || !next.ready(stderr)) return;
    step += 1;
    if (signalledAt === 0) signalledAt = performance.now();
    child.kill(next.signal);
  };
  const poll = setInterval(check, 50);
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    check();
  });
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(killer);
      clearInterval(poll);
      observeText(`${stdout}\n${stderr}`);
      resolve({ code, stdout, stderr, exitMs: performance.now() - signalledAt });
    });
  });
}

/** Sites confirmed so far, from the plain progress lines on stderr. */
const confirmations = (stderr: string): number => (stderr.match(/ confirmed /g) ?? []).length;

async function slowFleet(size: number, latencyMs: number, name: string) {
  const fleet = await startTemplateFleet({ size, masterApiKey: MASTER, ca, latencyMs });
  fleets.push(fleet);
  const sitesFile = await scratch.write(`${name}.txt`, `${fleet.urls.join('\n')}\n`);
  return { fleet, sitesFile };
}

interface PushJson {
  readonly interrupted: string | null;
  readonly summary: { readonly sites: number; readonly confirmed: number; readonly unknown: number };
  readonly results: readonly { readonly site: string; readonly outcome: string }[];
}

describe.concurrent('push, interrupted', { timeout: 60_000 }, () => {
  it('on SIGINT stops launching, waits for requests in flight, and reports exactly the sites that hold the key (exit 130)', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await slowFleet(24, 400, 'sigint');

    const run = await pushThenSignal(sitesFile, [
      { signal: 'SIGINT', ready: (stderr) => confirmations(stderr) >= 4 },
    ]);

    expect(run.code, run.stderr).toBe(130);
    const result = JSON.parse(run.stdout) as PushJson;
    const confirmed = result.results.filter((r) => r.outcome === 'confirmed').map((r) => r.site);
    const holding = fleet.sites.filter((site) => site.storedKey === KEY).map((site) => site.url);
    expect(result.interrupted).toBe('SIGINT');
    expect(confirmed.sort()).toEqual(holding.sort());
    expect(confirmed.length).toBeGreaterThanOrEqual(4);
    expect(confirmed.length).toBeLessThan(24);
    expect(result.summary).toMatchObject({
      sites: 24,
      confirmed: confirmed.length,
      unknown: 0,
      notAttempted: 24 - confirmed.length,
    });
    expect(result.results).toHaveLength(24);
    // Nothing was sent after the signal beyond what was in flight: untouched sites were never contacted.
    expect(fleet.sites.filter((site) => site.requestCount > 0)).toHaveLength(confirmed.length);

    // The retry pushes to the others only, and its result covers the whole list.
    const resultFile = await scratch.write('sigint-result.json', run.stdout);
    const retry = await runCli(
      ['push', '--sites-file', sitesFile, '--retry-from', resultFile, '--force', '--json'],
      {
        env: { NODE_EXTRA_CA_CERTS: caFile, STRIPE_SECRET_KEY: KEY, TEMPLATE_MASTER_API_KEY: MASTER },
        timeoutMs: 30_000,
      },
    );
    expect(retry.code, retry.stderr).toBe(0);
    expect((JSON.parse(retry.stdout) as PushJson).summary).toMatchObject({ sites: 24, confirmed: 24 });
    expect(fleet.sites.every((site) => site.storedKey === KEY && site.requestCount === 1)).toBe(true);
  });

  it('on SIGTERM reports the partial table and summary in text and exits 143', async ({ expect }) => {
    const { fleet, sitesFile } = await slowFleet(16, 400, 'sigterm');
    const child = await pushThenSignalText(sitesFile, 'SIGTERM');

    expect(child.code, child.stderr).toBe(143);
    const holding = fleet.sites.filter((site) => site.storedKey === KEY).length;
    expect(child.stdout).toContain(`${holding} confirmed, 0 failed, ${16 - holding} not attempted.`);
    expect(child.stdout).toContain('Interrupted (SIGTERM)');
    expect(child.stderr).toContain('SIGTERM: no new site will be contacted');
  });

  it('exits at once on a second signal, without waiting for hanging requests', async ({ expect }) => {
    const { fleet, sitesFile } = await slowFleet(8, 20_000, 'twice');

    const run = await pushThenSignal(sitesFile, [
      { signal: 'SIGINT', ready: () => fleet.requestCount > 0 },
      { signal: 'SIGINT', ready: (stderr) => stderr.includes('SIGINT: no new site will be contacted') },
    ]);

    expect(run.code).toBe(130);
    expect(run.exitMs).toBeLessThan(3_000);
    expect(run.stderr).toContain('SIGINT again: exiting now');
  });
});

/** The text-mode variant: progress on stderr, the table and summary on stdout. */
async function pushThenSignalText(sitesFile: string, signal: NodeJS.Signals): Promise<Interrupted> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      TSX,
      join(ROOT, 'cli/main.ts'),
      'push',
      '--sites-file',
      sitesFile,
      '--force',
      '--canary',
      '0',
      '--concurrency',
      '2',
    ],
    {
      cwd: WORK_DIR,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_EXTRA_CA_CERTS: caFile,
        STRIPE_SECRET_KEY: KEY,
        TEMPLATE_MASTER_API_KEY: MASTER,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (!sent && confirmations(stderr) >= 2) {
      sent = true;
      child.kill(signal);
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(killer);
      observeText(`${stdout}\n${stderr}`);
      resolve({ code, stdout, stderr, exitMs: 0 });
    });
  });
}
