/**
 * What `push` prints: the dry-run plan, and the result (per-site table, summary, `--json` document), also
 * after an interrupt, when it covers exactly the answers received before exiting.
 */
import {
  describeKey,
  endpointUrl,
  keyJson,
  PUSH_STOP_EXPLANATIONS,
  type PushFleetOutcome,
  type PushFleetResult,
  type SiteList,
  type SiteResult,
} from '../../core/index.js';
import { formatDuration } from '../duration.js';
import { count, siteResultJson, table, UNKNOWN, unknownSiteJson, writeJson } from './format.js';
import {
  type CliContext,
  EXIT_INTERRUPTED,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  PROGRAM,
  type StopSignal,
} from './frame.js';
import { ATTEMPTS, type PushSettings } from './push-settings.js';

/** Larger fleets list only the sites that did not confirm (the JSON output has them all). */
const MAX_TABLE_ROWS = 50;

/** Reaching a report means the check passed: a refusal stops the push before. */
const stripeCheckJson = (settings: PushSettings): 'passed' | 'skipped' =>
  settings.stripeCheck === undefined ? 'skipped' : 'passed';

/** What the push use case answered, printed; the exit code. `interrupted`: the signal that stopped it. */
export function printResult(
  settings: PushSettings,
  result: PushFleetResult,
  interrupted: StopSignal | undefined,
  cli: CliContext,
  save: SaveResult,
): number {
  switch (result.kind) {
    case 'planned':
      printPlan(settings, result.list, cli);
      return EXIT_OK;
    case 'declined':
      cli.stderr.write('Nothing was pushed.\n');
      return EXIT_NOT_CONFIRMED;
    case 'pushed':
      return printReport(settings, result, interrupted, cli, save);
  }
}

function printPlan(settings: PushSettings, list: SiteList, cli: CliContext): void {
  const endpoints = list.sites.map((site) => endpointUrl(site) ?? site);
  if (settings.json) {
    writeJson(cli.stdout, {
      dryRun: true,
      key: keyJson(settings.key),
      stripeCheck: stripeCheckJson(settings),
      sitesFile: settings.sitesFile,
      sites: list.sites.length,
      endpoints,
      duplicates: list.duplicates,
      concurrency: settings.concurrency,
      canary: settings.canary,
      timeoutMs: settings.timeoutMs,
      attempts: ATTEMPTS,
    });
    return;
  }
  const canaries = Math.min(settings.canary, list.sites.length);
  cli.stdout.write(
    'Dry run: nothing was sent to any site.\n' +
      `Key:        ${describeKey(settings.key)}, ${settings.keyMode} mode, from ${settings.keyFrom}\n` +
      `Master key: from ${settings.masterKeyFrom} (${settings.masterKey.length} characters)\n` +
      `Sites:      ${list.sites.length} from ${settings.sitesFile}` +
      (list.duplicates.length > 0 ? ` (${count(list.duplicates.length, 'duplicate')} ignored)` : '') +
      '\n' +
      `Plan:       ${canaries > 0 ? `${count(canaries, 'canary site')} first, then ` : ''}up to ${settings.concurrency} ` +
      `at a time; ${formatDuration(settings.timeoutMs)} per attempt, up to ${ATTEMPTS} attempts for transient failures\n` +
      `Would PUT {"value": <the key>} with X-API-Key to:\n${endpoints.map((url) => `  ${url}\n`).join('')}` +
      'Run again without --dry-run to push.\n',
  );
}

/** A table row: a site's result, or a site contacted whose answer never arrived. */
type Row = Omit<SiteResult, 'outcome'> & { readonly outcome: SiteResult['outcome'] | 'unknown' };

/** Writes the result document to a file and returns its path; throws when it cannot. */
export type SaveResult = (document: unknown) => string;

/** The push's outcome as one document: what --json prints and the result file holds (no key, masked only). */
function resultDocument(
  settings: PushSettings,
  outcome: PushFleetOutcome,
  interrupted: StopSignal | undefined,
) {
  const { results, unknown, confirmedEarlier } = outcome;
  const confirmedNow = results.filter((r) => r.outcome === 'confirmed').length;
  const notAttempted = results.filter((r) => r.outcome === 'not_attempted').length;
  const summary = {
    // Every site counted once: sites = confirmed + failed + notAttempted + unknown.
    sites: results.length + unknown.length + confirmedEarlier.length,
    confirmed: confirmedNow + confirmedEarlier.length,
    failed: results.length - confirmedNow - notAttempted,
    notAttempted,
    unknown: unknown.length,
  };
  return {
    ok: summary.confirmed === summary.sites,
    interrupted: interrupted ?? null,
    key: keyJson(settings.key),
    stripeCheck: stripeCheckJson(settings),
    sitesFile: settings.sitesFile,
    summary,
    ...(outcome.stoppedBecause === undefined || interrupted !== undefined
      ? {}
      : { stoppedBecause: outcome.stoppedBecause }),
    durationMs: Math.round(outcome.elapsedMs),
    results: [
      ...confirmedEarlier.map((site) => ({
        site,
        outcome: 'confirmed',
        httpStatus: null,
        detail: `confirmed earlier (${settings.retryFrom ?? ''})`,
        attempts: 0,
        durationMs: 0,
      })),
      ...results.map(siteResultJson),
      ...unknown.map(unknownSiteJson),
    ],
  };
}

