/**
 * The key a rotation would move to. Read-only: the rotation's createSecret and the CLI's `plan` both call
 * it, so they always agree.
 */
import { ConfigurationError, KeyRejectedError } from '../errors.js';
import { AWSPREVIOUS, type KeyChecker, type RotationTrigger } from '../ports.js';
import { type StagedKeyRefusal, stagedKeyVerdict } from '../rules/staged-key.js';
import type { RotationDeps } from './deps.js';

/** The key a rotation would move to, or why it would be refused (the error the rotation would fail with). */
export type NextKey =
  | { readonly accepted: true; readonly key: string; readonly trigger: RotationTrigger }
  | {
      readonly accepted: false;
      readonly reason: StagedKeyRefusal;
      readonly error: ConfigurationError | KeyRejectedError;
    };

/**
 * The key a rotation of `secretArn` would move to: the staged key secret's value, or (nothing new staged)
 * the current key, as the staged key verdict decides. Read-only: the CLI's `plan` calls it too (with a
 * Stripe checker when asked), so both always agree.
 */
export async function chooseNextKey(
  secretArn: string,
  { config, secrets, ledger }: Pick<RotationDeps, 'config' | 'secrets' | 'ledger'>,
  current: string,
  keyChecker?: KeyChecker,
): Promise<NextKey> {
  const stagedId = config.stagedSecretId;
  const staged = (await secrets.readCurrent(stagedId))?.trim() ?? '';
  const verdict = await stagedKeyVerdict(staged, {
    secretArn,
    stagedSecretId: stagedId,
    keyMode: config.keyMode,
    whenNothingStaged: config.whenNothingStaged,
    current,
    previous: await secrets.getValue(secretArn, { stage: AWSPREVIOUS }),
    ledger,
    versions: secrets,
    keyChecker,
  });
  if (verdict.accepted)
    return { accepted: true, key: verdict.trigger === 'staged' ? staged : current, trigger: verdict.trigger };
  if (verdict.reason === 'stripe_refused') {
    // Stripe's own sentence says what is wrong with the key (only `plan` asks for this check here).
    return { accepted: false, reason: verdict.reason, error: new KeyRejectedError(verdict.message) };
  }
  const message =
    `${verdict.message} Stage the next key: Secrets Manager console → secret ${stagedId} → "Retrieve secret value" → "Edit", ` +
    '(or `stripe-key-rotator stage`), then start the rotation again.';
  // Nothing new staged is the deployment's state; anything else is the key itself.
  const nothingNew = verdict.reason === 'nothing_staged' || verdict.reason === 'current_unusable';
  return {
    accepted: false,
    reason: verdict.reason,
    error: nothingNew ? new ConfigurationError(message) : new KeyRejectedError(message),
  };
}
