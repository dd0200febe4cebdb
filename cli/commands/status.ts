/**
 * `status`: where the rotated secret stands — versions and labels (keys masked), what is staged, the
 * rotation schedule, a rotation in progress — and, from the propagation ledger, the last rotation's outcome,
 * its per-site table and what each site holds. Read-only; exits 0 whatever it finds (it is information).
 */
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  ListSecretVersionIdsCommand,
} from '@aws-sdk/client-secrets-manager';
import { SecretsManagerStore } from '../../adapters/aws/secrets-manager.js';
import {
  AWSCURRENT,
  AWSPREVIOUS,
  describeMaskedKey,
  type FleetSiteRecord,
  type KeyJson,
  type KeyMode,
  keyJson,
  marksUnfinishedRotation,
  type RotationRecord,
  SETTINGS,
  type SiteRecord,
  type StagedKeyVerdict,
  stagedKeyVerdict,
} from '../../core/index.js';
import {
  AWS_OPTIONS,
  awsClients,
  awsOptionsHelp,
  awsTarget,
  reading,
  setting,
  withStackOutputs,
} from './aws.js';
import { count, table, writeJson } from './format.js';
import { type CliContext, type Command, EXIT_OK, PROGRAM, parseOptions, UsageError } from './frame.js';
import { auditTrail, siteTable } from './ledger-view.js';

const OPTIONS = {
  ...AWS_OPTIONS,
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: ${PROGRAM} status (--stack <name> | --secret-id <id>) [options]

Shows where the rotated Stripe key stands, reading only: its versions and labels (keys masked as
sk_live_…abcd with a fingerprint), whether a different key is staged, the rotation schedule, the last and
next rotation, a rotation still in progress, and from the propagation ledger the last rotation's outcome,
each site's result in it and the key each site holds.

${awsOptionsHelp(['staged-secret-id', 'ledger-table', 'key-mode'])}
Without --staged-secret-id the staged key is not shown; without --ledger-table the ledger part is not
shown. A staged key is judged by the rotation's own rules (format, the mode of the key in service, not
the previous key, never in service before according to the ledger); --key-mode adds the deployment's mode.

Options:
  --json       print everything as JSON on stdout
  -h, --help   show this help

Exit codes:
  0  status shown (whatever it says)
  1  AWS could not be reached
  2  usage or configuration error (missing --secret-id, unknown secret or table, no credentials)

Example:
  ${PROGRAM} status --secret-id stripe-key-rotator-live/stripe-secret-key \\
    --staged-secret-id stripe-key-rotator-live/staged-stripe-secret-key \\
    --ledger-table "$LEDGER_TABLE" --region eu-west-3
