/**
 * The rotation core talks to the world only through these ports. AWS adapters live in `aws/`, the HTTP
 * adapters (fleet pusher, Stripe checker) beside this file; tests inject real or in-memory implementations.
 */
import type { RotationStep } from './rotation/event.js';
import type { KeyMode } from './rules/keys.js';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

/**
 * Whether a version's labels mark an unfinished rotation: AWSPENDING on a version that is not AWSCURRENT.
 * (AWSPENDING left on the current version, by a rotation finished elsewhere, is harmless: docs/aws-behaviour.md.)
 * Secrets Manager then refuses a new one.
 */
export function marksUnfinishedRotation(stages: readonly string[]): boolean {
  return stages.includes(AWSPENDING) && !stages.includes(AWSCURRENT);
}

export interface SecretDescription {
  readonly arn: string;
  readonly rotationEnabled: boolean;
  /** VersionId → staging labels, exactly as DescribeSecret returns it. */
  readonly versionIdsToStages: Readonly<Record<string, readonly string[]>>;
}

/** The rotated secret: the only secret this function writes. */
export interface RotatedSecretStore {
  describe(secretId: string): Promise<SecretDescription>;
  /** Value of a version selected by stage (and optionally id); undefined when that version holds no value. */
  getValue(secretId: string, selector: { stage: string; versionId?: string }): Promise<string | undefined>;
  /** PutSecretValue with the event's token as ClientRequestToken and the AWSPENDING label. */
  putPending(secretId: string, token: string, value: string, rotationToken?: string): Promise<void>;
  /** Moves AWSCURRENT to `token`, removing it from `fromVersionId` (AWS moves AWSPREVIOUS itself). */
  promote(secretId: string, token: string, fromVersionId: string): Promise<void>;
  /** Removes AWSPENDING from version `token` (UpdateSecretVersionStage with RemoveFromVersionId only). */
  clearPending(secretId: string, token: string): Promise<void>;
  /**
   * The newest version whose value `matches`, deprecated versions included (ListSecretVersionIds with
   * IncludeDeprecated), skipping versions labelled with one of `skipStages`. Values are read one at a time
   * (GetSecretValue by VersionId) and none is kept; at most `limit` versions are read.
   */
  findVersion(
    secretId: string,
    matches: (value: string) => boolean,
    options: { readonly skipStages: readonly string[]; readonly limit: number },
  ): Promise<FoundVersion | undefined>;
}

/** A version found by `findVersion`: no value, only where it is. */
export interface FoundVersion {
  readonly versionId: string;
  readonly createdDate: Date | undefined;
}

/**
 * The staged key secret, written once per rotation: after AWSCURRENT moved, it is reset to the
 * nothing-staged value so that the key in service lives in the rotated secret only.
 */
export interface StagedKeyWriter {
  /** PutSecretValue without a stage: `value` becomes the secret's AWSCURRENT version. */
  writeStaged(secretId: string, value: string): Promise<void>;
}

/**
 * The one Secrets Manager store the rotation is given: the rotated secret's versions, the secrets it only
 * reads (staged key, master API key) and the staged key's reset. One object in AWS and in memory alike.
 */
export interface SecretStore extends RotatedSecretStore, SecretReader, StagedKeyWriter {}

/** Where a finished rotation is announced (an SNS topic in the Lambda). Never given a secret value. */
export interface Notifier {
  notify(subject: string, message: string): Promise<void>;
}

/** Reads the AWSCURRENT value of a secret the function only reads (staged key, master API key). */
export interface SecretReader {
  /** undefined when the secret exists but holds no value yet. */
  readCurrent(secretId: string): Promise<string | undefined>;
}

export interface SiteList {
  /** Normalised, de-duplicated https origins (plus optional path), in first-seen order. */
  readonly sites: readonly string[];
  /** Parameter name(s) the list came from, for messages and logs. */
  readonly sources: readonly string[];
  /** Lines that repeated an earlier site after normalisation, e.g. "/sites line 7 repeats line 2"; collapsed. */
  readonly duplicates: readonly string[];
}

export interface SiteListSource {
  /** Throws ConfigurationError naming every invalid line (parameter + line number), or for an empty list. */
  load(): Promise<SiteList>;
}

