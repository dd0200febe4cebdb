/** Text shapes the commands share: tables, per-site results, and a logger for `--verbose`. */
import type { RotationLogger, SiteResult } from '../../core/index.js';
import { formatDuration } from '../duration.js';
import type { OutputStream } from './frame.js';

export type Align = 'left' | 'right';

/** A plain-text table: a header row, then one line per row, columns padded to their widest cell. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? cell.length;
        return align[column] === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].map((text) => `${text}\n`).join('');
}

/** One site's result in a `--json` document (push, abort). */
export function siteResultJson(result: SiteResult) {
  return {
    site: result.site,
    outcome: result.outcome,
    httpStatus: result.httpStatus ?? null,
    detail: result.detail ?? null,
    attempts: result.attempts,
    durationMs: result.durationMs,
  };
}

/** What is known of a site contacted whose answer never came (an interrupt's grace period ran out). */
export const UNKNOWN = 'no answer before exiting: the site may or may not hold the key';

/** Such a site in a --json document's results. */
export function unknownSiteJson(site: string) {
  return { site, outcome: 'unknown', httpStatus: null, detail: UNKNOWN, attempts: null, durationMs: null };
}

/** A `--json` document on stdout: one JSON value, indented, then a newline. */
export function writeJson(out: OutputStream, document: unknown): void {
  out.write(`${JSON.stringify(document, null, 2)}\n`);
}

export function count(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

/** One line about one site's final result, for plain progress output and failure lists. */
export function resultLine(result: SiteResult): string {
  const status = result.httpStatus === undefined ? '' : `${result.httpStatus}, `;
  // The engine's detail often says how many attempts already ("answered 503 (3 attempts)"): said once.
  const tried = count(result.attempts, 'attempt');
  const attempts = result.detail?.includes(tried) === true ? '' : `${tried}, `;
  const how = `(${status}${attempts}${formatDuration(result.durationMs, 'measured')})`;
  if (result.outcome === 'confirmed') return `confirmed        ${result.site} ${how}`;
  return `NOT CONFIRMED    ${result.site}: ${result.outcome}${result.detail ? ` — ${result.detail}` : ''} ${how}`;
}

/**
 * The core's structured log as JSON lines on `out` when `enabled` (`--verbose`), else nothing: the commands
 * print what an operator needs themselves. Errors become their name and message (already free of secrets).
 */
export function cliLogger(out: OutputStream, enabled: boolean): RotationLogger {
  const at =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]): void => {
      if (!enabled) return;
      const fields = Object.assign({}, ...attributes) as Record<string, unknown>;
      out.write(`${JSON.stringify({ level, message, ...fields }, errorsAsText)}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function errorsAsText(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}
