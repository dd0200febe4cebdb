/**
 * `stage` as a use case: the next Stripe key written into the staged key secret, only if the rotation
 * core's staged key verdict accepts it (the very rules a rotation applies, plus Stripe, read-only when a
 * checker is given): what `stage` stores, a rotation takes.
 */

import { NOTHING_STAGED } from '../contract.js';
import { KeyRejectedError } from '../errors.js';
import { AWSCURRENT, AWSPREVIOUS, type KeyChecker, type RotationLedger } from '../ports.js';
import { describeKey, type KeyJson, type KeyMode, keyJson } from '../rules/keys.js';
import { stagedKeyVerdict } from '../rules/staged-key.js';
import { attempt, type ExplainFailure, type SecretAdmin } from './ports.js';

export interface StageDeps {
  readonly secrets: SecretAdmin;
  readonly ledger: { readonly table: string; readonly store: RotationLedger };
  /** Stripe's read-only check; absent: not checked (the rotation still checks). */
  readonly keyChecker?: KeyChecker | undefined;
  readonly explain?: ExplainFailure | undefined;
  readonly onSecretRead?: ((...values: (string | undefined)[]) => void) | undefined;
}

export interface StageRequest {
  readonly secretId: string;
  readonly stagedSecretId: string;
  readonly keyMode: KeyMode;
  readonly key: string;
}

export interface StageOptions {
  /** Told once every check passed, before anything is written. */
  readonly onAccepted?: () => void;
  /** Asked before a key is written; absent: no question. False: nothing is written. */
  readonly confirm?: () => Promise<boolean>;
}

export interface StageResult {
  /**
   * `nothing`: the input means "nothing staged" (not a key). `already_staged`: the staged key secret holds
   * it. `staged`: written. `declined`: the confirmation was refused, nothing written.
   */
  readonly outcome: 'nothing' | 'already_staged' | 'staged' | 'declined';
  readonly secretArn: string;
  readonly key: KeyJson;
}

/** Throws KeyRejectedError for a key a rotation would refuse (in service, malformed, wrong mode, reused). */
export async function stage(
  deps: StageDeps,
  request: StageRequest,
  options: StageOptions = {},
): Promise<StageResult> {
  const { secrets, explain, ledger } = deps;
  const { key, stagedSecretId } = request;
  const hide = deps.onSecretRead ?? (() => undefined);
  const { arn } = await attempt(explain, `Describing the secret ${request.secretId}`, () =>
    secrets.describe(request.secretId),
  );
  const [current, previous, staged] = await Promise.all([
    secrets.getValue(arn, { stage: AWSCURRENT }),
    secrets.getValue(arn, { stage: AWSPREVIOUS }),
    attempt(explain, `Reading the staged key secret ${stagedSecretId}`, () =>
      secrets.readCurrent(stagedSecretId),
    ),
  ]);
  hide(current, previous, staged);
  const verdict = await attempt(explain, `Checking the key against the ledger table ${ledger.table}`, () =>
    stagedKeyVerdict(key, {
      secretArn: arn,
      stagedSecretId,
      origin: 'input',
      keyMode: request.keyMode,
      current,
      previous,
      ledger: ledger.store,
      versions: secrets,
      keyChecker: deps.keyChecker,
    }),
  );
  const result = (outcome: StageResult['outcome']): StageResult => ({
    outcome,
    secretArn: arn,
    key: keyJson(key),
  });
  if (verdict.staged === 'current') {
    throw new KeyRejectedError(
      `The key ${describeKey(key)} is already in service (AWSCURRENT of ${arn}): nothing to stage. To push it to every ` +
        `site again, leave the staged key secret at "${NOTHING_STAGED.placeholder}" and rotate (a re-propagation).`,
    );
  }
  if (verdict.staged === 'nothing') return result('nothing');
  if (!verdict.accepted) throw new KeyRejectedError(`${verdict.message} Nothing was staged.`);
  options.onAccepted?.();
  if (staged?.trim() === key) return result('already_staged');
  if (options.confirm !== undefined && !(await options.confirm())) return result('declined');
  await attempt(explain, `Writing the staged key secret ${stagedSecretId}`, () =>
    secrets.writeStaged(stagedSecretId, key),
  );
  return result('staged');
}
