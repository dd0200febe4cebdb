/**
 * The demo's world: a local HTTPS fleet (one site misconfigured), a Stripe stand-in, Secrets Manager and the
 * ledger in memory, wired to the real rotation core. `demo.ts` tells the story against it.
 */
import { randomBytes } from 'node:crypto';
import { siteListFromText } from '../../adapters/local/static-site-list.js';
import type { RotationDeps, RotationMetricName, SitePusher } from '../../core/index.js';
import {
  CONFIG_DEFAULTS,
  ConfigurationError,
  createSiteServices,
  type RotatorConfig,
} from '../../core/index.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { InMemorySecrets } from '../../sim/memory-secrets.js';
import { type StripeStub, startStripeStub } from '../../sim/stripe-stub.js';
import { startTemplateFleet, type TemplateFleet, type TemplateSite } from '../../sim/template-fleet.js';
import { createTestCa } from '../../sim/tls.js';
import { cliLogger } from './format.js';
import type { CliContext } from './frame.js';
import { pushProgress } from './progress.js';

const LOCAL = 'in memory';
/** Loopback sites answer in milliseconds; a short bound keeps a stuck demo short. */
const DEMO_SITE_TIMEOUT_MS = 3_000;

/** Obviously not a real key: a marker, then random characters, fresh on every run. */
export function demoKey(): string {
  return `sk_test_DEMOnotARealKey${randomBytes(20).toString('hex')}`;
}

export interface World {
  readonly fleet: TemplateFleet;
  readonly stripe: StripeStub;
  readonly broken: TemplateSite;
  readonly secrets: InMemorySecrets;
  readonly rotatedArn: string;
  readonly ledger: InMemoryLedger;
  readonly deps: RotationDeps;
  readonly metrics: Map<RotationMetricName, number>;
  readonly keys: { readonly current: string; readonly next: string; readonly master: string };
  /** Sites each push was asked to contact, in order. */
  readonly pushes: (readonly string[])[];
  readonly account: string;
  close(): Promise<void>;
}

export async function setUp(size: number, verbose: boolean, cli: CliContext): Promise<World> {
  const keys = {
    current: demoKey(),
    next: demoKey(),
    master: `demo-master-api-key-${randomBytes(16).toString('hex')}`,
  };
  const staleMaster = `demo-stale-master-api-key-${randomBytes(16).toString('hex')}`;
  cli.hide(keys.current, keys.next, keys.master, staleMaster);

  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    const ca = await createTestCa('stripe-key-rotator demo CA (throwaway)');
    const fleet = await startFleet(size, keys.master, ca);
    closers.push(() => fleet.close());
    const stripe = await startStripeStub(await ca.issue({ ips: ['127.0.0.1'] }));
    closers.push(() => stripe.close());
    const account = `acct_DEMO${randomBytes(6).toString('hex')}`;
    stripe.keys.set(keys.current, { account, livemode: false });
    stripe.keys.set(keys.next, { account, livemode: false });
    for (const site of fleet.sites) {
      site.storedKey = keys.current;
      site.latencyMs = 10 + Math.floor(Math.random() * 40);
    }
    // Not the canary (the first site): the push reaches every other site before the failure matters.
    const broken = fleet.site(Math.floor((size * 2) / 3));
    broken.masterApiKey = staleMaster;

    const secrets = new InMemorySecrets();
    const rotatedArn = secrets.createSecret('demo/stripe/secret-key', keys.current);
    const stagedArn = secrets.createSecret('demo/stripe/staged-key', keys.next);
    const masterArn = secrets.createSecret('demo/stripe/master-api-key', keys.master);
    const config: RotatorConfig = {
      ...CONFIG_DEFAULTS,
      stagedSecretId: stagedArn,
      masterApiKeySecretId: masterArn,
      sitesParameter: `demo sites.txt (${LOCAL})`,
      ledgerTable: `ledger (${LOCAL})`,
      keyMode: 'test',
      pushConcurrency: 4,
      siteTimeoutMs: DEMO_SITE_TIMEOUT_MS,
      siteAttempts: 2,
      canarySites: 1,
      stripeApiBase: stripe.url,
    };
    const logger = cliLogger(cli.stderr, verbose);
    // The Lambda's own services, trusting the demo's CA: the fleet's connections and Stripe's.
    const services = createSiteServices({ config, logger, ca: ca.certPem });
    closers.push(async () => services.close());
    const engine = services.pusher;
    const pushes: (readonly string[])[] = [];
    // The real engine, observed: which sites each run contacts, and live progress on a terminal.
    const pusher: SitePusher = {
      async push(request) {
        pushes.push(request.sites);
        const progress = cli.progress.isTTY ? pushProgress(cli.progress, request.sites.length) : undefined;
        try {
          return await engine.push({
            ...request,
            onResult: async (result) => {
              progress?.report(result);
              await request.onResult?.(result);
            },
          });
        } finally {
          progress?.finish();
        }
      },
    };
    const ledger = new InMemoryLedger();
    const metrics = new Map<RotationMetricName, number>();
    const deps: RotationDeps = {
      config,
      secrets,
      siteList: siteListFromText(
        config.sitesParameter,
        `# The demo fleet, in the sites.txt format\n${fleet.urls.join('\n')}\n`,
      ),
      keyChecker: services.keyChecker,
      pusher,
      ledger,
      logger,
      metrics: { record: (name, value) => metrics.set(name, value) },
    };
    return {
      fleet,
      stripe,
      broken,
      secrets,
      rotatedArn,
      ledger,
      deps,
      metrics,
      keys,
      pushes,
      account,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function startFleet(size: number, masterApiKey: string, ca: Awaited<ReturnType<typeof createTestCa>>) {
  try {
    return await startTemplateFleet({ size, masterApiKey, ca });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EADDRNOTAVAIL') {
      throw new ConfigurationError(
        'This machine does not answer on loopback addresses beyond 127.0.0.1, and every demo site needs its ' +
          `own (127.0.0.2 to 127.0.0.${size + 1}). On macOS, add them first, e.g.: ` +
          `for i in $(seq 2 ${size + 1}); do sudo ifconfig lo0 alias 127.0.0.$i up; done`,
        { cause: error },
      );
    }
    throw error;
  }
}
