/**
 * `stripe-key-rotator push` run as a child process against real HTTPS template sites on loopback; the child
 * trusts the sites' throwaway CA through NODE_EXTRA_CA_CERTS. Each test starts its own small fleet, so the
 * tests run concurrently.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { PUSH_STOP_EXPLANATIONS } from '../../core/ports.js';
import { type StripeStub, startStripeStub } from '../../sim/stripe-stub.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { createTestCa, type TestCertificateAuthority } from '../../sim/tls.js';
import { secret } from '../support/secret-guard.js';
import { type CliOptions, type CliRun, runCli, scratchDir } from './cli-harness.js';

const TEST_KEY = secret('sk_test_CliPushIntegrationKey00000000000000000001');
const LIVE_KEY = secret('sk_live_CliPushIntegrationKey00000000000000000002');
const MASTER_API_KEY = secret('template-master-key-cli-push-3b9a7c1e');
const OTHER_MASTER_API_KEY = secret('template-master-key-of-another-fleet-77d1');

let ca: TestCertificateAuthority;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let caFile: string;
let stripe: StripeStub;
const fleets: TemplateFleet[] = [];

beforeAll(async () => {
  ca = await createTestCa();
  scratch = await scratchDir();
  caFile = await scratch.write('ca.pem', ca.certPem);
  stripe = await startStripeStub(await ca.issue({ ips: ['127.0.0.1'] }));
  stripe.keys.set(TEST_KEY, { account: 'acct_1CliPush', livemode: false });
});

afterAll(async () => {
  await stripe.close();
  await Promise.all(fleets.map((fleet) => fleet.close()));
  await scratch.remove();
});

let files = 0;

/** A fleet of `size` sites and a sites file listing them (with a comment and a blank line, as sites.txt allows). */
async function fleetWithSitesFile(size: number): Promise<{ fleet: TemplateFleet; sitesFile: string }> {
  const fleet = await startTemplateFleet({ size, masterApiKey: MASTER_API_KEY, ca });
  fleets.push(fleet);
  files += 1;
  const sitesFile = await scratch.write(
    `sites-${files}.txt`,
    `# Template sites (one URL per line)\n\n${fleet.urls.join('\n')}\n`,
  );
  return { fleet, sitesFile };
}

function push(args: readonly string[], env: Record<string, string> = {}, options: CliOptions = {}) {
  return runCli(['push', ...args], {
    ...options,
    env: {
      NODE_EXTRA_CA_CERTS: caFile,
      STRIPE_SECRET_KEY: TEST_KEY,
      TEMPLATE_MASTER_API_KEY: MASTER_API_KEY,
      ...env,
    },
  });
}

const output = (run: CliRun): string => `${run.stdout}\n${run.stderr}`;

