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
import { count, siteResultJson, table, writeJson } from './format.js';
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
): number {
  switch (result.kind) {
    case 'planned':
      printPlan(settings, result.list, cli);
      return EXIT_OK;
    case 'declined':
      cli.stderr.write('Nothing was pushed.\n');
      return EXIT_NOT_CONFIRMED;
    case 'pushed':
      return printReport(settings, result, interrupted, cli);
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

/** A table row: a site's result, or a site whose answer never arrived. */
type Row = Omit<SiteResult, 'outcome'> & { readonly outcome: SiteResult['outcome'] | 'unanswered' };

function printReport(
  settings: PushSettings,
  outcome: PushFleetOutcome,
  interrupted: StopSignal | undefined,
  cli: CliContext,
): number {
  const { results, unanswered, confirmedEarlier } = outcome;
  const confirmedNow = results.filter((r) => r.outcome === 'confirmed').length;
  const notAttempted = results.filter((r) => r.outcome === 'not_attempted').length;
  const failed = results.length - confirmedNow - notAttempted;
  const sites = results.length + unanswered.length + confirmedEarlier.length;
  const confirmed = confirmedNow + confirmedEarlier.length;
  const ok = confirmed === sites;
  const code = interrupted !== undefined ? EXIT_INTERRUPTED[interrupted] : ok ? EXIT_OK : EXIT_NOT_CONFIRMED;

  if (settings.json) {
    writeJson(cli.stdout, {
      ok,
      interrupted: interrupted ?? null,
      key: keyJson(settings.key),
      stripeCheck: stripeCheckJson(settings),
      sitesFile: settings.sitesFile,
      summary: { sites, confirmed, failed, notAttempted, unanswered: unanswered.length },
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
        ...unanswered.map((site) => ({
          site,
          outcome: 'unanswered',
          httpStatus: null,
          detail: 'no answer before exiting: the site may or may not hold the key',
          attempts: null,
          durationMs: null,
        })),
      ],
    });
    return code;
  }

  const shown: Row[] = [
    ...results,
    ...unanswered.map((site) => ({
      site,
      outcome: 'unanswered' as const,
      detail: 'no answer before exiting: may or may not hold the key',
      attempts: 0,
      durationMs: 0,
    })),
  ];
  const failures = shown.filter((r) => r.outcome !== 'confirmed');
  // A stop leaves many sites never contacted: one line says so instead of one row each.
  const listed = (shown.length <= MAX_TABLE_ROWS ? shown : failures).filter(
    (r) => r.outcome !== 'not_attempted',
  );
  if (listed.length < shown.length - notAttempted) {
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
          r.outcome === 'unanswered' ? '-' : String(r.attempts),
          r.attempts === 0 ? '-' : formatDuration(r.durationMs, 'measured'),
          r.outcome === 'confirmed' ? '' : (r.detail ?? ''),
        ]),
        ['left', 'left', 'right', 'right', 'right', 'left'],
      ),
    );
  }
  if (notAttempted > 0) cli.stdout.write(`${count(notAttempted, 'site')} not attempted (not contacted).\n`);
  cli.stdout.write(
    `\n${describeKey(settings.key)} → ${count(sites, 'site')} in ${formatDuration(outcome.elapsedMs, 'measured')}: ` +
      `${confirmed} confirmed${confirmedEarlier.length > 0 ? ` (${confirmedEarlier.length} earlier)` : ''}, ` +
      `${failed} failed, ${notAttempted} not attempted` +
      `${unanswered.length > 0 ? `, ${unanswered.length} unanswered` : ''}.\n`,
  );
  if (interrupted !== undefined) {
    cli.stdout.write(
      `Interrupted (${interrupted}): no site was contacted after the signal; the sites listed confirmed hold the key. ` +
        `To push to the others, save this push's --json output and run: ${PROGRAM} push --sites-file ` +
        `${settings.sitesFile} --retry-from RESULT.json\n`,
    );
  } else if (outcome.stoppedBecause !== undefined) {
    // The core's explanation, plus what this command's operator can change about it.
    const hint =
      outcome.stoppedBecause === 'canary_failed' ? ' (--canary 0 contacts every site regardless.)' : '';
    cli.stdout.write(`${PUSH_STOP_EXPLANATIONS[outcome.stoppedBecause]}${hint}\n`);
  }
  if (interrupted === undefined) {
    cli.stdout.write(
      ok
        ? 'Every site confirmed the key.\n'
        : 'Not every site confirmed: fix the sites above and run the same push again ' +
            '(sites that already hold the key just confirm it again), or add --retry-from with its --json output.\n',
    );
  }
  return code;
}
