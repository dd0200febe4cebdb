/**
 * The rotation core: the four Secrets Manager steps over injected ports. A new key becomes AWSCURRENT
 * only after every site of the rotation's snapshot confirmed it (the ledger is the proof); any failure
 * leaves AWSCURRENT (and the previous key) untouched, and every step is safe to replay with the same token.
 */
import { NOTHING_STAGED } from '../contract.js';
import { ConfigurationError, KeyRejectedError, PropagationError, RotationStateError } from '../errors.js';
import { type RotationLogger, withFields } from '../log.js';
import {
  AWSCURRENT,
  AWSPENDING,
  type RotationId,
  type SecretDescription,
  type SiteResult,
} from '../ports.js';
import { describeKey, fingerprint, keyProblem, masterApiKeyProblem } from '../rules/keys.js';
import { expectedStripeAccount } from '../stripe-check.js';
import { type InvocationClock, type RotationDeps, wallClock } from './deps.js';
import type { RotationEvent, RotationStep } from './event.js';
import { bestEffort, recordFailure, requireRecord, rotationStart, siteRecord } from './ledger.js';
import { propagationFailureMessage } from './messages.js';
import { chooseNextKey } from './next-key.js';
import { clearPendingLabel } from './pending-label.js';

interface StepInput {
  readonly event: RotationEvent;
  readonly id: RotationId;
  readonly description: SecretDescription;
  readonly deps: RotationDeps;
  readonly log: RotationLogger;
  readonly clock: InvocationClock;
}

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
  const { description, alreadyCurrent } = await preDispatch(event, deps);
  const id: RotationId = { secretArn: description.arn, token: event.ClientRequestToken };
  const now = wallClock(deps);
  if (alreadyCurrent) {
    log.info('Version is already AWSCURRENT: nothing to do');
    // A finishSecret that moved AWSCURRENT but failed to record it is completed here, on the retry.
    await bestEffort(log, 'Could not record the finished rotation', async () => {
      const record = await deps.ledger.get(id);
      if (record && record.outcome !== 'finished') {
        await deps.ledger.update(id, { outcome: 'finished', finishedAt: now().toISOString() });
      }
    });
    // Likewise the staged key reset: a no-op when it already happened (the staged secret no longer holds it).
    if (event.Step === 'finishSecret') {
      await clearPendingLabel(deps, log, event, description);
      await resetStagedKey(deps, log, () =>
        deps.secrets.getValue(event.SecretId, { stage: AWSCURRENT, versionId: event.ClientRequestToken }),
      );
    }
    return;
  }
  const startedAt = now().toISOString();
  const started = Date.now();
  // createSecret creates the record; setSecret and finishSecret mark themselves on it. testSecret stays
  // strictly read-only, ledger included (its timestamps are in the logs).
  const recorded =
    (event.Step === 'setSecret' || event.Step === 'finishSecret') &&
    (await deps.ledger.get(id)) !== undefined;
  if (recorded) {
    await deps.ledger.update(id, {
      step: { name: event.Step, mark: { startedAt, status: 'running' } },
      outcome: 'in_progress',
    });
  }
  try {
    await steps[event.Step]({ event, id, description, deps, log, clock });
  } catch (error) {
    if (recorded || event.Step === 'createSecret') {
      await recordFailure(id, event.Step, startedAt, error, deps, log);
    }
    throw error;
  }
  if (recorded || event.Step === 'createSecret') {
    // Audit only: the step's effect is already durable (and for finishSecret, AWSCURRENT has moved).
    await bestEffort(log, 'Could not record the step completion in the ledger', () =>
      deps.ledger.update(id, {
        step: { name: event.Step, mark: { startedAt, endedAt: now().toISOString(), status: 'completed' } },
      }),
    );
  }
  log.info('Step completed', { durationMs: Date.now() - started });
}

