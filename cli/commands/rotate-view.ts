/** `rotate`'s text: a rotation that could not start, the live progress line, and how the wait ended. */
import type { RotationSnapshot, RotationStarted, SiteRecord, WaitResult } from '../../core/index.js';
import { type AwsTarget, suggest } from './aws.js';
import { count, table } from './format.js';
import type { OutputStream, StopSignal } from './frame.js';

export function tally(sites: readonly SiteRecord[]) {
  const confirmed = sites.filter((s) => s.status === 'confirmed').length;
  const failed = sites.filter((s) => s.status === 'failed').length;
  return { confirmed, failed, remaining: sites.length - confirmed - failed };
}

function confirmedText(sites: readonly SiteRecord[]): string {
  const { confirmed } = tally(sites);
  return `${confirmed} of ${count(sites.length, 'site')} confirmed`;
}

function progressText(state: RotationSnapshot): string {
  const labels = state.stages?.join(',') || 'no label';
  if (state.outcome === undefined) return `waiting for the rotation function (version ${labels})`;
  const { confirmed, failed, remaining } = tally(state.sites);
  return (
    `${confirmed} confirmed · ${failed} failed · ${remaining} remaining of ${state.sites.length}` +
    ` (ledger: ${state.outcome})`
  );
}

export function liveProgress(out: OutputStream): { show(state: RotationSnapshot): void; finish(): void } {
  let last = '';
  let drawn = false;
  return {
    show(state) {
      const text = progressText(state);
      if (out.isTTY) {
        const columns = out.columns !== undefined && out.columns > 20 ? out.columns : 120;
        out.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
        drawn = true;
      } else if (text !== last) {
        // Plain output: one line per change, for logs and CI.
        out.write(`${text}\n`);
      }
      last = text;
    },
    finish() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}

function failureText(sites: readonly SiteRecord[]): string {
  const unconfirmed = sites.filter((s) => s.status !== 'confirmed');
  if (sites.length === 0) return 'The ledger has no per-site results for this rotation.\n';
  if (unconfirmed.length === 0)
    return `Every site confirmed (${sites.length}); the final step did not run.\n`;
  return (
    `Sites not confirmed (${unconfirmed.length} of ${sites.length}):\n` +
    table(
      ['SITE', 'STATUS', 'DETAIL'],
      unconfirmed.map((s) => [
        s.site,
        s.status === 'failed' ? `failed: ${s.outcome ?? 'unknown'}` : s.status,
        s.detail ?? '',
      ]),
    )
  );
}

/** Why Secrets Manager refuses a new rotation, and the commands to follow or clear the one under way. */
export function notStartedText(
  started: Extract<RotationStarted, { started: false }>,
  target: AwsTarget,
): string {
  return (
    `Not started: version ${started.pendingVersionId} of ${started.arn} is labelled AWSPENDING, so a ` +
    'rotation is under way or stuck, and Secrets Manager refuses a new one. ' +
    `Follow it with '${suggest(target, 'status')}'; if it is stuck, clear it with '${suggest(target, 'abort')}', then rotate again.\n`
  );
}

export function endText(
  ended: WaitResult,
  versionId: string,
  reason: string | undefined,
  signal: StopSignal | undefined,
  withLedger: boolean,
  target: AwsTarget,
): string {
  if (signal !== undefined) {
    return (
      `Interrupted (${signal}): stopped following. The rotation of version ${versionId} goes on in AWS; ` +
      `'${suggest(target, 'status')}' shows where it stands.\n`
    );
  }
  if (ended.outcome === 'finished') {
    return (
      `Rotation finished: AWSCURRENT is now version ${versionId}` +
      (withLedger ? `; ${confirmedText(ended.sites)}` : '') +
      '\n'
    );
  }
  return `Rotation did not finish: ${reason}. AWSCURRENT has not moved.\n${failureText(ended.sites)}`;
}
