/**
 * Shared fixtures for rotation tests: realistic-looking (but fake) keys registered with the leak guard,
 * recording fakes for the Stripe checker and the pusher, and an in-memory site list.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerStore } from '../../adapters/aws/secrets-manager.js';
import { loadConfig, type RotatorConfig } from '../../core/config.js';
import { KeyRejectedError } from '../../core/errors.js';
import type {
  KeyChecker,
  Notifier,
  PushReport,
  PushRequest,
  SiteList,
  SiteListSource,
  SitePusher,
  SiteResult,
} from '../../core/ports.js';
import type { RotationDeps, RotationMetricName } from '../../core/rotation/deps.js';
import type { KeyMode } from '../../core/rules/keys.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { FakeSecretsManager } from './fake-secrets-manager.js';
import { secret } from './secret-guard.js';

/** A fake key of realistic length (Stripe keys are ~100 characters). */
export function fakeKey(mode: KeyMode, tag: string): string {
  return secret(`sk_${mode}_51${tag}${'x9K'.repeat(30)}${tag}`);
}

export const MASTER_API_KEY = secret('template-master-key-2025-Fake-9f8e7d6c');

export class RecordingKeyChecker implements KeyChecker {
  readonly calls: { key: string; mode: KeyMode; referenceKey: string | undefined; knownAccount?: string }[] =
    [];
  refuse: string | undefined;
  /** The account id the check reports. */
  account: string | undefined;

  async check(
    key: string,
    mode: KeyMode,
    referenceKey?: string,
    knownAccount?: string,
  ): Promise<string | undefined> {
    this.calls.push({ key, mode, referenceKey, ...(knownAccount === undefined ? {} : { knownAccount }) });
    if (this.refuse) throw new KeyRejectedError(this.refuse);
    return this.account;
  }
}

/** Confirms every site unless an outcome is scripted for it. */
export class ScriptedPusher implements SitePusher {
  readonly requests: PushRequest[] = [];
  outcomes = new Map<string, Omit<SiteResult, 'site'>>();
  stoppedBecause: PushReport['stoppedBecause'];

  async push(request: PushRequest): Promise<PushReport> {
    this.requests.push(request);
    const results: SiteResult[] = request.sites.map((site) => ({
      site,
      ...(this.outcomes.get(site) ?? {
        outcome: 'confirmed' as const,
        httpStatus: 200,
        attempts: 1,
        durationMs: 3,
      }),
    }));
    // Like the real pusher: every final result goes to onResult (the ledger) before push returns.
    for (const result of results) await request.onResult?.(result);
    return { results, ...(this.stoppedBecause ? { stoppedBecause: this.stoppedBecause } : {}) };
  }
}

export class StaticSiteList implements SiteListSource {
  loads = 0;
  constructor(public sites: string[]) {}
  async load(): Promise<SiteList> {
    this.loads += 1;
    return { sites: this.sites, sources: ['/test/sites'], duplicates: [] };
  }
}

export interface RotationWorld {
  readonly sm: FakeSecretsManager;
  readonly rotatedArn: string;
  readonly stagedArn: string;
  readonly masterArn: string;
  readonly checker: RecordingKeyChecker;
  readonly pusher: ScriptedPusher;
  readonly siteList: StaticSiteList;
  readonly ledger: InMemoryLedger;
  readonly metrics: Map<RotationMetricName, number>;
  readonly deps: RotationDeps;
}

export function rotationWorld(options: {
  current: string;
  staged?: string;
  env?: Record<string, string>;
  sites?: string[];
  notifier?: Notifier;
}): RotationWorld {
  const sm = new FakeSecretsManager();
  const rotatedArn = sm.createSecret('stripe/secret-key', options.current);
  const stagedArn = sm.createSecret('stripe/staged-key', options.staged ?? 'none');
  const masterArn = sm.createSecret('stripe/master-api-key', MASTER_API_KEY);
  const config: RotatorConfig = loadConfig({
    STAGED_SECRET_ARN: stagedArn,
    MASTER_API_KEY_SECRET_ARN: masterArn,
    SITES_PARAMETER: '/test/sites',
    LEDGER_TABLE: 'test-ledger',
    KEY_MODE: 'test',
    ...options.env,
  });
  const store = new SecretsManagerStore(sm.client);
  const checker = new RecordingKeyChecker();
  const pusher = new ScriptedPusher();
  const siteList = new StaticSiteList(
    options.sites ?? ['https://a.example', 'https://b.example', 'https://c.example'],
  );
  const metrics = new Map<RotationMetricName, number>();
  const ledger = new InMemoryLedger();
  const deps: RotationDeps = {
    config,
    secrets: store,
    siteList,
    keyChecker: checker,
    pusher,
    ledger,
    logger: new Logger({ serviceName: 'rotation-test', logLevel: 'DEBUG' }),
    metrics: { record: (name, value) => metrics.set(name, (metrics.get(name) ?? 0) + value) },
    ...(options.notifier === undefined ? {} : { notifier: options.notifier }),
  };
  return { sm, rotatedArn, stagedArn, masterArn, checker, pusher, siteList, ledger, metrics, deps };
}

export const clock = (remainingMs = 600_000) => ({ getRemainingTimeInMillis: () => remainingMs });
