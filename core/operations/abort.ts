/**
 * `abort` as a use case: ends a stuck rotation (AWSPENDING on a version other than AWSCURRENT). The sites
 * the ledger says took or may hold the pending key (confirmed, or their answer was lost) get the AWSCURRENT
 * key again — while the old Stripe key is still valid — and only when every one of them confirmed is the
 * AWSPENDING label removed, so a new rotation can start.
 */
import { FUNCTION_TIMEOUT_MAX_MS } from '../contract.js';
import { ConfigurationError } from '../errors.js';
import {
  AWSCURRENT,
  AWSPENDING,
  marksUnfinishedRotation,
  type RotationId,
  type RotationLedger,
  type RotationRecord,
  type SitePusher,
  type SiteResult,
} from '../ports.js';
import { mayHoldRotationKey } from '../push/site-answer.js';
import { describeKey, keyIdentity, masterApiKeyProblem } from '../rules/keys.js';
import { attempt, type ExplainFailure, type SecretAdmin } from './ports.js';
import { accountFor } from './push-fleet.js';

/** A step marked running more recently than this may still be pushing: no invocation runs longer. */
const RUNNING_STEP_WINDOW_MS = FUNCTION_TIMEOUT_MAX_MS;

export interface AbortDeps {
  readonly secrets: SecretAdmin;
  readonly ledger: { readonly table: string; readonly store: RotationLedger };
  /** Pushes the current key again (no canary: these sites already accepted a push in this rotation). */
  readonly pusher: SitePusher;
  readonly explain?: ExplainFailure | undefined;
  readonly onSecretRead?: ((...values: (string | undefined)[]) => void) | undefined;
  readonly now?: () => Date;
}

export interface AbortRequest {
  readonly secretId: string;
  /** The master API key secret (the sites' X-API-Key). */
  readonly masterKeySecretId: string;
}

/** What the stuck rotation is, shown before anything changes. */
export interface StuckRotation {
  readonly secretArn: string;
  readonly pendingVersionId: string;
  /** The ledger's outcome for it; undefined: no record, no site was contacted. */
  readonly ledgerOutcome: RotationRecord['outcome'] | undefined;
  /** The sites that took or may hold the pending key. */
  readonly sites: readonly string[];
}

export interface AbortOptions {
  /** Told what is stuck, before any question or push. */
  readonly onStuck?: (stuck: StuckRotation) => void;
  /** Asked before anything changes; absent: no question. False: nothing changes. */
  readonly confirm?: (stuck: StuckRotation) => Promise<boolean>;
  /** Told the key's identity (masked, fingerprint) as the re-push starts, every site's result, then all. */
  readonly onPushStart?: (describedKey: string, sites: number) => void;
  readonly onResult?: (result: SiteResult) => void;
  readonly onPushEnd?: (results: readonly SiteResult[]) => void;
  /**
   * Once the caller was interrupted, how (e.g. `SIGINT`, for "interrupted by SIGINT"); undefined until
   * then. Interrupted, the label is kept whatever the results.
   */
  readonly interrupted?: () => string | undefined;
  /** A best-effort ledger write failed: `what` says which record, the action goes on. */
  readonly onLedgerWarning?: (what: 'holdings' | 'outcome', error: unknown) => void;
}

export type AbortResult =
  | { readonly outcome: 'no_stuck_rotation'; readonly secretArn: string }
  | {
      readonly outcome: 'step_running';
      readonly secretArn: string;
      readonly pendingVersionId: string;
      readonly step: string;
      readonly startedAt: string;
    }
  | { readonly outcome: 'declined'; readonly secretArn: string; readonly pendingVersionId: string }
  | {
      readonly outcome: 'interrupted' | 'sites_not_confirmed' | 'aborted';
      readonly secretArn: string;
      readonly pendingVersionId: string;
      readonly sites: readonly string[];
      /** One per site re-pushed, but those in `unknown`. */
      readonly results: readonly SiteResult[];
      /** Sites contacted whose answer never came (an interrupt's grace ran out): they may hold either key. */
      readonly unknown: readonly string[];
    };

