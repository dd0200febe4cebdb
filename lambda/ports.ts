/**
 * The rotation core talks to the world only through these ports. AWS adapters live in `aws/`, the HTTP
 * adapters (fleet pusher, Stripe checker) beside this file; tests inject real or in-memory implementations.
 */
import type { KeyMode } from './keys.js';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

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
   * usable key) belonging to the same Stripe account. Throws KeyRejectedError, or a plain Error when
   * Stripe cannot be reached (the rotation then fails without touching any site).
   */
  check(key: string, mode: KeyMode, referenceKey?: string): Promise<void>;
}

/** How a site's answer was classified (architecture.md, "Site answers and what they mean"). */
export type SiteOutcome =
  | 'confirmed'
  | 'unexpected_body' // 200 with a body other than secret_saved
  | 'invalid_secret_format' // 400: the key itself is unacceptable — stops the whole push
  | 'invalid_api_key' // 401: the site's master key differs
  | 'endpoint_missing' // 404 / 405
  | 'redirect' // 3xx: never followed
  | 'http_error' // any other non-retryable status
  | 'throttled' // 429, retries exhausted
  | 'server_error' // 5xx, retries exhausted
  | 'timeout' // no complete answer in SITE_TIMEOUT_MS, retries exhausted
  | 'connection_error' // refused, reset, DNS..., retries exhausted
  | 'tls_error' // certificate or handshake problem
  | 'body_too_large' // response exceeded the cap
  | 'not_attempted'; // never contacted: canary failed, key rejected, or deadline reached

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
}

export interface SitePusher {
  push(request: PushRequest): Promise<PushReport>;
}
