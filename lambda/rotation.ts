/**
 * The rotation core: the four Secrets Manager steps over injected ports. A new key becomes AWSCURRENT
 * only after every site confirmed it; any failure leaves AWSCURRENT (and the previous key) untouched,
 * and every step is safe to replay with the same token.
 */
import type { RotatorConfig } from './config.js';
import { ConfigurationError, KeyRejectedError, PropagationError, RotationStateError } from './errors.js';
import type { RotationEvent, RotationStep } from './event.js';
import { describeKey, keyProblem } from './keys.js';
import type { RotationLogger } from './log.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  type KeyChecker,
  type PushReport,
  type RotatedSecretStore,
  type SecretDescription,
  type SecretReader,
  type SiteListSource,
  type SitePusher,
  type SiteResult,
} from './ports.js';

export type RotationMetricName =
  | 'RotationSucceeded'
  | 'SitesConfirmed'
  | 'SitesFailed'
  | 'SitesNotAttempted'
  | 'PushDuration';

/** Metrics sink (Powertools Metrics in the Lambda); `PushDuration` is in milliseconds, the rest are counts. */
export interface RotationMetrics {
  record(name: RotationMetricName, value: number): void;
}

export interface RotationDeps {
  readonly config: RotatorConfig;
  readonly secrets: RotatedSecretStore;
  readonly secretReader: SecretReader;
  readonly siteList: SiteListSource;
  readonly keyChecker: KeyChecker;
  readonly pusher: SitePusher;
  readonly logger: RotationLogger;
  readonly metrics: RotationMetrics;
}

/** The part of the Lambda context the core uses. */
export interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

interface StepInput {
  readonly event: RotationEvent;
  readonly description: SecretDescription;
  readonly deps: RotationDeps;
  readonly log: RotationLogger;
  readonly clock: InvocationClock;
}

/** Values that mean "nothing is staged" in the staged key secret (the CDK placeholder is `none`). */
const NOTHING_STAGED = /^(none)?$/i;

/** At most this many sites are listed per category in an error message; the logs carry every one. */
const MAX_SITES_IN_MESSAGE = 50;

const steps: Record<RotationStep, (input: StepInput) => Promise<void>> = {
  createSecret,
  setSecret,
  testSecret,
  finishSecret,
};

export async function rotate(
  event: RotationEvent,
  deps: RotationDeps,
  clock: InvocationClock,
): Promise<void> {
  const log = withFields(deps.logger, {
    step: event.Step,
    secretArn: event.SecretId,
    versionId: event.ClientRequestToken,
  });
  const description = await preDispatch(event, deps);
  if (description === 'already-current') {
    log.info('Version is already AWSCURRENT: nothing to do');
    return;
  }
  const started = Date.now();
  await steps[event.Step]({ event, description, deps, log, clock });
  log.info('Step completed', { durationMs: Date.now() - started });
}

/** The AWS rotation template's checks, run before every step. */
async function preDispatch(
  event: RotationEvent,
  deps: RotationDeps,
): Promise<SecretDescription | 'already-current'> {
  const description = await deps.secrets.describe(event.SecretId);
  if (!description.rotationEnabled) {
    throw new RotationStateError(`Secret ${description.arn} is not enabled for rotation`);
  }
  const stages = description.versionIdsToStages[event.ClientRequestToken];
  if (!stages) {
    throw new RotationStateError(
      `Secret ${description.arn} has no version ${event.ClientRequestToken}: nothing to rotate to`,
    );
  }
  if (stages.includes(AWSCURRENT)) return 'already-current';
  if (!stages.includes(AWSPENDING)) {
    throw new RotationStateError(
      `Version ${event.ClientRequestToken} of secret ${description.arn} is not labelled AWSPENDING`,
    );
  }
  return description;
}

async function createSecret({ event, deps, log }: StepInput): Promise<void> {
  const { secrets } = deps;
  const current = await secrets.getValue(event.SecretId, { stage: AWSCURRENT });
  if (current === undefined) {
    throw new RotationStateError(`Secret ${event.SecretId} has no AWSCURRENT value to rotate from`);
  }
  const existing = await secrets.getValue(event.SecretId, {
    stage: AWSPENDING,
    versionId: event.ClientRequestToken,
  });
  if (existing !== undefined) {
    log.info('Pending version already holds a key: keeping it', { key: describeKey(existing) });
    return;
  }
  const { key, trigger } = await chooseNextKey(event, deps, current);
  await secrets.putPending(event.SecretId, event.ClientRequestToken, key, event.RotationToken);
  log.info('Pending version created', { trigger, key: describeKey(key) });
}