function printReport(
  settings: PushSettings,
  outcome: PushFleetOutcome,
  interrupted: StopSignal | undefined,
  cli: CliContext,
  save: SaveResult,
): number {
  const document = resultDocument(settings, outcome, interrupted);
  const { ok, summary } = document;
  const code = interrupted !== undefined ? EXIT_INTERRUPTED[interrupted] : ok ? EXIT_OK : EXIT_NOT_CONFIRMED;
  // The advice to retry names a file: one is written whenever it is given (or asked for with --result-file).
  const wanted = settings.resultFile !== undefined || (!settings.json && (!ok || interrupted !== undefined));
  let saved: string | undefined;
  if (wanted) {
    try {
      saved = save(document);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).name;
      cli.stderr.write(
        `warning: could not write the result file (${reason}); --json prints the same document\n`,
      );
    }
  }
  if (settings.json) {
    writeJson(cli.stdout, document);
    return code;
  }

  const shown: Row[] = [
    ...outcome.results,
    ...outcome.unknown.map((site) => ({
      site,
      outcome: 'unknown' as const,
      detail: UNKNOWN,
      attempts: 0,
      durationMs: 0,
    })),
  ];
  // A large fleet lists only the sites that did not confirm; sites never contacted get one line, not a row each.
  const listed = (
    shown.length <= MAX_TABLE_ROWS ? shown : shown.filter((r) => r.outcome !== 'confirmed')
  ).filter((r) => r.outcome !== 'not_attempted');
  if (listed.length > 0 && shown.length > MAX_TABLE_ROWS) {
    cli.stdout.write(`Sites that did not confirm (${listed.length} of ${shown.length}):\n`);
  }
  if (listed.length > 0) {
    cli.stdout.write(
      table(
        ['SITE', 'RESULT', 'HTTP', 'ATTEMPTS', 'LATENCY', 'DETAIL'],
        listed.map((r) => [
          r.site,
          r.outcome,
          r.httpStatus === undefined ? '-' : String(r.httpStatus),
          r.outcome === 'unknown' ? '-' : String(r.attempts),
          r.attempts === 0 ? '-' : formatDuration(r.durationMs, 'measured'),
          r.outcome === 'confirmed' ? '' : (r.detail ?? ''),
        ]),
        ['left', 'left', 'right', 'right', 'right', 'left'],
      ),
    );
  }
  const { notAttempted, unknown } = summary;
  const earlier = outcome.confirmedEarlier.length;
  if (notAttempted > 0) cli.stdout.write(`${count(notAttempted, 'site')} not attempted (not contacted).\n`);
  cli.stdout.write(
    `\n${describeKey(settings.key)} → ${count(summary.sites, 'site')} in ${formatDuration(outcome.elapsedMs, 'measured')}: ` +
      `${summary.confirmed} confirmed${earlier > 0 ? ` (${earlier} earlier)` : ''}, ` +
      `${summary.failed} failed, ${notAttempted} not attempted${unknown > 0 ? `, ${unknown} unknown` : ''}.\n`,
  );
  if (saved !== undefined) cli.stdout.write(`Result saved to ${saved} (the --json document, no key).\n`);
  const retry =
    saved === undefined
      ? `save this push's --json output and run: ${PROGRAM} push --sites-file ${settings.sitesFile} --retry-from RESULT.json`
      : `run: ${PROGRAM} push --sites-file ${settings.sitesFile} --retry-from ${saved}`;
  if (interrupted !== undefined) {
    cli.stdout.write(
      `Interrupted (${interrupted}): no site was contacted after the signal; the sites listed confirmed hold the key. ` +
        `To push to the others, ${retry}\n`,
    );
    return code;
  }
  if (outcome.stoppedBecause !== undefined) {
    // The core's explanation, plus what this command's operator can change about it.
    const hint =
      outcome.stoppedBecause === 'canary_failed' ? ' (--canary 0 contacts every site regardless.)' : '';
    cli.stdout.write(`${PUSH_STOP_EXPLANATIONS[outcome.stoppedBecause]}${hint}\n`);
  }
  cli.stdout.write(
    ok
      ? 'Every site confirmed the key.\n'
      : 'Not every site confirmed: fix the sites above and run the same push again ' +
          `(sites that already hold the key just confirm it again), or to push only to the others, ${retry}\n`,
  );
  return code;
}
