/** `status`'s text: the secret, its versions, the staged key's verdict and the ledger's last rotation. */
import {
  AWSCURRENT,
  describeMaskedKey,
  type KeyJson,
  SETTINGS,
  type StagedView,
  type Status,
} from '../../core/index.js';
import { count, table } from './format.js';
import { auditTrail, siteTable } from './ledger-view.js';

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

export function render(status: Status): string {
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