export async function abortRotation(
  deps: AbortDeps,
  request: AbortRequest,
  options: AbortOptions = {},
): Promise<AbortResult> {
  const { secrets, explain } = deps;
  const ledger = deps.ledger.store;
  const now = deps.now ?? (() => new Date());
  const described = await attempt(explain, `Describing the secret ${request.secretId}`, () =>
    secrets.describe(request.secretId),
  );
  const arn = described.arn;
  const versions = Object.entries(described.versionIdsToStages);
  const pending = versions.find(([, s]) => marksUnfinishedRotation(s));
  const current = versions.find(([, s]) => s.includes(AWSCURRENT));
  if (pending === undefined) return { outcome: 'no_stuck_rotation', secretArn: arn };
  if (current === undefined) throw new ConfigurationError(`${arn} has no AWSCURRENT version`);
  const [pendingVersionId] = pending;
  const id: RotationId = { secretArn: arn, token: pendingVersionId };

  const record = await attempt(explain, `Reading the ledger table ${deps.ledger.table}`, () =>
    ledger.get(id),
  );
  const running = record === undefined ? undefined : recentlyRunning(record, now().getTime());
  if (running !== undefined) return { outcome: 'step_running', secretArn: arn, pendingVersionId, ...running };
  // Not only the confirmed sites: one whose answer was lost (a timeout, the function stopped mid-push)
  // may have stored the key too.
  const took = record === undefined ? [] : (await ledger.sites(id)).filter(mayHoldRotationKey);
  const stuck: StuckRotation = {
    secretArn: arn,
    pendingVersionId,
    ledgerOutcome: record?.outcome,
    sites: took.map((s) => s.site),
  };
  options.onStuck?.(stuck);
  if (options.confirm !== undefined && !(await options.confirm(stuck))) {
    return { outcome: 'declined', secretArn: arn, pendingVersionId };
  }
  const base = { secretArn: arn, pendingVersionId, sites: stuck.sites };
  let results: readonly SiteResult[] = [];
  let unknown: readonly string[] = [];
  if (stuck.sites.length > 0) {
    const key = await repush(deps, request, arn, stuck.sites, options);
    ({ results, unknown } = key);
    await recordRestored(ledger, arn, results, key.value, current[0], now, options);
    if (options.interrupted?.() !== undefined) return { outcome: 'interrupted', ...base, results, unknown };
    if (unknown.length > 0 || results.some((r) => r.outcome !== 'confirmed'))
      return { outcome: 'sites_not_confirmed', ...base, results, unknown };
  }
  await attempt(explain, `Removing AWSPENDING from version ${pendingVersionId} of ${arn}`, () =>
    secrets.removeStage(arn, AWSPENDING, pendingVersionId),
  );
  if (record !== undefined) {
    // Audit only (the label is gone): the rotation's record says how it ended.
    await ledger
      .update(id, { outcome: 'aborted', finishedAt: now().toISOString() })
      .catch((error: unknown) => options.onLedgerWarning?.('outcome', error));
  }
  return { outcome: 'aborted', ...base, results, unknown };
}

function recentlyRunning(
  record: RotationRecord,
  now: number,
): { step: string; startedAt: string } | undefined {
  for (const [step, mark] of Object.entries(record.steps)) {
    // Stryker disable next-line OptionalChaining: the ledgers store no undefined mark; `?.` only satisfies the Partial type
    if (mark?.status === 'running' && now - Date.parse(mark.startedAt) < RUNNING_STEP_WINDOW_MS) {
      return { step, startedAt: mark.startedAt };
    }
  }
  return undefined;
}

/**
 * Pushes AWSCURRENT to `sites`: the key pushed, and every site accounted for once — its result, a
 * `not_attempted` one when an interrupt came before it was contacted, or `unknown` when it was contacted
 * and its answer never came.
 */
async function repush(
  { secrets, explain, pusher, onSecretRead }: AbortDeps,
  request: AbortRequest,
  arn: string,
  sites: readonly string[],
  options: AbortOptions,
): Promise<{ value: string; results: readonly SiteResult[]; unknown: readonly string[] }> {
  const { masterKeySecretId } = request;
  const key = await attempt(explain, `Reading the AWSCURRENT value of ${arn}`, () =>
    // Stryker disable next-line ObjectLiteral: GetSecretValue with no stage reads AWSCURRENT
    secrets.getValue(arn, { stage: AWSCURRENT }),
  );
  const master = await attempt(explain, `Reading the master API key secret ${masterKeySecretId}`, () =>
    secrets.readCurrent(masterKeySecretId),
  );
  onSecretRead?.(key, master);
  if (key === undefined) throw new ConfigurationError(`The AWSCURRENT version of ${arn} holds no value`);
  if (master === undefined) {
    throw new ConfigurationError(`The master API key in ${masterKeySecretId} holds no value`);
  }
  const problem = masterApiKeyProblem(master);
  if (problem !== undefined)
    throw new ConfigurationError(`The master API key in ${masterKeySecretId} ${problem}`);
  options.onPushStart?.(describeKey(key), sites.length);
  const contacted = new Set<string>();
  const report = await pusher.push({
    sites,
    key,
    masterApiKey: master,
    remainingTimeMs: () => (options.interrupted?.() === undefined ? Number.POSITIVE_INFINITY : 0),
    onStart: (site) => contacted.add(site),
    ...(options.onResult === undefined ? {} : { onResult: options.onResult }),
  });
  const received = new Map(report.results.map((result) => [result.site, result]));
  const { results, unknown } = accountFor(sites, { results: received, contacted }, options.interrupted?.());
  options.onPushEnd?.(results);
  return { value: key, results, unknown };
}

/**
 * Records in the ledger that the re-pushed sites hold the AWSCURRENT key again (otherwise `status` keeps
 * showing them holding the pending one). Their results in the stuck rotation are kept as they were. Best
 * effort: the sites already hold the key, a ledger outage must not keep the rotation stuck.
 */
async function recordRestored(
  ledger: RotationLedger,
  secretArn: string,
  results: readonly SiteResult[],
  key: string,
  currentId: string,
  now: () => Date,
  options: AbortOptions,
): Promise<void> {
  const confirmedAt = now().toISOString();
  const holdings = results
    .filter((result) => result.outcome === 'confirmed')
    .map((result) => ({ site: result.site, ...keyIdentity(key), versionId: currentId, confirmedAt }));
  try {
    await ledger.recordHoldings(secretArn, holdings);
  } catch (error) {
    options.onLedgerWarning?.('holdings', error);
  }
}
