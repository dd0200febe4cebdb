/**
 * `status` as a use case: where the rotated secret stands — versions and labels (keys only as masked
 * identities), what is staged and whether a rotation would take it, the schedule, a rotation in progress —
 * and from the propagation ledger the last rotation and what each site holds. Reads only.
 */
import type { FleetSiteRecord, RotationLedger, RotationRecord, SiteRecord } from '../ports.js';
import { AWSCURRENT, AWSPREVIOUS, marksUnfinishedRotation } from '../ports.js';
import { type KeyJson, type KeyMode, keyJson } from '../rules/keys.js';
import { type StagedKeyVerdict, stagedKeyVerdict } from '../rules/staged-key.js';
import { attempt, type ExplainFailure, type SecretAdmin } from './ports.js';

export interface StatusDeps {
  readonly secrets: SecretAdmin;
  /** The ledger table's adapter, when one was named. */
  readonly ledger?: { readonly table: string; readonly store: RotationLedger } | undefined;
  readonly explain?: ExplainFailure | undefined;
  /** Told every secret value read, so the caller can keep it out of anything it prints. */
  readonly onSecretRead?: ((...values: (string | undefined)[]) => void) | undefined;
}

export interface StatusRequest {
  readonly secretId: string;
  /** The staged key secret; without it the staged key is not shown. */
  readonly stagedSecretId?: string | undefined;
  readonly keyMode?: KeyMode | undefined;
}

export interface VersionView {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly createdDate: string | null;
  /** null for a version without a value (the placeholder RotateSecret creates). */
  readonly key: KeyJson | null;
}

/** What is staged, and whether a rotation would take it: the rotation core's own verdict. */
export type StagedView =
  | { readonly state: 'not_shown' }
  | { readonly state: 'nothing_staged'; readonly secretId: string; readonly verdict: StagedKeyVerdict }
  | {
      readonly state: 'same_as_current';
      readonly secretId: string;
      readonly key: KeyJson;
      readonly verdict: StagedKeyVerdict;
    }
  | {
      readonly state: 'different';
      readonly secretId: string;
      readonly key: KeyJson;
      readonly verdict: StagedKeyVerdict;
      /** False without a ledger: the "never in service before" rule could not be applied. */
      readonly ledgerChecked: boolean;
    };

export interface LedgerView {
  readonly table: string;
  readonly lastRotation: RotationRecord | null;
  readonly sites: readonly SiteRecord[];
  readonly fleet: readonly FleetSiteRecord[];
}

export interface Status {
  readonly secret: {
    readonly arn: string;
    readonly name: string | null;
    readonly rotationEnabled: boolean;
    readonly rotationLambdaArn: string | null;
    readonly rotationRules: {
      readonly automaticallyAfterDays: number | null;
      readonly scheduleExpression: string | null;
      readonly duration: string | null;
    } | null;
    readonly lastRotatedDate: string | null;
    readonly nextRotationDate: string | null;
  };
  readonly versions: readonly VersionView[];
  readonly rotationInProgress: { readonly versionId: string; readonly since: string | null } | null;
  readonly staged: StagedView;
  readonly ledger: LedgerView | null;
}

const iso = (date: Date | undefined): string | null => (date === undefined ? null : date.toISOString());

export async function status(deps: StatusDeps, request: StatusRequest): Promise<Status> {
  const { secrets, explain, ledger } = deps;
  const hide = deps.onSecretRead ?? (() => undefined);
  const { secretId, stagedSecretId } = request;
  const described = await attempt(explain, `Describing the secret ${secretId}`, () =>
    secrets.details(secretId),
  );
  const arn = described.arn;
  const created = await attempt(explain, `Listing the versions of ${arn}`, () =>
    secrets.versionCreatedDates(arn),
  );

  const values = new Map<string, string | undefined>();
  const versions: VersionView[] = [];
  for (const [versionId, stages] of Object.entries(described.versionIdsToStages)) {
    const [stage] = stages;
    const value =
      stage === undefined
        ? undefined
        : await attempt(explain, `Reading version ${versionId} of ${arn}`, () =>
            secrets.getValue(arn, { stage, versionId }),
          );
    hide(value);
    for (const label of stages) values.set(label, value);
    versions.push({
      versionId,
      stages,
      createdDate: iso(created.get(versionId)),
      key: value === undefined ? null : keyJson(value),
    });
  }
  // Newest first, as an operator reads a history.
  versions.sort((a, b) => (b.createdDate ?? '').localeCompare(a.createdDate ?? ''));

  const pending = versions.find((v) => marksUnfinishedRotation(v.stages));
  const rules = described.rotationRules;
  return {
    secret: {
      arn,
      name: described.name ?? null,
      rotationEnabled: described.rotationEnabled,
      rotationLambdaArn: described.rotationLambdaArn ?? null,
      rotationRules:
        rules === undefined
          ? null
          : {
              automaticallyAfterDays: rules.automaticallyAfterDays ?? null,
              scheduleExpression: rules.scheduleExpression ?? null,
              duration: rules.duration ?? null,
            },
      lastRotatedDate: iso(described.lastRotatedDate),
      nextRotationDate: iso(described.nextRotationDate),
    },
    versions,
    rotationInProgress:
      pending === undefined ? null : { versionId: pending.versionId, since: pending.createdDate },
    staged:
      stagedSecretId === undefined
        ? { state: 'not_shown' }
        : await stagedView(deps, stagedSecretId, {
            secretArn: arn,
            stagedSecretId,
            keyMode: request.keyMode,
            current: values.get(AWSCURRENT),
            previous: values.get(AWSPREVIOUS),
            ledger: ledger?.store,
            versions: deps.secrets,
          }),
    ledger:
      ledger === undefined
        ? null
        : await attempt(explain, `Reading the ledger table ${ledger.table}`, () =>
            ledgerView(ledger.store, ledger.table, arn),
          ),
  };
}

async function stagedView(
  { secrets, explain, onSecretRead }: StatusDeps,
  stagedId: string,
  context: Parameters<typeof stagedKeyVerdict>[1],
): Promise<StagedView> {
  const staged =
    (
      await attempt(explain, `Reading the staged key secret ${stagedId}`, () => secrets.readCurrent(stagedId))
    )?.trim() ?? '';
  onSecretRead?.(staged);
  const verdict = await attempt(explain, 'Checking the staged key against the ledger', () =>
    stagedKeyVerdict(staged, context),
  );
  switch (verdict.staged) {
    case 'nothing':
      return { state: 'nothing_staged', secretId: stagedId, verdict };
    case 'current':
      return { state: 'same_as_current', secretId: stagedId, key: keyJson(staged), verdict };
    case 'new':
      return {
        state: 'different',
        secretId: stagedId,
        key: keyJson(staged),
        verdict,
        ledgerChecked: context.ledger !== undefined,
      };
  }
}

async function ledgerView(ledger: RotationLedger, table: string, arn: string): Promise<LedgerView> {
  const [lastRotation] = await ledger.history(arn, 1);
  const [sites, fleet] = await Promise.all([
    lastRotation === undefined ? [] : ledger.sites(lastRotation),
    ledger.fleet(arn),
  ]);
  return { table, lastRotation: lastRotation ?? null, sites, fleet };
}
