/**
 * Randomized fault campaigns: fast-check generates fleets of 5–200 simulated HTTPS sites, each with a fault
 * script (`faults.ts`), runs the real rotation steps (`rotate` with the real fleet pusher and connector, the
 * in-memory Secrets Manager and ledger of `sim/`) and checks the promise on the sites themselves:
 *
 * 1. AWSCURRENT moved ⇔ the rotation finished, and then every snapshot site stores the new key; a site the
 *    ledger shows confirmed stores it; every site stores the current or the new key, nothing else.
 * 2. Once the faults are lifted, Secrets Manager's retry (same token, the four steps again) converges:
 *    AWSCURRENT is the new key and every site stores it.
 * 3. No step runs past its invocation budget minus STEP_SLACK_MS (the pusher keeps SITE_TIMEOUT_MS + 2 s of
 *    margin; half of those 2 s are allowed to timers, ledger writes and reporting on a loaded machine).
 * 4. No secret (Stripe keys, master API key, RotationToken) in any log line, error or ledger item.
 * 5. After a failed step, Secrets Manager may call any step again with the same token: the driver skips
 *    ahead to finishSecret (invariant 1 must still hold), or the operator runs `abort` with the faults still
 *    on: once AWSPENDING is gone every site stores the current key again, and after the faults are lifted
 *    abort gets there (no site keeps the new key, AWSCURRENT never moved).
 *
 * A violated invariant throws; fast-check shrinks the case and prints a seed and path that replay it.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { loadConfig } from '../../core/config.js';
import type { RotationLogger } from '../../core/log.js';
import { abortRotation } from '../../core/operations/abort.js';
import type { SecretAdmin } from '../../core/operations/ports.js';
import { AWSCURRENT, AWSPENDING, type KeyChecker, type SitePusher } from '../../core/ports.js';
import { createFleetPusher } from '../../core/push/engine.js';
import { FleetConnector } from '../../core/push/fleet-http.js';
import type { RotationDeps } from '../../core/rotation/deps.js';
import { rotate } from '../../core/rotation/steps.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { InMemorySecrets } from '../../sim/memory-secrets.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { createTestCa, generateKeyPair } from '../../sim/tls.js';
import {
  applyScript,
  FAULT_KINDS,
  type FaultKind,
  liftFaults,
  type SiteKit,
  type SiteScript,
  siteScript,
} from './faults.js';

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
type Step = (typeof STEPS)[number];

export const MAX_SITES = 200;
/** Short per-attempt timeouts keep a case fast; the rules they exercise do not depend on the value. */
const SITE_TIMEOUT_MS = 250;
/**
 * Once the faults are lifted every site is healthy, but a loaded machine can still be slower than 250 ms per
 * TLS handshake: Secrets Manager's retries (it makes several) run with the default-like timeout below.
 */
const RETRY_SITE_TIMEOUT_MS = 2000;
const MAX_RETRIES = 3;
const SITE_ATTEMPTS = 2;
/** Of the pusher's 2 s deadline slack, what timers, ledger writes and reporting may use. */
export const STEP_SLACK_MS = 1000;
/** Budget of the retry after the faults are lifted: a whole fresh invocation. */
const RETRY_BUDGET_MS = 600_000;
const FIRST_ADDRESS = '127.6.0.1';

/** One generated case. */
export interface CampaignCase {
  readonly sites: readonly SiteScript[];
  /** Remaining invocation time each step of the first run starts with. */
  readonly budgetMs: number;
  readonly concurrency: number;
  readonly canaries: number;
  /** What comes after a failed first run: Secrets Manager's retry, finishSecret at once, or `abort`. */
  readonly afterFailure: AfterFailure;
}

const AFTER_FAILURE = ['retry', 'skip_to_finish', 'abort'] as const;
type AfterFailure = (typeof AFTER_FAILURE)[number];

const fleetOf = (min: number, max: number) => fc.array(siteScript, { minLength: min, maxLength: max });

