/**
 * Progress of a fleet push as results arrive: on a terminal one live line (confirmed / failed / remaining,
 * failures printed above it as they happen); otherwise one plain line per site, for logs and CI.
 */
import type { SiteResult } from '../../core/index.js';
import { resultLine } from './format.js';
import type { OutputStream } from './frame.js';

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