`;

export const statusCommand: Command = {
  name: 'status',
  help: HELP,
  run,
};

interface VersionView {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly createdDate: string | null;
  /** null for a version without a value (the placeholder RotateSecret creates). */
  readonly key: KeyJson | null;
}

/** What is staged, and whether a rotation would take it: the rotation core's own verdict. */
type StagedView =
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
      /** False without --ledger-table: the "never in service before" rule could not be applied. */
      readonly ledgerChecked: boolean;
    };

interface LedgerView {
  readonly table: string;
  readonly lastRotation: RotationRecord | null;
  readonly sites: readonly SiteRecord[];
  readonly fleet: readonly FleetSiteRecord[];
}

interface Status {
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

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  const values = await withStackOutputs(parseOptions(argv, OPTIONS));
  const target = awsTarget(values);
  const stagedId = setting(values, cli.env, 'staged-secret-id');
  const ledgerTable = setting(values, cli.env, 'ledger-table');
  const keyModeRaw = setting(values, cli.env, 'key-mode');
  if (keyModeRaw !== undefined && keyModeRaw !== 'live' && keyModeRaw !== 'test') {
    throw new UsageError(`--key-mode must be live or test, not "${keyModeRaw}"`);
  }
  const clients = awsClients(target);
  try {
    const status = await gather(clients, target.secretId, stagedId, ledgerTable, keyModeRaw, cli);
    if (values.json === true) writeJson(cli.stdout, status);
    else cli.stdout.write(render(status));
    return EXIT_OK;
  } finally {
    clients.destroy();
  }
}

async function gather(
  clients: ReturnType<typeof awsClients>,
  secretId: string,
  stagedId: string | undefined,
  ledgerTable: string | undefined,
  keyMode: KeyMode | undefined,
  cli: CliContext,
): Promise<Status> {
  const store = new SecretsManagerStore(clients.secretsManager);
  const described: DescribeSecretCommandOutput = await reading(`Describing the secret ${secretId}`, () =>
    clients.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId })),
  );
  const arn = described.ARN ?? secretId;
  const listed = await reading(`Listing the versions of ${arn}`, () =>
    clients.secretsManager.send(new ListSecretVersionIdsCommand({ SecretId: arn })),
  );
  const created = new Map((listed.Versions ?? []).map((v) => [v.VersionId ?? '', v.CreatedDate]));

  const values = new Map<string, string | undefined>();
  const versions: VersionView[] = [];
  for (const [versionId, stages] of Object.entries(described.VersionIdsToStages ?? {})) {
    const [stage] = stages;
    const value =
      stage === undefined
        ? undefined
        : await reading(`Reading version ${versionId} of ${arn}`, () =>
            store.getValue(arn, { stage, versionId }),
          );
    cli.hide(value);
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
  const rules = described.RotationRules;
  const ledger =
    ledgerTable === undefined ? undefined : { table: ledgerTable, store: clients.ledger(ledgerTable) };
  return {
    secret: {
      arn,
      name: described.Name ?? null,
      rotationEnabled: described.RotationEnabled === true,
      rotationLambdaArn: described.RotationLambdaARN ?? null,
      rotationRules:
        rules === undefined
          ? null
          : {
              automaticallyAfterDays: rules.AutomaticallyAfterDays ?? null,
              scheduleExpression: rules.ScheduleExpression ?? null,
              duration: rules.Duration ?? null,
            },
      lastRotatedDate: iso(described.LastRotatedDate),
      nextRotationDate: iso(described.NextRotationDate),
    },
    versions,
    rotationInProgress:
      pending === undefined ? null : { versionId: pending.versionId, since: pending.createdDate },
    staged:
      stagedId === undefined
        ? { state: 'not_shown' }
        : await stagedView(
            store,
            stagedId,
            {
              secretArn: arn,
              stagedSecretId: stagedId,
              keyMode,
              current: values.get(AWSCURRENT),
              previous: values.get(AWSPREVIOUS),
              ledger: ledger?.store,
            },
            cli,
          ),
    ledger:
      ledger === undefined
        ? null
        : await reading(`Reading the ledger table ${ledger.table}`, () =>
            ledgerView(ledger.store, ledger.table, arn),
          ),
  };
}

async function stagedView(
  store: SecretsManagerStore,
  stagedId: string,
  context: Parameters<typeof stagedKeyVerdict>[1],
  cli: CliContext,
): Promise<StagedView> {
  const staged =
    (await reading(`Reading the staged key secret ${stagedId}`, () => store.readCurrent(stagedId)))?.trim() ??
    '';
  cli.hide(staged);
  const verdict = await reading('Checking the staged key against the ledger', () =>
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

async function ledgerView(
  ledger: ReturnType<ReturnType<typeof awsClients>['ledger']>,
  tableName: string,
  arn: string,
): Promise<LedgerView> {
  const [lastRotation] = await ledger.history(arn, 1);
  const [sites, fleet] = await Promise.all([
    lastRotation === undefined ? [] : ledger.sites(lastRotation),
    ledger.fleet(arn),
  ]);
  return { table: tableName, lastRotation: lastRotation ?? null, sites, fleet };
}

function shownKey(key: KeyJson | null): string {
  return key === null ? '(no value yet)' : describeMaskedKey(key.masked, key.fingerprint);
}

function schedule(status: Status): string {
  const rules = status.secret.rotationRules;
  if (rules === null) return 'none';
  const every =
    rules.scheduleExpression ??
    (rules.automaticallyAfterDays === null
      ? 'unknown'
      : `every ${count(rules.automaticallyAfterDays, 'day')}`);
  return rules.duration === null ? every : `${every}, window ${rules.duration}`;
}

function render(status: Status): string {
  const { secret } = status;
  const current = status.versions.find((v) => v.stages.includes(AWSCURRENT));
  const lines = [
    `Secret        ${secret.name ?? secret.arn}`,
    `ARN           ${secret.arn}`,
    `Rotation      ${secret.rotationEnabled ? 'enabled' : 'NOT enabled'}` +
      (secret.rotationLambdaArn === null ? '' : `, function ${secret.rotationLambdaArn}`),
    `Schedule      ${schedule(status)}`,
    `Last rotated  ${secret.lastRotatedDate ?? 'never'}`,
    `Next rotation ${secret.nextRotationDate ?? 'not scheduled'}`,
    `In service    ${current === undefined ? 'no AWSCURRENT version' : shownKey(current.key)}`,
    status.rotationInProgress === null
      ? 'In progress   no rotation in progress'
      : `In progress   rotation in progress since ${status.rotationInProgress.since ?? 'an unknown time'} ` +
        `(version ${status.rotationInProgress.versionId} labelled AWSPENDING); a new rotation is refused until ` +
        'it finishes or is cleared',
    `Staged        ${stagedLine(status.staged)}`,
  ];
  const versions = table(
    ['VERSION', 'LABELS', 'CREATED', 'KEY'],
    status.versions.map((v) => [
      v.versionId,
      v.stages.join(',') || '-',
      v.createdDate ?? '-',
      shownKey(v.key),
    ]),
  );
  return `${lines.join('\n')}\n\nVersions:\n${indent(versions)}${ledgerText(status, current?.key ?? null)}`;
}

/** What is staged, then one verdict: a rotation would take it, or would refuse it and why. */
function stagedLine(staged: StagedView): string {
  if (staged.state === 'not_shown')
    return `not shown (pass --staged-secret-id or set ${SETTINGS.stagedSecretId.variable})`;
  const { verdict } = staged;
  const what =
    staged.state === 'nothing_staged'
      ? `nothing staged in ${staged.secretId}`
      : `${shownKey(staged.key)} in ${staged.secretId}: ` +
        (staged.state === 'same_as_current' ? 'same as current (nothing new staged)' : 'a different key');
  if (!verdict.accepted) return `${what}, but a rotation would refuse it:\n              ${verdict.message}`;
  if (staged.state === 'nothing_staged') return `${what} (a rotation would re-propagate the current key)`;
  if (staged.state === 'same_as_current') return what;
  return (
    `${what}, the next rotation would rotate to it` +
    (staged.ledgerChecked ? '' : ' (not checked against the ledger: pass --ledger-table)')
  );
}

function ledgerText(status: Status, current: KeyJson | null): string {
  const ledger = status.ledger;
  if (ledger === null)
    return `\nLedger: not shown (pass --ledger-table or set ${SETTINGS.ledgerTable.variable})\n`;
  if (ledger.lastRotation === null) return `\nLedger ${ledger.table}: no rotation recorded for this secret\n`;
  const record = ledger.lastRotation;
  const notes = new Map<string, string>();
  if (current !== null) {
    for (const holding of ledger.fleet) {
      if (holding.keyFingerprint !== current.fingerprint)
        notes.set(holding.site, 'holds a key other than AWSCURRENT');
    }
  }
  const inSnapshot = new Set(ledger.sites.map((site) => site.site));
  const outside = ledger.fleet.filter((holding) => !inSnapshot.has(holding.site));
  const outsideText =
    outside.length === 0
      ? ''
      : `\nSites outside the last rotation's list that still hold a key (${outside.length}):\n` +
        indent(
          table(
            ['SITE', 'KEY HELD (LEDGER)', 'CONFIRMED'],
            outside.map((h) => [h.site, describeMaskedKey(h.maskedKey, h.keyFingerprint), h.confirmedAt]),
          ),
        );
  return (
    `\nLast rotation (ledger ${ledger.table}): ${record.outcome}\n${auditTrail(record)}` +
    `\nSites in the last rotation (${ledger.sites.length}):\n${indent(siteTable(ledger.sites, ledger.fleet, notes))}` +
    outsideText
  );
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `  ${line}`))
    .join('\n');
}