/** Mostly small fleets (fast cases, many of them), sometimes up to 200 sites. */
export const campaignCase: fc.Arbitrary<CampaignCase> = fc.record({
  sites: fc.oneof({ weight: 3, arbitrary: fleetOf(5, 30) }, { weight: 1, arbitrary: fleetOf(31, MAX_SITES) }),
  budgetMs: fc.integer({ min: 2000, max: 12_000 }),
  concurrency: fc.integer({ min: 1, max: 20 }),
  canaries: fc.integer({ min: 0, max: 2 }),
  afterFailure: fc.constantFrom(...AFTER_FAILURE),
});

/** What the campaign saw, for its results file. */
export interface CampaignStats {
  cases: number;
  sites: number;
  faultsExercised: Record<FaultKind, number>;
  finishedFirstRun: number;
  stoppedFirstRun: Record<string, number>;
  convergedAfterLifting: number;
  /** First runs that failed and were followed by finishSecret at once, or by `abort`. */
  skippedToFinish: number;
  aborted: number;
  longestStepMs: number;
  /** Largest (step duration − budget) seen; must stay ≤ −STEP_SLACK_MS. */
  worstBudgetMarginMs: number;
}

export function emptyStats(): CampaignStats {
  return {
    cases: 0,
    sites: 0,
    faultsExercised: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
    finishedFirstRun: 0,
    stoppedFirstRun: {},
    convergedAfterLifting: 0,
    skippedToFinish: 0,
    aborted: 0,
    longestStepMs: 0,
    worstBudgetMarginMs: Number.NEGATIVE_INFINITY,
  };
}

/** A violated invariant: the message says which, and on what. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

/** Throws InvariantViolation with `message()` unless `condition` holds. */
export function check(condition: boolean, message: () => string): void {
  if (!condition) throw new InvariantViolation(message());
}

/** Keeps every log line as JSON text, errors with their message, stack and causes. */
class TextLogger implements RotationLogger {
  readonly lines: string[] = [];
  debug = (message: string, ...attributes: Record<string, unknown>[]) =>
    this.write('DEBUG', message, attributes);
  info = (message: string, ...attributes: Record<string, unknown>[]) =>
    this.write('INFO', message, attributes);
  warn = (message: string, ...attributes: Record<string, unknown>[]) =>
    this.write('WARN', message, attributes);
  error = (message: string, ...attributes: Record<string, unknown>[]) =>
    this.write('ERROR', message, attributes);

  private write(level: string, message: string, attributes: Record<string, unknown>[]): void {
    this.lines.push(JSON.stringify({ level, message, ...Object.assign({}, ...attributes) }, errorFields));
  }
}

function errorFields(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  return { ...value, name: value.name, message: value.message, stack: value.stack, cause: value.cause };
}

const accepting: KeyChecker = { check: async () => undefined };

/** The campaign's fleet: MAX_SITES sites started once, each with the credentials its faults need. */
export class CampaignFleet {
  private constructor(
    readonly fleet: TemplateFleet,
    readonly kits: readonly SiteKit[],
    readonly masterApiKey: string,
  ) {}

  static async start(): Promise<CampaignFleet> {
    const masterApiKey = `campaign-master-${randomBytes(12).toString('hex')}`;
    const otherMasterApiKey = `campaign-other-master-${randomBytes(12).toString('hex')}`;
    const fleet = await startTemplateFleet({
      size: MAX_SITES,
      masterApiKey,
      firstAddress: FIRST_ADDRESS,
      recordRequests: false,
    });
    const untrusted = await createTestCa();
    const keys = await generateKeyPair();
    const kits = await Promise.all(
      fleet.sites.map(async (site) => ({
        site,
        masterApiKey,
        otherMasterApiKey,
        credentials: await fleet.ca.issue({ ips: [site.host], keys }),
        wrongCredentials: await untrusted.issue({ ips: [site.host], keys }),
      })),
    );
    return new CampaignFleet(fleet, kits, masterApiKey);
  }

  close(): Promise<void> {
    return this.fleet.close();
  }
}

/** A fresh Stripe-looking key (never a real one). */
function newKey(): string {
  return `sk_test_51Campaign${randomBytes(24).toString('hex')}`;
}

