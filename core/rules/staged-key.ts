/**
 * The one verdict on a staged key: may a rotation move to it? The rotation (`chooseNextKey`), and the CLI's
 * `plan`, `stage` (before storing a key) and `status` (when showing the staged key) all ask this function,
 * so none of them can accept a key another refuses.
 */
import { NOTHING_STAGED, SETTINGS, type WhenNothingStaged } from '../contract.js';
import { KeyRejectedError } from '../errors.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  type KeyChecker,
  type RotatedSecretStore,
  type RotationLedger,
  type RotationTrigger,
} from '../ports.js';
import { describeKey, fingerprint, type KeyMode, keyModeOf, keyProblem } from './keys.js';

/** How many past rotations are searched for a staged key that was already in service. */
const HISTORY_CHECKED = 100;

/**
 * How many of the rotated secret's other versions are read for it, newest first: a bound on the reads;
 * Secrets Manager itself keeps deprecated versions only for a while (docs/aws-behaviour.md).
 */
const VERSIONS_CHECKED = 100;

/** What the candidate is, next to the rotated secret: nothing staged, the current key again, or a new key. */
export type StagedContent = 'nothing' | 'current' | 'new';

export type StagedKeyRefusal =
  /** Nothing new is staged and WHEN_NOTHING_STAGED=fail. */
  | 'nothing_staged'
  /** Nothing new is staged and the current value cannot be pushed again (not a key, or the wrong mode). */
  | 'current_unusable'
  /** Not a Stripe secret key (`^sk_(test|live)_[A-Za-z0-9]+$`). */
  | 'malformed'
  /** Not of the deployment's mode (KEY_MODE), or not of the mode of the key in service. */
  | 'wrong_mode'
  /** The previous key (AWSPREVIOUS). */
  | 'previous_key'
  /** In service before: rotated in by a finished rotation (the ledger), or held by a version of the secret. */
  | 'already_in_service'
  /** Refused by Stripe (only when the caller asked for the Stripe check). */
  | 'stripe_refused';

/** Never contains the key: safe to log, print or serialise whole. */
export type StagedKeyVerdict =
  | { readonly accepted: true; readonly staged: 'new'; readonly trigger: 'staged' }
  | {
      readonly accepted: true;
      readonly staged: 'nothing' | 'current';
      readonly trigger: Extract<RotationTrigger, 'repropagation'>;
    }
  | {
      readonly accepted: false;
      readonly staged: StagedContent;
      readonly reason: StagedKeyRefusal;
      /** One operator sentence (keys only masked), without the caller's own guidance. */
      readonly message: string;
    };

export interface StagedKeyContext {
  /** The rotated secret (its ledger history is searched; named in messages). */
  readonly secretArn: string;
  /** The staged key secret, named in messages. */
  readonly stagedSecretId: string;
  /**
   * Whether the candidate is the staged key secret's value (rotation, `plan`, `status`) or a key about to be
   * written there (`stage`): only the wording of the messages differs. @default 'staged'
   */
  readonly origin?: 'staged' | 'input';
  /**
   * KEY_MODE. Undefined only where the caller was not told (`status` without --key-mode): the mode of the
   * key in service still applies.
   */
  readonly keyMode: KeyMode | undefined;
  /** WHEN_NOTHING_STAGED. @default the function's own default */
  readonly whenNothingStaged?: WhenNothingStaged;
  /** The rotated secret's AWSCURRENT value; undefined when it holds none. */
  readonly current: string | undefined;
  /** The rotated secret's AWSPREVIOUS value; undefined when there is none. */
  readonly previous: string | undefined;
  /**
   * The propagation ledger. Undefined only where none is configured (`status` without --ledger-table): the
   * "never in service before" rule is then not applied, and the caller must say so.
   */
  readonly ledger: Pick<RotationLedger, 'history'> | undefined;
  /**
   * The rotated secret's versions, deprecated ones included: a key held by one of them was in service,
   * whatever the ledger recorded (a rotation before the ledger, a manual change). Undefined: not searched.
   */
  readonly versions?: Pick<RotatedSecretStore, 'findVersion'> | undefined;
  /**
   * Asks Stripe about a new key (read-only), after every other rule passed. Its KeyRejectedError is a
   * refusal; any other error (Stripe unreachable) is thrown: no verdict can be given.
   */
  readonly keyChecker?: KeyChecker;
}

/**
 * The verdict on `candidate` (the staged value, trimmed: a pasted newline is not part of the key). Nothing
 * new staged (blank, `none`, or the current key) means pushing the current key again, if WHEN_NOTHING_STAGED
 * allows it and the current key is usable; a new key must be well-formed, of the deployment's mode and of
 * the key in service's mode, not the previous key, never in service before, and accepted by Stripe when asked.
 */