describe.concurrent('stripe-key-rotator push, against real HTTPS template sites', () => {
  it('pushes the key from the environment to every site and exits 0 with a per-site table', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(6);

    const run = await push(['--sites-file', sitesFile, '--force', '--concurrency', '3']);

    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toMatch(/SITE\s+RESULT\s+HTTP\s+ATTEMPTS\s+LATENCY/);
    for (const url of fleet.urls) expect(run.stdout).toMatch(new RegExp(`${url}\\s+confirmed\\s+200\\s+1`));
    expect(run.stdout).toContain('6 confirmed, 0 failed, 0 not attempted');
    expect(run.stdout).toContain('sk_test_…0001');
    for (const site of fleet.sites) {
      expect(site.requestCount).toBe(1);
      expect(site.storedKey).toBe(TEST_KEY);
    }
  });

  it("contacts the sites through the rotation's fleet connector: every request asks for connection: close", async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(4);

    const run = await push(['--sites-file', sitesFile, '--force', '--concurrency', '2']);

    expect(run.code, output(run)).toBe(0);
    // The fleet connector asks for `connection: close`; a keep-alive Agent would leave idle sockets open.
    expect(fleet.sites.map((site) => site.requests.map((request) => request.headers.connection))).toEqual(
      fleet.sites.map(() => ['close']),
    );
  });

  it('exits 1 and names the site whose master key differs, after pushing to every other site', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(5);
    const wrong = fleet.site(3);
    wrong.masterApiKey = OTHER_MASTER_API_KEY;

    const run = await push(['--sites-file', sitesFile, '--force']);

    expect(run.code, output(run)).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(`${wrong.url}\\s+invalid_api_key\\s+401\\s+1 .*answered 401 invalid_api_key`),
    );
    expect(run.stdout).toContain('4 confirmed, 1 failed, 0 not attempted');
    expect(run.stdout).toContain('Not every site confirmed');
    // Non-TTY progress: one plain line per site as it finishes.
    expect(run.stderr).toContain(`NOT CONFIRMED    ${wrong.url}: invalid_api_key`);
    expect(wrong.storedKey).toBeUndefined();
    expect(fleet.sites.filter((site) => site.storedKey === TEST_KEY)).toHaveLength(4);
  });

  it('with --dry-run validates everything, shows the plan and sends nothing to any site', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(3);

    const run = await push(['--sites-file', sitesFile, '--dry-run']);

    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toContain('Dry run: nothing was sent to any site.');
    expect(run.stdout).toMatch(/Key: +sk_test_…0001 \(fp [0-9a-f]{12}\), test mode, from STRIPE_SECRET_KEY/);
    for (const url of fleet.urls)
      expect(run.stdout).toContain(`${url}/api/export/settings/stripe_secret_key`);
    expect(fleet.requestCount).toBe(0);
  });

  it('refuses a sites file with a non-https or malformed line, naming the file and line numbers (exit 2)', async ({
    expect,
  }) => {
    const { fleet } = await fleetWithSitesFile(2);
    const sitesFile = await scratch.write(
      'bad-sites.txt',
      `# fleet\n${fleet.urls[0]}\nhttp://plain.example.com\n\nnot a url at all\n${fleet.urls[1]}\n`,
    );

    const run = await push(['--sites-file', sitesFile, '--force']);

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain(`${sitesFile} has 2 invalid entries`);
    expect(run.stderr).toContain(`${sitesFile} line 3: http URL refused, https required`);
    expect(run.stderr).toContain(`${sitesFile} line 5: contains whitespace`);
    expect(fleet.requestCount).toBe(0);
  });

  it('exits 2 naming the missing file', async ({ expect }) => {
    const run = await push(['--sites-file', scratch.path('no-such-sites.txt'), '--force']);

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain(
      `Cannot read the sites file ${scratch.path('no-such-sites.txt')}: no such file`,
    );
  });

  it('exits 2 when STRIPE_SECRET_KEY is not set, contacting nothing', async ({ expect }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(2);

    const run = await runCli(['push', '--sites-file', sitesFile, '--force'], {
      env: { NODE_EXTRA_CA_CERTS: caFile, TEMPLATE_MASTER_API_KEY: MASTER_API_KEY },
    });

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('STRIPE_SECRET_KEY is not set');
    expect(fleet.requestCount).toBe(0);
  });

  it('exits 2 for a key the sites would refuse, shown masked', async ({ expect }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(2);
    const restricted = secret('rk_live_CliPushRestrictedKey000000000000000003');

    const run = await push(['--sites-file', sitesFile, '--force'], { STRIPE_SECRET_KEY: restricted });

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('the key in STRIPE_SECRET_KEY is a restricted or publishable key');
    expect(fleet.requestCount).toBe(0);
  });

  it('accepts --secret-key and --master-key as one-off push scripts do, warning that argv is visible to other users', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(2);

    const run = await runCli(
      [
        'push',
        '--sites-file',
        sitesFile,
        '--secret-key',
        TEST_KEY,
        '--master-key',
        MASTER_API_KEY,
        '--force',
      ],
      { env: { NODE_EXTRA_CA_CERTS: caFile } },
    );

    expect(run.code, output(run)).toBe(0);
    expect(run.stderr).toMatch(
      /warning: --secret-key puts a secret on the command line.*other users of this machine/,
    );
    expect(run.stderr).toContain('prefer the STRIPE_SECRET_KEY environment variable');
    expect(run.stderr).toContain('warning: --master-key puts a secret on the command line');
    expect(fleet.sites.every((site) => site.storedKey === TEST_KEY)).toBe(true);
  });

  it('refuses a live key without --force when stdin is not a terminal (exit 2), contacting nothing', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(2);

    const run = await push(['--sites-file', sitesFile, '--live'], { STRIPE_SECRET_KEY: LIVE_KEY });

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('refusing to push without confirmation: stdin is not a terminal');
    expect(run.stderr).toContain('--force');
    expect(fleet.requestCount).toBe(0);
  });

  it('refuses a live key without --live, even with --yes, contacting nothing (exit 2)', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(2);

    const run = await push(['--sites-file', sitesFile, '--yes'], { STRIPE_SECRET_KEY: LIVE_KEY });

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('the key in STRIPE_SECRET_KEY is a LIVE key: add --live to push it');
    expect(fleet.requestCount).toBe(0);
  });

  it('refuses a truncated key such as sk_live_51Ab, which every site would store, contacting nothing (exit 2)', async ({
    expect,
  }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(2);

    const run = await push(['--sites-file', sitesFile, '--force', '--live'], {
      STRIPE_SECRET_KEY: 'sk_live_51Ab',
    });

    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain(
      'the key in STRIPE_SECRET_KEY looks truncated: 4 characters after the prefix',
    );
    expect(fleet.requestCount).toBe(0);
  });

  it('with --json prints one JSON document on stdout that a script can consume', async ({ expect }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(3);
    fleet.site(2).masterApiKey = OTHER_MASTER_API_KEY;

    const run = await push(['--sites-file', sitesFile, '--force', '--json', '--concurrency', '1']);

    expect(run.code, output(run)).toBe(1);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      ok: false,
      key: { masked: 'sk_test_…0001', mode: 'test' },
      summary: { sites: 3, confirmed: 2, failed: 1, notAttempted: 0 },
    });
    expect(result.results).toEqual([
      expect.objectContaining({ site: fleet.urls[0], outcome: 'confirmed', httpStatus: 200, attempts: 1 }),
      expect.objectContaining({ site: fleet.urls[1], outcome: 'confirmed', httpStatus: 200, attempts: 1 }),
      expect.objectContaining({ site: fleet.urls[2], outcome: 'invalid_api_key', httpStatus: 401 }),
    ]);
  });

  it('stops after a failing canary, leaving the other sites untouched', async ({ expect }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(3);
    fleet.site(0).masterApiKey = OTHER_MASTER_API_KEY;

    const run = await push(['--sites-file', sitesFile, '--force']);

    expect(run.code, output(run)).toBe(1);
    expect(run.stdout).toContain('0 confirmed, 1 failed, 2 not attempted');
    expect(run.stdout).toContain(
      `${PUSH_STOP_EXPLANATIONS.canary_failed} (--canary 0 contacts every site regardless.)`,
    );
    expect(fleet.site(1).requestCount + fleet.site(2).requestCount).toBe(0);
  });

  it('rejects unknown options and stray arguments without echoing them (exit 2)', async ({ expect }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(1);

    const stray = await push(['--sites-file', sitesFile, TEST_KEY, '--force']);
    const unknown = await push(['--sites-file', sitesFile, '--concurency', '3']);

    expect(stray.code, output(stray)).toBe(2);
    expect(stray.stderr).toContain('unexpected argument (1, not shown: it may be a secret)');
    expect(unknown.code, output(unknown)).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--concurency'");
    expect(unknown.stderr).toContain("Run 'stripe-key-rotator push --help' for usage.");
    expect(fleet.requestCount).toBe(0);
  });

  it('with -q prints the result and warnings only: no progress line, no notice', async ({ expect }) => {
    const { fleet, sitesFile } = await fleetWithSitesFile(3);
    const withDuplicate = await scratch.write(
      `sites-${++files}.txt`,
      `${fleet.urls.join('\n')}\n${fleet.urls[0]}\n`,
    );

    const quiet = await push(['--sites-file', withDuplicate, '--force', '-q']);
    const long = await push(['--sites-file', sitesFile, '--quiet', '--force']);

    expect(quiet.code, output(quiet)).toBe(0);
    expect(quiet.stdout).toContain('3 confirmed, 0 failed, 0 not attempted');
    expect(quiet.stderr).toMatch(
      /^warning: ignored duplicate: [^\n]+ line 4 repeats [^\n]+ line 1 [^\n]+\n$/,
    );
    expect(long.code, output(long)).toBe(0);
    expect(long.stderr).toBe('');
    expect(long.stdout).toContain('3 confirmed, 0 failed, 0 not attempted');
  });

  describe('--stripe-check', () => {
    it('checks the key with Stripe, read-only, before any site, then pushes it', async ({ expect }) => {
      const { fleet, sitesFile } = await fleetWithSitesFile(3);

      const run = await push(['--sites-file', sitesFile, '--force', '--stripe-check', '--json'], {
        STRIPE_API_BASE: stripe.url,
        STRIPE_ACCOUNT: 'acct_1CliPush',
      });

      expect(run.code, output(run)).toBe(0);
      expect(run.stderr).toContain(`Stripe accepted sk_test_…0001`);
      expect(run.stderr).toContain('account acct_1CliPush');
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, stripeCheck: 'passed' });
      for (const site of fleet.sites) expect(site.storedKey).toBe(TEST_KEY);
    });

    it('refuses a key Stripe does not know with exit 2, contacting no site', async ({ expect }) => {
      const { fleet, sitesFile } = await fleetWithSitesFile(2);
      const unknown = secret('sk_test_CliPushUnknownToStripe0000000000000000009');

      const run = await push(['--sites-file', sitesFile, '--force', '--stripe-check'], {
        STRIPE_API_BASE: stripe.url,
        STRIPE_SECRET_KEY: unknown,
      });

      expect(run.code, output(run)).toBe(2);
      expect(run.stderr).toContain('Stripe refused the new key sk_test_…0009');
      expect(fleet.requestCount).toBe(0);
    });

    it('refuses a key of another account than STRIPE_ACCOUNT with exit 2, contacting no site', async ({
      expect,
    }) => {
      const { fleet, sitesFile } = await fleetWithSitesFile(2);

      const run = await push(['--sites-file', sitesFile, '--force', '--stripe-check', '--dry-run'], {
        STRIPE_API_BASE: stripe.url,
        STRIPE_ACCOUNT: 'acct_1SomeoneElse',
      });

      expect(run.code, output(run)).toBe(2);
      expect(run.stderr).toContain('belongs to Stripe account acct_1CliPush, not to acct_1SomeoneElse');
      expect(fleet.requestCount).toBe(0);
    });

    it('names the variable of a malformed STRIPE_ACCOUNT or STRIPE_API_BASE (exit 2) without calling Stripe', async ({
      expect,
    }) => {
      const { fleet, sitesFile } = await fleetWithSitesFile(1);

      const run = await push(['--sites-file', sitesFile, '--force', '--stripe-check'], {
        STRIPE_API_BASE: 'http://127.0.0.1:1',
        STRIPE_ACCOUNT: 'not-an-account',
      });

      expect(run.code, output(run)).toBe(2);
      expect(run.stderr).toContain('STRIPE_API_BASE="http://127.0.0.1:1" must use https');
      expect(run.stderr).toContain('STRIPE_ACCOUNT is not a Stripe account id');
      expect(fleet.requestCount).toBe(0);
    });
  });
});