/** Runs one case; throws InvariantViolation when the promise is broken. */
export async function runCase(pool: CampaignFleet, spec: CampaignCase, stats: CampaignStats): Promise<void> {
  const kits = pool.kits.slice(0, spec.sites.length);
  const scripts = spec.sites;
  const current = newKey();
  const next = newKey();
  const rotationToken = `rotation-token-${randomBytes(16).toString('hex')}`;
  const secretValues = [current, next, pool.masterApiKey, rotationToken];

  for (const [index, kit] of kits.entries()) {
    kit.site.storedKey = current;
    const script = scripts[index] ?? { kind: 'healthy' };
    await applyScript(kit, script);
    if (script.kind !== 'healthy') stats.faultsExercised[script.kind] += 1;
  }

  const secrets = new InMemorySecrets();
  const arn = secrets.createSecret('campaign/stripe-key', current);
  const config = loadConfig({
    STAGED_SECRET_ARN: secrets.createSecret('campaign/staged', next),
    MASTER_API_KEY_SECRET_ARN: secrets.createSecret('campaign/master', pool.masterApiKey),
    SITES_PARAMETER: '/campaign/sites',
    LEDGER_TABLE: 'campaign-ledger',
    KEY_MODE: 'test',
  });
  const logger = new TextLogger();
  const ledger = new InMemoryLedger();
  // One connector per invocation, as a fresh Lambda would have; each is destroyed once the case is over.
  const connectors: FleetConnector[] = [];
  const pusher = (siteTimeoutMs: number, canaryCount = spec.canaries) => {
    const connector = new FleetConnector({ ca: pool.fleet.caPem, connectTimeoutMs: siteTimeoutMs });
    connectors.push(connector);
    return createFleetPusher({
      connector,
      logger,
      concurrency: spec.concurrency,
      siteTimeoutMs,
      attempts: SITE_ATTEMPTS,
      canaryCount,
      backoff: { baseMs: 10, capMs: 50 },
      maxRetryAfterMs: 1000,
    });
  };
  const urls = kits.map((kit) => kit.site.url);
  const deps: RotationDeps = {
    config,
    secrets,
    siteList: { load: async () => ({ sites: urls, sources: ['/campaign/sites'], duplicates: [] }) },
    keyChecker: accepting,
    pusher: { push: () => Promise.reject(new Error('each run builds its own pusher')) },
    ledger,
    logger,
    metrics: { record: () => undefined },
  };
  const token = secrets.startRotation(arn);
  const errors: unknown[] = [];

  /** Secrets Manager's run: the steps in order, stopping at the first that throws. */
  const runSteps = async (
    budgetMs: number,
    siteTimeoutMs: number,
    steps: readonly Step[] = STEPS,
  ): Promise<Step | undefined> => {
    const invocation: RotationDeps = { ...deps, pusher: pusher(siteTimeoutMs) };
    for (const Step of steps) {
      const started = performance.now();
      const clock = { getRemainingTimeInMillis: () => budgetMs - (performance.now() - started) };
      try {
        await rotate(
          { Step, SecretId: arn, ClientRequestToken: token, RotationToken: rotationToken },
          invocation,
          clock,
        );
      } catch (error) {
        errors.push(error);
        return Step;
      } finally {
        const elapsed = performance.now() - started;
        stats.longestStepMs = Math.max(stats.longestStepMs, elapsed);
        stats.worstBudgetMarginMs = Math.max(stats.worstBudgetMarginMs, elapsed - budgetMs);
        check(
          elapsed <= budgetMs - STEP_SLACK_MS,
          () =>
            `${Step} took ${Math.round(elapsed)} ms of a ${budgetMs} ms budget (slack ${STEP_SLACK_MS} ms)`,
        );
      }
    }
    return undefined;
  };

  try {
    const failedAt = await runSteps(spec.budgetMs, SITE_TIMEOUT_MS);
    const skipping = failedAt !== undefined && spec.afterFailure === 'skip_to_finish';
    if (skipping) {
      await runSteps(spec.budgetMs, SITE_TIMEOUT_MS, ['finishSecret']);
      stats.skippedToFinish += 1;
    }
    const stored = () => kits.map((kit) => kit.site.storedKey);
    const moved = (await secrets.getValue(arn, { stage: AWSCURRENT })) === next;
    // Skipping ahead, finishSecret may rightly move AWSCURRENT after an earlier step failed: the sites say.
    check(
      skipping ? failedAt !== undefined : moved === (failedAt === undefined),
      () => `AWSCURRENT moved=${moved} but the run failed at ${failedAt}`,
    );
    if (moved) {
      const missing = urls.filter((_, index) => stored()[index] !== next);
      check(
        missing.length === 0,
        () =>
          `AWSCURRENT moved but ${missing.length} sites lack the new key: ${missing.slice(0, 5).join(', ')}`,
      );
      stats.finishedFirstRun += 1;
    } else {
      const stop = failedAt ?? 'none';
      stats.stoppedFirstRun[stop] = (stats.stoppedFirstRun[stop] ?? 0) + 1;
    }
    const strays = stored().filter((key) => key !== current && key !== next).length;
    check(strays === 0, () => `${strays} sites store neither the current nor the new key`);
    for (const record of await ledger.sites({ secretArn: arn, token })) {
      const index = urls.indexOf(record.site);
      check(
        record.status !== 'confirmed' || stored()[index] === next,
        () => `the ledger shows ${record.site} confirmed but it does not store the new key`,
      );
    }

    if (failedAt !== undefined && !moved && spec.afterFailure === 'abort') {
      await abortUntilDone(
        secrets,
        ledger,
        arn,
        config.masterApiKeySecretId,
        (lifted) => pusher(lifted ? RETRY_SITE_TIMEOUT_MS : SITE_TIMEOUT_MS, 0),
        {
          current,
          next,
          stored,
          lift: async () => {
            for (const [index, kit] of kits.entries())
              await liftFaults(kit, scripts[index] ?? { kind: 'healthy' });
          },
        },
      );
      stats.aborted += 1;
      checkNoLeak(logger, errors, ledger, secretValues);
      stats.cases += 1;
      stats.sites += kits.length;
      return;
    }

    for (const [index, kit] of kits.entries()) await liftFaults(kit, scripts[index] ?? { kind: 'healthy' });
    let failedAfterLifting: Step | undefined;
    let retries = 0;
    do {
      retries += 1;
      failedAfterLifting = await runSteps(RETRY_BUDGET_MS, RETRY_SITE_TIMEOUT_MS);
    } while (failedAfterLifting !== undefined && retries < MAX_RETRIES);
    check(
      failedAfterLifting === undefined,
      () =>
        `after the faults were lifted ${retries} retries failed, the last at ${failedAfterLifting}: ${String(errors.at(-1))}`,
    );
    const currentAfter = await secrets.getValue(arn, { stage: AWSCURRENT });
    check(currentAfter === next, () => 'after the retry AWSCURRENT is not the new key');
    const behind = urls.filter((_, index) => stored()[index] !== next);
    check(
      behind.length === 0,
      () => `after the retry ${behind.length} sites lack the new key: ${behind.slice(0, 5).join(', ')}`,
    );
    stats.convergedAfterLifting += 1;

    // Confirmations are logged in batches: every site that took the key is named in exactly one of them
    // (a retry contacts only the sites not confirmed yet, so none is named twice).
    const named = logger.lines.flatMap((line) => {
      const entry = JSON.parse(line) as { message?: string; confirmedSites?: { site: string }[] };
      return entry.message === 'sites confirmed' ? (entry.confirmedSites ?? []).map(({ site }) => site) : [];
    });
    const times = new Map<string, number>();
    for (const site of named) times.set(site, (times.get(site) ?? 0) + 1);
    const misnamed = urls.filter((url) => times.get(url) !== 1);
    check(
      misnamed.length === 0 && named.length === urls.length,
      () =>
        `${misnamed.length} sites are not named exactly once in the "sites confirmed" lines (${named.length} names for ${urls.length} sites): ${misnamed.slice(0, 5).join(', ')}`,
    );

    checkNoLeak(logger, errors, ledger, secretValues);
  } finally {
    for (const [index, kit] of kits.entries()) await liftFaults(kit, scripts[index] ?? { kind: 'healthy' });
    for (const connector of connectors) connector.destroy();
  }
  stats.cases += 1;
  stats.sites += kits.length;
}