export async function stagedKeyVerdict(
  candidate: string,
  context: StagedKeyContext,
): Promise<StagedKeyVerdict> {
  const { stagedSecretId, secretArn, keyMode, current, previous } = context;

  if (NOTHING_STAGED.test(candidate) || candidate === current) {
    const staged = NOTHING_STAGED.test(candidate) ? 'nothing' : 'current';
    const held = candidate.trim();
    const why =
      staged === 'current'
        ? 'it holds the current key'
        : held === ''
          ? 'it is empty'
          : `it holds ${held}: nothing staged`;
    const policy = context.whenNothingStaged ?? SETTINGS.whenNothingStaged.default;
    if (policy === 'fail') {
      return refused(
        staged,
        'nothing_staged',
        `Nothing new is staged in ${stagedSecretId} (${why}) and ${SETTINGS.whenNothingStaged.variable}=fail.`,
      );
    }
    const problem = current === undefined ? 'is missing' : problemOf(current, keyMode);
    if (problem !== undefined) {
      return refused(
        staged,
        'current_unusable',
        `Nothing new is staged in ${stagedSecretId} (${why}), and the current value cannot be re-propagated: it ${problem}.`,
      );
    }
    return { accepted: true, staged, trigger: 'repropagation' };
  }

  const input = context.origin === 'input';
  const subject = input ? 'The key' : `The staged key in ${stagedSecretId}`;
  const described = input ? `The key ${describeKey(candidate)}` : `The staged key ${describeKey(candidate)}`;
  const problem = problemOf(candidate, keyMode);
  if (problem !== undefined) {
    const candidateMode = keyModeOf(candidate);
    const reason =
      candidateMode !== undefined && keyMode !== undefined && candidateMode !== keyMode
        ? 'wrong_mode'
        : 'malformed';
    return refused('new', reason, `${subject} ${problem}.`);
  }
  // keyProblem found nothing, so the key matched the pattern and has a mode.
  const mode = keyModeOf(candidate) as KeyMode;
  // The deployment's mode is also the mode of the key in service: a rotation never switches modes, whatever
  // KEY_MODE says (a placeholder that is not a key yet has no mode).
  // Stryker disable next-line ConditionalExpression: keyModeOf finds no mode in undefined either
  const currentMode = current === undefined ? undefined : keyModeOf(current);
  if (currentMode !== undefined && currentMode !== mode) {
    return refused(
      'new',
      'wrong_mode',
      `${subject} is a ${mode} key but the key in service (AWSCURRENT of ${secretArn}) is a ${currentMode} key: ` +
        'a rotation never switches between test and live mode.',
    );
  }
  if (candidate === previous) {
    return refused(
      'new',
      'previous_key',
      `${described} is the previous key (AWSPREVIOUS) of ${secretArn}: a rotation must move forward. ` +
        'Roll a new key in the Stripe Dashboard.',
    );
  }
  // AWSPREVIOUS alone is not enough: a re-propagation moves it onto the current key. A key that was
  // already in service (a finished rotation) must not come back, even while Stripe still accepts it.
  if (context.ledger !== undefined) {
    const candidateFingerprint = fingerprint(candidate);
    const earlier = (await context.ledger.history(secretArn, HISTORY_CHECKED)).find(
      (record) => record.outcome === 'finished' && record.keyFingerprint === candidateFingerprint,
    );
    if (earlier) {
      return refused(
        'new',
        'already_in_service',
        `${described} was already in service (rotation ${earlier.token}, finished ` +
          `${earlier.finishedAt ?? earlier.updatedAt}): a rotation must move forward. Roll a new key in the Stripe Dashboard.`,
      );
    }
  }
  if (context.versions !== undefined) {
    const candidateFingerprint = fingerprint(candidate);
    // The current and previous values were compared above; AWSPENDING is the rotation under way.
    const held = await context.versions.findVersion(
      secretArn,
      (value) => fingerprint(value.trim()) === candidateFingerprint,
      { skipStages: [AWSCURRENT, AWSPREVIOUS, AWSPENDING], limit: VERSIONS_CHECKED },
    );
    if (held !== undefined) {
      const created = held.createdDate === undefined ? '' : `, created ${held.createdDate.toISOString()}`;
      return refused(
        'new',
        'already_in_service',
        `${described} was already in service (version ${held.versionId} of ${secretArn}${created}): a rotation ` +
          'must move forward. Roll a new key in the Stripe Dashboard.',
      );
    }
  }
  if (context.keyChecker !== undefined) {
    try {
      await context.keyChecker.check(candidate, mode, current);
    } catch (error) {
      if (!(error instanceof KeyRejectedError)) throw error;
      return refused('new', 'stripe_refused', error.message);
    }
  }
  return { accepted: true, staged: 'new', trigger: 'staged' };
}

/** Format and length, and the deployment's mode when known. */
function problemOf(key: string, keyMode: KeyMode | undefined): string | undefined {
  // Stryker disable next-line StringLiteral: with no mode known the key has none, so fails the pattern first
  return keyProblem(key, keyMode ?? keyModeOf(key) ?? 'test');
}

function refused(staged: StagedContent, reason: StagedKeyRefusal, message: string): StagedKeyVerdict {
  return { accepted: false, staged, reason, message };
}