export interface KeyChecker {
  /**
   * Read-only check of `key` with Stripe: accepted, of `mode`, and (when `referenceKey` is a different
   * usable key) belonging to the same Stripe account — or, when Stripe refuses `referenceKey`, to
   * `knownAccount` (the account on record for it); with neither, the check fails closed. Resolves to the
   * key's account id when it was read. Throws KeyRejectedError, or a plain Error when Stripe cannot be
   * reached (the rotation then fails without touching any site).
   */
  check(
    key: string,
    mode: KeyMode,
    referenceKey?: string,
    knownAccount?: string,
  ): Promise<string | undefined>;
}

/** How a site's answer was classified (docs/architecture.md, "Site answers and what they mean"). */
export const SITE_OUTCOMES = [
  'confirmed',
  'unexpected_body', // 200 with a body other than secret_saved
  'invalid_secret_format', // 400: the key itself is unacceptable — stops the whole push
  'invalid_api_key', // 401: the site's master key differs
  'endpoint_missing', // 404 / 405
  'redirect', // 3xx: never followed
  'http_error', // any other non-retryable status
  'throttled', // 429, retries exhausted
  'server_error', // 5xx, retries exhausted
  'timeout', // no complete answer in SITE_TIMEOUT_MS, retries exhausted
  'connection_error', // refused, reset, DNS..., retries exhausted
  'tls_error', // certificate or handshake problem
  'not_https', // the site is not a plain https URL: nothing is ever sent to it
  'body_too_large', // response exceeded the cap
  'not_attempted', // never contacted: canary failed, key rejected, or deadline reached
] as const;
export type SiteOutcome = (typeof SITE_OUTCOMES)[number];

export interface SiteResult {
  readonly site: string;
  readonly outcome: SiteOutcome;
  /** HTTP status of the last attempt, when one was received. */
  readonly httpStatus?: number;
  /** Short human explanation (no secret), e.g. "answered 401 invalid_api_key". */
  readonly detail?: string;
  readonly attempts: number;
  /** Wall time spent on this site across attempts, including backoff. */
  readonly durationMs: number;
}

export type PushStopReason = 'canary_failed' | 'key_rejected' | 'deadline';

/** Why a push stopped, in words for an operator: the rotation's error and every CLI command say it this way. */
export const PUSH_STOP_EXPLANATIONS: Readonly<Record<PushStopReason, string>> = {
  canary_failed:
    'A canary site did not confirm, so the push stopped before contacting any other unconfirmed site.',
  key_rejected: 'A site rejected the key format (invalid_secret_format), so the push stopped.',
  deadline: 'The invocation was running out of time, so the push stopped launching requests.',
};

export interface PushReport {
  /** One result per requested site, in the order of the request. */
  readonly results: readonly SiteResult[];
  /** Why the push stopped launching requests early, when it did. */
  readonly stoppedBecause?: PushStopReason;
}

export interface PushRequest {
  readonly sites: readonly string[];
  readonly key: string;
  readonly masterApiKey: string;
  /** Milliseconds left before the invocation is killed (Lambda: context.getRemainingTimeInMillis). */
  readonly remainingTimeMs: () => number;
  /** Called once per site as soon as its final result is known (ledger, progress display). */
  readonly onResult?: (result: SiteResult) => void | Promise<void>;
  /** Called as a site's first request is about to be sent: from then on it may hold the key. */
  readonly onStart?: (site: string) => void;
}

export interface SitePusher {
  push(request: PushRequest): Promise<PushReport>;
}

/** Why a rotation was started: a new staged key, or the current key pushed again (drift repair). */
export const ROTATION_TRIGGERS = ['staged', 'repropagation'] as const;
export type RotationTrigger = (typeof ROTATION_TRIGGERS)[number];

/** A site's state within one rotation. `pending` = in the snapshot, no result recorded yet. */
export const SITE_STATUSES = ['pending', 'confirmed', 'failed', 'not_attempted'] as const;
export type SiteStatus = (typeof SITE_STATUSES)[number];

/** `aborted`: the operator's `abort` put the current key back and removed AWSPENDING. */
export const ROTATION_OUTCOMES = ['in_progress', 'failed', 'finished', 'aborted'] as const;
export type RotationOutcome = (typeof ROTATION_OUTCOMES)[number];

export const STEP_STATUSES = ['running', 'completed', 'failed'] as const;

/** What one step did, last time it ran for this rotation. */
export interface StepMark {
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly status: (typeof STEP_STATUSES)[number];
  /** The step's error message (already free of secrets), when it failed. */
  readonly error?: string;
}

/** Identifies a rotation: the rotated secret and the version being rotated to (the event's token). */
export interface RotationId {
  readonly secretArn: string;
  readonly token: string;
}