function checkNoLeak(
  logger: TextLogger,
  errors: readonly unknown[],
  ledger: InMemoryLedger,
  secretValues: readonly string[],
): void {
  const text = [
    ...logger.lines,
    ...errors.map((error) => JSON.stringify(error, errorFields)),
    JSON.stringify(ledger.dump()),
  ];
  for (const [index, value] of secretValues.entries()) {
    const where = text.find((line) => line.includes(value));
    check(
      where === undefined,
      () => `secret #${index} leaked: ${where?.replaceAll(value, '<SECRET>').slice(0, 300)}`,
    );
  }
}

/**
 * `abort` with the faults still on, then again after they are lifted (an operator's retries): whenever
 * AWSPENDING is gone, every site stores the current key; in the end it is gone and AWSCURRENT never moved.
 */
async function abortUntilDone(
  secrets: InMemorySecrets,
  ledger: InMemoryLedger,
  arn: string,
  masterKeySecretId: string,
  /** Abort's pusher: no canary, and the retry's timeout once the faults are lifted. */
  pusher: (lifted: boolean) => SitePusher,
  world: { current: string; next: string; stored: () => (string | undefined)[]; lift: () => Promise<void> },
): Promise<void> {
  // abort reads, re-pushes and moves one label: the in-memory store answers exactly those.
  const admin: Pick<SecretAdmin, 'describe' | 'getValue' | 'readCurrent' | 'removeStage'> = {
    describe: (id) => secrets.describe(id),
    getValue: (id, selector) => secrets.getValue(id, selector),
    readCurrent: (id) => secrets.readCurrent(id),
    removeStage: async (id, stage, versionId) =>
      secrets.updateVersionStage(id, stage, { removeFromVersionId: versionId }),
  };
  const pendingLeft = () => secrets.versions(arn).some((version) => version.stages.includes(AWSPENDING));
  for (let run = 0; run < MAX_RETRIES + 1 && pendingLeft(); run += 1) {
    if (run === 1) await world.lift();
    await abortRotation(
      {
        secrets: admin as SecretAdmin,
        ledger: { table: 'campaign-ledger', store: ledger },
        pusher: pusher(run > 0),
      },
      { secretId: arn, masterKeySecretId },
    );
    if (!pendingLeft()) {
      const kept = world.stored().filter((key) => key === world.next).length;
      check(kept === 0, () => `abort removed AWSPENDING but ${kept} sites still store the new key`);
    }
  }
  check(
    !pendingLeft(),
    () => `AWSPENDING is still set after ${MAX_RETRIES + 1} aborts, the last without faults`,
  );
  const currentAfter = await secrets.getValue(arn, { stage: AWSCURRENT });
  check(currentAfter === world.current, () => 'after abort AWSCURRENT is not the key it started on');
}

export interface CampaignOptions {
  readonly cases: number;
  /** Called after every passing case (progress lines). */
  readonly onCase?: (spec: CampaignCase, durationMs: number) => void;
  readonly onStart?: (spec: CampaignCase) => void;
  readonly seed: number;
  /** fast-check's replay path of a shrunk counterexample. */
  readonly path?: string;
}

/** Runs the campaign; throws (with fast-check's seed, path and shrunk case) on the first violation. */
export async function runCampaign(
  options: CampaignOptions,
  stats: CampaignStats = emptyStats(),
): Promise<CampaignStats> {
  const pool = await CampaignFleet.start();
  try {
    await fc.assert(
      fc.asyncProperty(campaignCase, async (spec) => {
        const started = performance.now();
        options.onStart?.(spec);
        await runCase(pool, spec, stats);
        options.onCase?.(spec, performance.now() - started);
      }),
      {
        numRuns: options.cases,
        seed: options.seed,
        ...(options.path === undefined ? {} : { path: options.path }),
      },
    );
  } finally {
    await pool.close();
  }
  return stats;
}