async function chooseNextKey(
  event: RotationEvent,
  { config, secrets, secretReader }: RotationDeps,
  current: string,
): Promise<{ key: string; trigger: 'staged' | 'repropagation' }> {
  const stagedId = config.stagedSecretId;
  const staged = (await secretReader.readCurrent(stagedId))?.trim() ?? '';
  const howToStage =
    `Stage the next key: Secrets Manager console → secret ${stagedId} → "Retrieve secret value" → "Edit", ` +
    '(or `stripe-key-rotator stage`), then start the rotation again.';

  if (NOTHING_STAGED.test(staged) || staged === current) {
    const why = NOTHING_STAGED.test(staged) ? 'it is empty' : 'it holds the current key';
    if (config.whenNothingStaged === 'fail') {
      throw new ConfigurationError(
        `Nothing new is staged in ${stagedId} (${why}) and WHEN_NOTHING_STAGED=fail. ${howToStage}`,
      );
    }
    const problem = keyProblem(current, config.keyMode);
    if (problem) {
      throw new ConfigurationError(
        `Nothing new is staged in ${stagedId} (${why}), and the current value cannot be re-propagated: it ${problem}. ${howToStage}`,
      );
    }
    return { key: current, trigger: 'repropagation' };
  }

  const problem = keyProblem(staged, config.keyMode);
  if (problem) throw new KeyRejectedError(`The staged key in ${stagedId} ${problem}. ${howToStage}`);
  const previous = await secrets.getValue(event.SecretId, { stage: AWSPREVIOUS });
  if (previous === staged) {
    throw new KeyRejectedError(
      `The staged key ${describeKey(staged)} is the previous key (AWSPREVIOUS) of ${event.SecretId}: ` +
        `a rotation must move forward. Roll a new key in the Stripe Dashboard. ${howToStage}`,
    );
  }
  return { key: staged, trigger: 'staged' };
}

async function setSecret({ event, deps, log, clock }: StepInput): Promise<void> {
  const { config, keyChecker, pusher, siteList, metrics } = deps;
  const pending = await requirePendingKey(event, deps);
  const current = await deps.secrets.getValue(event.SecretId, { stage: AWSCURRENT });
  const isNewKey = pending !== current;
  if (isNewKey && config.stripeCheck) await keyChecker.check(pending, config.keyMode, current);

  const masterApiKey = await readMasterApiKey(deps);
  const list = await siteList.load();
  if (list.duplicates.length > 0) log.warn('Duplicate sites collapsed', { duplicates: list.duplicates });
  log.info('Pushing key to sites', {
    key: describeKey(pending),
    newKey: isNewKey,
    sites: list.sites.length,
    sources: list.sources,
  });

  const started = Date.now();
  const report = await pusher.push({
    sites: list.sites,
    key: pending,
    masterApiKey,
    remainingTimeMs: () => clock.getRemainingTimeInMillis(),
  });
  const durationMs = Date.now() - started;
  const counts = countOutcomes(report.results);
  metrics.record('SitesConfirmed', counts.confirmed);
  metrics.record('SitesFailed', counts.failed.length);
  metrics.record('SitesNotAttempted', counts.notAttempted.length);
  metrics.record('PushDuration', durationMs);
  if (counts.failed.length > 0 || counts.notAttempted.length > 0) {
    throw new PropagationError(propagationFailureMessage(pending, report, counts));
  }
}

async function testSecret({ event, deps, log }: StepInput): Promise<void> {
  const { config, keyChecker, secrets, siteList } = deps;
  const pending = await secrets.getValue(event.SecretId, {
    stage: AWSPENDING,
    versionId: event.ClientRequestToken,
  });
  const current = await secrets.getValue(event.SecretId, { stage: AWSCURRENT });
  if (pending === undefined || pending !== current) {
    // A real rotation: everything must hold. Nothing is written anywhere.
    const key = await requirePendingKey(event, deps);
    if (config.stripeCheck) await keyChecker.check(key, config.keyMode, current);
    await readMasterApiKey(deps);
    const list = await siteList.load();
    log.info('Pending key and configuration verified', { key: describeKey(key), sites: list.sites.length });
    return;
  }
  // Pending equals current: Secrets Manager's configuration test (RotateImmediately=false, e.g. on deploy).
  // Placeholders are legitimate here, so content problems are reported as warnings; unreadable
  // configuration (access denied, throttling) still fails. A real rotation refuses them later anyway.
  const notReady: string[] = [];
  const keyIssue = keyProblem(pending, config.keyMode);
  if (keyIssue) notReady.push(`the current value ${keyIssue}`);
  for (const check of [() => readMasterApiKey(deps), () => siteList.load()]) {
    try {
      await check();
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      notReady.push(error.message);
    }
  }
  if (notReady.length > 0) log.warn('Configuration test passed, but not ready to rotate yet', { notReady });
  else log.info('Configuration test passed: pending equals current', { key: describeKey(pending) });
}