export interface RotationStart extends RotationId {
  readonly trigger: RotationTrigger;
  /** The key only as `maskKey` shows it, and its fingerprint: the ledger never holds a key. */
  readonly maskedKey: string;
  readonly keyFingerprint: string;
  /** The site-list snapshot every later step of this rotation uses, whatever the parameter says by then. */
  readonly sites: readonly string[];
  readonly sources: readonly string[];
}

export interface RotationRecord extends RotationStart {
  /** ISO-8601 times. */
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly outcome: RotationOutcome;
  readonly steps: Readonly<Partial<Record<RotationStep, StepMark>>>;
  /** Counts over the snapshot as of the last setSecret/finishSecret. */
  readonly counts?: { readonly confirmed: number; readonly failed: number; readonly pending: number };
  readonly finishedAt?: string;
  /** The Stripe account (acct_…) Stripe reported for this rotation's key when it was verified: not a secret. */
  readonly stripeAccount?: string;
}

/** One site within one rotation. */
export interface SiteRecord {
  readonly site: string;
  readonly status: SiteStatus;
  readonly outcome?: SiteOutcome;
  readonly httpStatus?: number;
  readonly detail?: string;
  /** Attempts across every run of setSecret for this rotation. */
  readonly attempts: number;
  /** Duration of the last run's attempts at this site, in ms. */
  readonly latencyMs?: number;
  readonly confirmedAt?: string;
  readonly updatedAt?: string;
}

/** What a site holds, as far as the ledger knows: the last key it confirmed, in any rotation. */
export interface FleetSiteRecord {
  readonly site: string;
  readonly maskedKey: string;
  readonly keyFingerprint: string;
  /** The version id (rotation token) whose key the site confirmed. */
  readonly versionId: string;
  readonly confirmedAt: string;
}

export type RotationPatch = {
  readonly step?: { readonly name: keyof RotationRecord['steps']; readonly mark: StepMark };
  readonly outcome?: RotationOutcome;
  readonly counts?: RotationRecord['counts'];
  readonly finishedAt?: string;
  readonly stripeAccount?: string;
};

/**
 * The rotation's durable memory (DynamoDB in AWS, in memory for local runs). Never holds a secret value.
 * Every method throws when the store cannot be written or read: a ledger outage fails the step.
 */
export interface RotationLedger {
  /**
   * Records the start of a rotation with its site-list snapshot, atomically. Idempotent per rotation: when
   * a record already exists it is returned unchanged (the first snapshot wins).
   */
  begin(start: RotationStart): Promise<RotationRecord>;
  get(id: RotationId): Promise<RotationRecord | undefined>;
  /**
   * Every snapshot site with its state, in snapshot order (`pending` where nothing is recorded yet).
   * Throws RotationStateError for an unknown rotation: an empty list would read as "all confirmed".
   */
  sites(id: RotationId): Promise<readonly SiteRecord[]>;
  /**
   * Records a site result (and, when it confirmed, what the site now holds). Writes may be buffered and
   * batched; `flush` writes whatever is buffered. A failed write is retried, then thrown.
   */
  saveSite(id: RotationId, record: SiteRecord, holds?: FleetSiteRecord): Promise<void>;
  /**
   * Records what sites now hold when no push of a rotation confirmed it: `abort` putting the AWSCURRENT key
   * back on sites that took the pending one. `fleet` then shows it; every rotation's results stay as they
   * were. Written, with anything buffered, before it resolves.
   */
  recordHoldings(secretArn: string, holdings: readonly FleetSiteRecord[]): Promise<void>;
  flush(): Promise<void>;
  update(id: RotationId, patch: RotationPatch): Promise<void>;
  /** Most recent rotations of a secret first. */
  history(secretArn: string, limit: number): Promise<readonly RotationRecord[]>;
  /** What every site known for this secret last confirmed. */
  fleet(secretArn: string): Promise<readonly FleetSiteRecord[]>;
}

/** What the watchdog reads about the rotated secret (DescribeSecret and its version list). */
export interface RotationState {
  readonly arn: string;
  readonly rotationEnabled: boolean;
  /** When the last rotation succeeded; undefined when it never did. */
  readonly lastRotatedAt?: Date;
  readonly createdAt: Date;
  /** When the version labelled AWSPENDING (and not AWSCURRENT) was created; undefined when there is none. */
  readonly pendingCreatedAt?: Date;
}

export interface RotationStateReader {
  rotationState(secretId: string): Promise<RotationState>;
}