/** The AWS rotation template's checks, run before every step. */
async function preDispatch(
  event: RotationEvent,
  deps: RotationDeps,
): Promise<{ description: SecretDescription; alreadyCurrent: boolean }> {
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
  if (stages.includes(AWSCURRENT)) return { description, alreadyCurrent: true };
  if (!stages.includes(AWSPENDING)) {
    throw new RotationStateError(
      `Version ${event.ClientRequestToken} of secret ${description.arn} is not labelled AWSPENDING`,
    );
  }
  return { description, alreadyCurrent: false };
}

async function createSecret({ event, id, deps, log }: StepInput): Promise<void> {
  const { secrets, ledger } = deps;
  const current = await secrets.getValue(event.SecretId, { stage: AWSCURRENT });
  if (current === undefined) {
    throw new RotationStateError(`Secret ${event.SecretId} has no AWSCURRENT value to rotate from`);
  }
  const existing = await secrets.getValue(event.SecretId, {
    stage: AWSPENDING,
    versionId: event.ClientRequestToken,
  });
  if (existing !== undefined) {
    // Replayed step. The snapshot was taken before the pending value was written, unless the value was put
    // there by Secrets Manager itself (RotateImmediately=false copies the current value): take it now.
    const record =
      (await ledger.get(id)) ??
      (await ledger.begin(
        await rotationStart(id, existing, existing === current ? 'repropagation' : 'staged', deps),
      ));
    log.info('Pending version already holds a key: keeping it', {
      key: describeKey(existing),
      sites: record.sites.length,
    });
    return;
  }
  const next = await chooseNextKey(id.secretArn, deps, current);
  if (!next.accepted) throw next.error;
  const { key, trigger } = next;
  // Snapshot first: once AWSPENDING holds the key, every later step works on exactly this set of sites.
  const record = await ledger.begin(await rotationStart(id, key, trigger, deps));
  if (record.keyFingerprint !== fingerprint(key)) {
    throw new RotationStateError(
      `The key chosen now (${describeKey(key)}) differs from the one this rotation started with (fp ${record.keyFingerprint}): ` +
        'the staged key changed while the rotation was being created. Cancel this rotation (remove its AWSPENDING label) and start again.',
    );
  }
  await secrets.putPending(event.SecretId, event.ClientRequestToken, key, event.RotationToken);
  log.info('Pending version created', { trigger, key: describeKey(key), sites: record.sites.length });
}

async function setSecret({ event, id, deps, log, clock }: StepInput): Promise<void> {
  const { config, keyChecker, pusher, ledger, metrics } = deps;
  const pending = await requirePendingKey(event, deps);
  const record = await requireRecord(id, pending, deps);
  const current = await deps.secrets.getValue(event.SecretId, { stage: AWSCURRENT });
  const isNewKey = pending !== current;
  if (isNewKey && config.stripeCheck) {
    const known = await expectedStripeAccount(config, ledger, id.secretArn, current);
    const account = await keyChecker.check(pending, config.keyMode, current, known);
    // What a later rotation compares with if Stripe no longer accepts this key by then.
    if (account !== undefined) await ledger.update(id, { stripeAccount: account });
  }

  const masterApiKey = await readMasterApiKey(deps);
  const before = await ledger.sites(id);
  const earlier = new Map(before.map((site) => [site.site, site]));
  // Resume: a retried rotation (same token) contacts only the sites not confirmed yet.
  const targets = before.filter((site) => site.status !== 'confirmed').map((site) => site.site);
  log.info('Pushing key to sites', {
    key: describeKey(pending),
    newKey: isNewKey,
    snapshotSites: before.length,
    alreadyConfirmed: before.length - targets.length,
    targets: targets.length,
  });

  const started = Date.now();
  const holds = { maskedKey: record.maskedKey, keyFingerprint: record.keyFingerprint, versionId: id.token };
  const report =
    targets.length === 0
      ? { results: [] as SiteResult[] }
      : await pusher.push({
          sites: targets,
          key: pending,
          masterApiKey,
          remainingTimeMs: () => clock.getRemainingTimeInMillis(),
          onResult: (result) => {
            // Unattempted sites stay `pending` in the ledger: writing thousands of rows after a deadline
            // stop would eat the very time left to report them.
            if (result.outcome === 'not_attempted') return;
            const site = siteRecord(result, earlier.get(result.site), deps);
            return ledger.saveSite(
              id,
              site,
              site.confirmedAt === undefined
                ? undefined
                : { site: site.site, ...holds, confirmedAt: site.confirmedAt },
            );
          },
        });
  await ledger.flush();
  const durationMs = Date.now() - started;

  const after = await ledger.sites(id);
  const failed = after.filter((site) => site.status === 'failed');
  const unattempted = after.filter((site) => site.status === 'pending' || site.status === 'not_attempted');
  const confirmed = after.length - failed.length - unattempted.length;
  await ledger.update(id, { counts: { confirmed, failed: failed.length, pending: unattempted.length } });
  metrics.record('SitesConfirmed', confirmed);
  metrics.record('SitesFailed', failed.length);
  metrics.record('SitesNotAttempted', unattempted.length);
  metrics.record('PushDuration', durationMs);
  if (failed.length > 0 || unattempted.length > 0) {
    const earlierRuns = before.length - targets.length;
    const byEarlierRuns =
      earlierRuns > 0 ? ` (${earlierRuns} of them in an earlier run of this rotation)` : '';
    throw new PropagationError(
      propagationFailureMessage(
        `The key ${describeKey(pending)} was confirmed by ${confirmed} of ${after.length} sites${byEarlierRuns}; AWSCURRENT was not moved.`,
        failed,
        unattempted,
        report.stoppedBecause,
      ),
    );
  }
}

