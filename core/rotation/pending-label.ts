/**
 * What finishSecret leaves on the new version: AWSCURRENT only, as the rotation function's docs describe
 * and the console shows (docs/aws-behaviour.md). AWSPENDING is removed by the function itself rather than
 * left to Secrets Manager's own clean-up, so every store (AWS, moto, the in-memory one) ends the same.
 */
import type { RotationLogger } from '../log.js';
import { AWSPENDING, type SecretDescription } from '../ports.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';
import { bestEffort } from './ledger.js';

/**
 * Removes AWSPENDING from the event's version when the description (taken before the step) shows it there.
 * Never throws: AWSCURRENT has already moved, and AWSPENDING on the current version blocks nothing
 * (Secrets Manager starts the next rotation over it). Safe on replay: a version without the label is left alone.
 */
export async function clearPendingLabel(
  { secrets }: RotationDeps,
  log: RotationLogger,
  { SecretId, ClientRequestToken }: RotationEvent,
  description: SecretDescription,
): Promise<void> {
  if (!description.versionIdsToStages[ClientRequestToken]?.includes(AWSPENDING)) return;
  await bestEffort(log, 'Could not remove AWSPENDING from the new current version', async () => {
    await secrets.clearPending(SecretId, ClientRequestToken);
    log.info('AWSPENDING removed: the new version is labelled AWSCURRENT only');
  });
}
