/**
 * How the ledger is shown to an operator: the per-site table of one rotation and its audit trail. Shared by
 * `demo` and, against DynamoDB, `status`. The ledger holds no secret, so neither does anything here.
 */

import type { FleetSiteRecord, RotationRecord, SiteRecord, StepMark } from '../../core/index.js';
import { describeMaskedKey, ROTATION_STEPS } from '../../core/index.js';
import { formatDuration } from '../duration.js';
import { count, table } from './format.js';

/**
 * One row per snapshot site: status, attempts across runs, latency of the last run, and the key the site
 * holds as far as the ledger knows (masked + fingerprint). `notes` adds a remark to some sites.
 */
export function siteTable(
  sites: readonly SiteRecord[],
  holdings: readonly FleetSiteRecord[],
  notes: ReadonlyMap<string, string> = new Map(),
): string {
  const held = new Map(holdings.map((holding) => [holding.site, holding]));
  return table(
    ['SITE', 'STATUS', 'ATTEMPTS', 'LATENCY', 'KEY HELD (LEDGER)', 'NOTE'],
    sites.map((site) => {
      const holding = held.get(site.site);
      return [
        site.site,
        site.status === 'failed' ? `failed: ${site.outcome ?? 'unknown'}` : site.status,
        String(site.attempts),
        site.latencyMs === undefined ? '-' : formatDuration(site.latencyMs, 'measured'),
        holding === undefined ? '-' : describeMaskedKey(holding.maskedKey, holding.keyFingerprint),
        notes.get(site.site) ?? '',
      ];
    }),
    ['left', 'left', 'right', 'right', 'left', 'left'],
  );
}

function stepLine(mark: StepMark | undefined): string {
  if (mark === undefined) return 'not recorded';
  const took =
    mark.endedAt === undefined
      ? ''
      : ` (${formatDuration(Date.parse(mark.endedAt) - Date.parse(mark.startedAt), 'measured')})`;
  const error = mark.error === undefined ? '' : `: ${mark.error.split('\n')[0] ?? ''}`;
  return `${mark.status.padEnd(9)} ${mark.startedAt} → ${mark.endedAt ?? '…'}${took}${error}`;
}

/** The rotation record as an operator reads it: what, why, which key, each step's last run, the outcome. */
export function auditTrail(record: RotationRecord): string {
  const width = Math.max(...ROTATION_STEPS.map((step) => step.length));
  const steps = ROTATION_STEPS.map((step) => {
    const mark = record.steps[step];
    const text =
      step === 'testSecret' && mark === undefined
        ? 'read-only: leaves no mark in the ledger (its result is in the logs)'
        : stepLine(mark);
    return `${step.padEnd(width)}  ${text}`;
  });
  const counts =
    record.counts === undefined
      ? 'none yet'
      : `${record.counts.confirmed} confirmed, ${record.counts.failed} failed, ${record.counts.pending} pending`;
  const outcome =
    record.finishedAt === undefined ? record.outcome : `${record.outcome} at ${record.finishedAt}`;
  const trigger =
    record.trigger === 'staged'
      ? 'staged (a new key was staged)'
      : 'repropagation (the current key, pushed again)';
  const lines: [string, string | readonly string[]][] = [
    ['secret', record.secretArn],
    ['version', record.token],
    ['trigger', trigger],
    ['key', describeMaskedKey(record.maskedKey, record.keyFingerprint)],
    ['sites', `${count(record.sites.length, 'site')} snapshotted from ${record.sources.join(', ')}`],
    ['created', record.createdAt],
    ['steps', ['(the last run of each step)', ...steps]],
    ['counts', counts],
    ['outcome', outcome],
  ];
  return lines
    .map(([label, value]) => {
      const [first = '', ...more] = typeof value === 'string' ? [value] : value;
      return [`  ${label.padEnd(9)} ${first}`, ...more.map((line) => `  ${''.padEnd(9)} ${line}`)].join('\n');
    })
    .join('\n')
    .concat('\n');
}