async function testSecret({ event, id, deps, log }: StepInput): Promise<void> {
  const { config, keyChecker, secrets, siteList, ledger } = deps;
  const pending = await secrets.getValue(event.SecretId, {
    stage: AWSPENDING,
    versionId: event.ClientRequestToken,
  });
  const current = await secrets.getValue(event.SecretId, { stage: AWSCURRENT });
  if (pending === undefined || pending !== current) {
    // A real rotation: everything must hold. Nothing is written but the ledger's audit marks.
    const key = await requirePendingKey(event, deps);
    const record = await requireRecord(id, key, deps);
    if (config.stripeCheck) {
      const known = await expectedStripeAccount(config, ledger, id.secretArn, current);
      await keyChecker.check(key, config.keyMode, current, known);
    }
    await readMasterApiKey(deps);
    log.info('Pending key and configuration verified', { key: describeKey(key), sites: record.sites.length });
    return;
  }
  // Pending equals current: Secrets Manager's configuration test (RotateImmediately=false, e.g. on deploy),
  // or the test after a re-propagation. Placeholders are legitimate here, so content problems are reported
  // as warnings; unreadable configuration (access denied, throttling, ledger down) still fails.
  const notReady: string[] = [];
  const keyIssue = keyProblem(pending, config.keyMode);
  if (keyIssue) notReady.push(`the current value ${keyIssue}`);
  // Both reads the ledger's schema needs (its keys, its history index): an adopted table without them
  // fails here, on deploy, rather than in the middle of the first real rotation.
  await ledger.get(id);
  await ledger.history(id.secretArn, 1);
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

async function finishSecret({ event, id, description, deps, log }: StepInput): Promise<void> {
  const { ledger } = deps;
  const pending = await requirePendingKey(event, deps);
  await requireRecord(id, pending, deps);
  // The gate: AWSCURRENT moves only when the ledger shows every snapshot site confirmed for this token.
  const sites = await ledger.sites(id);
  if (sites.length === 0) {
    throw new RotationStateError(
      `The ledger snapshot of rotation ${id.token} holds no site: nothing was confirmed`,
    );
  }
  const unconfirmed = sites.filter((site) => site.status !== 'confirmed');
  if (unconfirmed.length > 0) {
    throw new PropagationError(
      propagationFailureMessage(
        `Refusing to move AWSCURRENT: the ledger shows ${sites.length - unconfirmed.length} of ${sites.length} sites confirmed for ${describeKey(pending)}.`,
        unconfirmed.filter((site) => site.status === 'failed'),
        unconfirmed.filter((site) => site.status !== 'failed'),
        undefined,
      ),
    );
  }
  const currentVersion = Object.entries(description.versionIdsToStages).find(([, stages]) =>
    stages.includes(AWSCURRENT),
  )?.[0];
  if (!currentVersion) throw new RotationStateError(`Secret ${description.arn} has no AWSCURRENT version`);
  await deps.secrets.promote(event.SecretId, event.ClientRequestToken, currentVersion);
  await clearPendingLabel(deps, log, event, description);
  deps.metrics.record('RotationSucceeded', 1);
  // AWSCURRENT has moved: from here on nothing may fail the step (a retry would find the token current).
  const finishedAt = wallClock(deps)().toISOString();
  await bestEffort(log, 'Could not record the finished rotation in the ledger', () =>
    ledger.update(id, {
      outcome: 'finished',
      finishedAt,
      counts: { confirmed: sites.length, failed: 0, pending: 0 },
    }),
  );
  await resetStagedKey(deps, log, async () => pending);
  const { notifier } = deps;
  if (notifier !== undefined) {
    await bestEffort(log, 'Could not send the success notice', () =>
      notifier.notify(
        `Stripe key rotation finished (${sites.length} ${sites.length === 1 ? 'site' : 'sites'})`,
        `Stripe key rotation finished for ${description.arn}: AWSCURRENT is now version ${id.token}, ` +
          `${describeKey(pending)}, after ${sites.length === 1 ? 'its one site' : `all ${sites.length} sites`} confirmed it (previous version ` +
          `${currentVersion}). Let the previous key expire in the Stripe Dashboard.`,
      ),
    );
  }
  log.info('Rotation finished: AWSCURRENT moved', {
    key: describeKey(pending),
    sites: sites.length,
    previousVersionId: currentVersion,
    reminder:
      'Every site confirmed the new key. Let the previous key expire in the Stripe Dashboard (it can live at most 7 days after a roll).',
  });
}

/**
 * After AWSCURRENT moved: when the staged key secret still holds the key now in service, put the
 * nothing-staged value there, so that the live key lives in the rotated secret only. Never throws (the
 * rotation is already complete); a key staged meanwhile (any other value) is left alone. No value is logged.
 */
async function resetStagedKey(
  { config, secrets, metrics }: RotationDeps,
  log: RotationLogger,
  keyInService: () => Promise<string | undefined>,
): Promise<void> {
  const stagedSecretId = config.stagedSecretId;
  try {
    const key = await keyInService();
    const staged = (await secrets.readCurrent(stagedSecretId))?.trim();
    // Compared as createSecret read it: a staged key is taken trimmed.
    if (key === undefined || staged !== key) {
      log.info('Staged key secret does not hold the key in service: left as it is', { stagedSecretId });
      return;
    }
    await secrets.writeStaged(stagedSecretId, NOTHING_STAGED.placeholder);
    log.info('Staged key secret reset: the key in service now lives in the rotated secret only', {
      stagedSecretId,
    });
  } catch (error) {
    metrics.record('StagedKeyResetFailed', 1);
    log.error(
      'Could not reset the staged key secret: it still holds the key in service. ' +
        `Put "${NOTHING_STAGED.placeholder}" in it by hand (a later rotation compares with its own key, not this one).`,
      { stagedSecretId, error },
    );
  }
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

async function readMasterApiKey({ config, secrets }: RotationDeps): Promise<string> {
  const id = config.masterApiKeySecretId;
  const value = (await secrets.readCurrent(id))?.trim() ?? '';
  const problem = masterApiKeyProblem(value);
  if (problem) {
    throw new ConfigurationError(`The master API key in ${id} ${problem}: put the sites' X-API-Key in it`);
  }
  return value;
}