async function finishSecret({ event, description, deps, log }: StepInput): Promise<void> {
  const currentVersion = Object.entries(description.versionIdsToStages).find(([, stages]) =>
    stages.includes(AWSCURRENT),
  )?.[0];
  if (!currentVersion) throw new RotationStateError(`Secret ${description.arn} has no AWSCURRENT version`);
  await deps.secrets.promote(event.SecretId, event.ClientRequestToken, currentVersion);
  deps.metrics.record('RotationSucceeded', 1);
  log.info('Rotation finished: AWSCURRENT moved', {
    previousVersionId: currentVersion,
    reminder:
      'Every site confirmed the new key. Let the previous key expire in the Stripe Dashboard (it can live at most 7 days after a roll).',
  });
}

async function requirePendingKey(event: RotationEvent, { config, secrets }: RotationDeps): Promise<string> {
  const pending = await secrets.getValue(event.SecretId, {
    stage: AWSPENDING,
    versionId: event.ClientRequestToken,
  });
  if (pending === undefined) {
    throw new RotationStateError(
      `Pending version ${event.ClientRequestToken} of ${event.SecretId} holds no value: createSecret has not run`,
    );
  }
  const problem = keyProblem(pending, config.keyMode);
  if (problem) throw new KeyRejectedError(`The pending version ${event.ClientRequestToken} ${problem}`);
  return pending;
}

async function readMasterApiKey({ config, secretReader }: RotationDeps): Promise<string> {
  const id = config.masterApiKeySecretId;
  const value = (await secretReader.readCurrent(id))?.trim();
  if (!value)
    throw new ConfigurationError(`The master API key secret ${id} is empty: put the sites' X-API-Key in it`);
  // Printable ASCII without spaces: anything else cannot travel in an HTTP header unchanged.
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new ConfigurationError(
      `The master API key in ${id} contains spaces or non-printable characters (${value.length} chars); it cannot be sent as X-API-Key`,
    );
  }
  return value;
}

interface OutcomeCounts {
  readonly confirmed: number;
  readonly failed: readonly SiteResult[];
  readonly notAttempted: readonly SiteResult[];
}

function countOutcomes(results: readonly SiteResult[]): OutcomeCounts {
  const failed = results.filter((r) => r.outcome !== 'confirmed' && r.outcome !== 'not_attempted');
  const notAttempted = results.filter((r) => r.outcome === 'not_attempted');
  return { confirmed: results.length - failed.length - notAttempted.length, failed, notAttempted };
}

const STOP_EXPLANATIONS = {
  canary_failed: 'A canary site failed, so no other site was contacted.',
  key_rejected: 'A site rejected the key format (invalid_secret_format), so the push stopped.',
  deadline: 'The invocation was running out of time, so the push stopped launching requests.',
} as const;

function propagationFailureMessage(key: string, report: PushReport, counts: OutcomeCounts): string {
  const total = report.results.length;
  const lines = [
    `The key ${describeKey(key)} was confirmed by ${counts.confirmed} of ${total} sites; AWSCURRENT was not moved.`,
  ];
  if (report.stoppedBecause) lines.push(STOP_EXPLANATIONS[report.stoppedBecause]);
  if (counts.failed.length > 0) {
    lines.push(`Failed (${counts.failed.length}):`);
    for (const r of counts.failed.slice(0, MAX_SITES_IN_MESSAGE)) {
      lines.push(`  - ${r.site}: ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`);
    }
    if (counts.failed.length > MAX_SITES_IN_MESSAGE) {
      lines.push(`  … and ${counts.failed.length - MAX_SITES_IN_MESSAGE} more (see the logs)`);
    }
  }
  if (counts.notAttempted.length > 0) {
    lines.push(`Not attempted (${counts.notAttempted.length}):`);
    for (const r of counts.notAttempted.slice(0, MAX_SITES_IN_MESSAGE)) lines.push(`  - ${r.site}`);
    if (counts.notAttempted.length > MAX_SITES_IN_MESSAGE) {
      lines.push(`  … and ${counts.notAttempted.length - MAX_SITES_IN_MESSAGE} more (see the logs)`);
    }
  }
  lines.push('Fix the sites above; Secrets Manager retries the rotation, or start it again.');
  return lines.join('\n');
}

function withFields(logger: RotationLogger, fields: Record<string, unknown>): RotationLogger {
  return {
    debug: (message, ...attributes) => logger.debug(message, Object.assign({}, fields, ...attributes)),
    info: (message, ...attributes) => logger.info(message, Object.assign({}, fields, ...attributes)),
    warn: (message, ...attributes) => logger.warn(message, Object.assign({}, fields, ...attributes)),
    error: (message, ...attributes) => logger.error(message, Object.assign({}, fields, ...attributes)),
  };
}
