/**
 * The rotation's bookkeeping in the ledger: the start record with its site snapshot, per-site records,
 * and the audit marks written around each step. The gate itself (every site confirmed) is in rotation.ts.
 */
import { RotationStateError } from '../errors.js';
import type { RotationLogger } from '../log.js';
import type { RotationId, RotationLedger, RotationRecord, SiteRecord, SiteResult } from '../ports.js';
import { describeKey, fingerprint, keyIdentity } from '../rules/keys.js';
import { type RotationDeps, wallClock } from './deps.js';
import type { RotationStep } from './event.js';

/** Runs an audit write whose failure must not mask the step's own outcome: logs it instead. */
export async function bestEffort(
  log: RotationLogger,
  message: string,
  write: () => Promise<unknown>,
): Promise<void> {
  try {
    await write();
  } catch (error) {
    log.error(message, { error });
  }
}

/** Best effort: the step's own error is what Secrets Manager and the operator must see. */
export async function recordFailure(
  id: RotationId,
  step: RotationStep,
  startedAt: string,
  error: unknown,
  deps: RotationDeps,
  log: RotationLogger,
): Promise<void> {
  try {
    if ((await deps.ledger.get(id)) === undefined) return;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await deps.ledger.update(id, {
      step: {
        name: step,
        mark: {
          startedAt,
          endedAt: wallClock(deps)().toISOString(),
          status: 'failed',
          error: message,
        },
      },
      outcome: 'failed',
    });
  } catch (ledgerError) {
    log.error('Could not record the step failure in the ledger', { error: ledgerError });
  }
}

/** The ledger's start record: the key's identity and the site list as loaded now (the snapshot). */
export async function rotationStart(
  id: RotationId,
  key: string,
  trigger: RotationRecord['trigger'],
  { siteList }: RotationDeps,
): Promise<Parameters<RotationLedger['begin']>[0]> {
  const list = await siteList.load();
  return {
    ...id,
    trigger,
    ...keyIdentity(key),
    sites: list.sites,
    sources: list.sources,
  };
}

/** The ledger record of this rotation, which must describe the pending key. */
export async function requireRecord(
  id: RotationId,
  pending: string,
  { ledger }: RotationDeps,
): Promise<RotationRecord> {
  const record = await ledger.get(id);
  if (!record) {
    throw new RotationStateError(
      `The ledger has no record of rotation ${id.token} of ${id.secretArn}: createSecret has not run for it`,
    );
  }
  if (record.keyFingerprint !== fingerprint(pending)) {
    throw new RotationStateError(
      `The pending version of ${id.secretArn} (${describeKey(pending)}) is not the key this rotation started with (fp ${record.keyFingerprint})`,
    );
  }
  return record;
}

/** A site's ledger record after a push attempt; attempts accumulate across retries of the rotation. */
export function siteRecord(
  result: SiteResult,
  earlier: SiteRecord | undefined,
  deps: RotationDeps,
): SiteRecord {
  const at = wallClock(deps)().toISOString();
  const confirmed = result.outcome === 'confirmed';
  return {
    site: result.site,
    status: confirmed ? 'confirmed' : result.outcome === 'not_attempted' ? 'not_attempted' : 'failed',
    outcome: result.outcome,
    ...(result.httpStatus === undefined ? {} : { httpStatus: result.httpStatus }),
    ...(result.detail === undefined ? {} : { detail: result.detail }),
    attempts: (earlier?.attempts ?? 0) + result.attempts,
    latencyMs: result.durationMs,
    ...(confirmed ? { confirmedAt: at } : {}),
    updatedAt: at,
  };
}
