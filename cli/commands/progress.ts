/**
 * Progress of a fleet push as results arrive: on a terminal one live line (confirmed / failed / remaining,
 * failures printed above it as they happen); otherwise one plain line per site, for logs and CI. Also what
 * `push` says of each stage before it, as the push use case reports them.
 */
import { describeKey, type PushFleetObserver, SETTINGS, type SiteResult } from '../../core/index.js';
import { count, resultLine } from './format.js';
import type { CliContext, OutputStream } from './frame.js';
import type { PushSettings } from './push-settings.js';

export interface PushProgress {
  report(result: SiteResult): void;
  /** Leaves the output on a fresh line. */
  finish(): void;
}

const BAR_WIDTH = 24;
/** Redraws of the live line are throttled; the final state is always drawn. */
const REDRAW_INTERVAL_MS = 80;

export function pushProgress(out: OutputStream, total: number): PushProgress {
  let confirmed = 0;
  let failed = 0;
  let skipped = 0;
  let done = 0;
  const width = String(total).length;

  if (!out.isTTY) {
    return {
      report(result) {
        done += 1;
        // Sites never contacted come in one burst after a stop; the summary counts them.
        if (result.outcome === 'not_attempted') return;
        out.write(`[${String(done).padStart(width)}/${total}] ${resultLine(result)}\n`);
      },
      finish() {},
    };
  }

  let lastDraw = 0;
  const line = (): string => {
    // Some pseudo-terminals report 0 columns.
    const columns = out.columns !== undefined && out.columns > 0 ? out.columns : 120;
    const counts =
      `${done}/${total}  ${confirmed} confirmed · ${failed} failed · ${total - done} remaining` +
      (skipped > 0 ? ` · ${skipped} not attempted` : '');
    const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] `;
    // The counts matter more than the bar: a narrow terminal drops the bar, then the tail of the counts.
    const text = bar.length + counts.length < columns ? `${bar}${counts}` : counts;
    return text.length < columns ? text : text.slice(0, Math.max(1, columns - 1)).trimEnd();
  };
  const draw = (): void => {
    lastDraw = Date.now();
    out.write(`\r\x1b[2K${line()}`);
  };
  draw();
  return {
    report(result) {
      done += 1;
      if (result.outcome === 'confirmed') confirmed += 1;
      else if (result.outcome === 'not_attempted') skipped += 1;
      else {
        failed += 1;
        out.write(`\r\x1b[2K${resultLine(result)}\n`);
      }
      const failure = result.outcome !== 'confirmed' && result.outcome !== 'not_attempted';
      if (failure || done === total || Date.now() - lastDraw >= REDRAW_INTERVAL_MS) draw();
    },
    finish() {
      draw();
      out.write('\n');
    },
  };
}

/**
 * What `push` says as its use case goes: duplicates and confirmation come from the command, the rest is
 * progress (silent with --quiet; the notes also with --json). `finish` ends the live line, if a push began.
 */
export function pushStages(
  settings: PushSettings,
  cli: CliContext,
): Required<Omit<PushFleetObserver, 'confirm'>> & { finish(): void } {
  let progress: PushProgress | undefined;
  return {
    listed(list) {
      for (const duplicate of list.duplicates) cli.stderr.write(`warning: ignored duplicate: ${duplicate}\n`);
    },
    skippingConfirmed(confirmedEarlier, remaining) {
      if (settings.json) return;
      cli.progress.write(
        `${count(confirmedEarlier, 'site')} confirmed in ${settings.retryFrom}: ` +
          `pushing to the other ${count(remaining, 'site')} only.\n`,
      );
    },
    stripeAccepted(account) {
      cli.progress.write(
        `Stripe accepted ${describeKey(settings.key)} (${settings.keyMode} mode, read-only check; ` +
          (account === undefined
            ? `its account was not compared: ${SETTINGS.stripeAccount.variable}=acct_... requires one).\n`
            : `account ${account}).\n`),
      );
    },
    pushing(sites) {
      if (!settings.json) {
        cli.progress.write(`Pushing ${describeKey(settings.key)} to ${count(sites.length, 'site')}...\n`);
      }
      progress = pushProgress(cli.progress, sites.length);
    },
    result: (result) => progress?.report(result),
    finish: () => progress?.finish(),
  };
}
