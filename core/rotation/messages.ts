/** The error texts a failed propagation ends with: one message naming every failing site and why. */
import { PUSH_STOP_EXPLANATIONS, type PushStopReason, type SiteRecord } from '../ports.js';

/** At most this many sites are listed per category in an error message; the logs carry every one. */
const MAX_SITES_IN_MESSAGE = 50;

export function propagationFailureMessage(
  headline: string,
  failed: readonly SiteRecord[],
  unattempted: readonly SiteRecord[],
  stoppedBecause: PushStopReason | undefined,
): string {
  const lines = [headline];
  if (stoppedBecause) lines.push(PUSH_STOP_EXPLANATIONS[stoppedBecause]);
  const list = (title: string, sites: readonly SiteRecord[], describe: (site: SiteRecord) => string) => {
    if (sites.length === 0) return;
    lines.push(`${title} (${sites.length}):`);
    for (const site of sites.slice(0, MAX_SITES_IN_MESSAGE)) lines.push(`  - ${describe(site)}`);
    if (sites.length > MAX_SITES_IN_MESSAGE) {
      lines.push(`  … and ${sites.length - MAX_SITES_IN_MESSAGE} more (see the logs and the ledger)`);
    }
  };
  list('Failed', failed, (s) => `${s.site}: ${s.outcome ?? 'failed'}${s.detail ? ` (${s.detail})` : ''}`);
  list('Not attempted', unattempted, (s) => s.site);
  lines.push(
    'Fix the sites above; Secrets Manager retries the rotation (only unconfirmed sites are contacted again).',
  );
  return lines.join('\n');
}
