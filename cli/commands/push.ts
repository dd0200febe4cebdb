/**
 * `push`: a one-off push script (sequential or concurrent), on the rotation's own push
 * engine — same answer table, retries, redirect refusal, size caps and masking — with no AWS at all.
 */
import { range, SETTINGS } from '../../lambda/contract.js';
import { ConfigurationError } from '../../lambda/errors.js';
import { createFleetDispatcher, endpointUrl, SITE_ENDPOINT_PATH } from '../../lambda/fleet-http.js';
import {
  describeKey,
  type KeyMode,
  keyJson,
  keyModeOf,
  keyProblem,
  masterApiKeyProblem,
} from '../../lambda/keys.js';
import { siteListFromFile } from '../../lambda/local/static-site-list.js';
import { PUSH_STOP_EXPLANATIONS, type PushReport, type SiteList } from '../../lambda/ports.js';
import { createFleetPusher } from '../../lambda/push.js';
import { cliLogger, count, duration, table } from './format.js';
import {
  askYes,
  type CliContext,
  type Command,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  PROGRAM,
  parseOptions,
  settingNumber,
  UsageError,
} from './frame.js';
import { pushProgress } from './progress.js';

const OPTIONS = {
  'sites-file': { type: 'string' },
  'secret-key': { type: 'string' },
  'master-key': { type: 'string' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  canary: { type: 'string' },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The function's own defaults and bounds: a push from here behaves like the rotation's push. */
const { pushConcurrency: CONCURRENCY, siteTimeoutMs: TIMEOUT_MS, canarySites: CANARY } = SETTINGS;
/** Tries per site for transient failures (429, 5xx, timeouts, connection errors), as the Lambda's default. */
const ATTEMPTS = SETTINGS.siteAttempts.default;
/** Larger fleets list only the sites that did not confirm (the JSON output has them all). */
const MAX_TABLE_ROWS = 50;
const MAX_SITES_IN_PROMPT = 10;

const HELP = `Usage: ${PROGRAM} push --sites-file <path> [options]

Pushes a Stripe secret key to every site of a sites file (PUT <site>${SITE_ENDPOINT_PATH}
with the X-API-Key header), like a one-off push script, on the rotation's own push
engine. No AWS: nothing is stored but what this command prints. Keys are only ever shown masked.

The key and the master key come from the environment:
  STRIPE_SECRET_KEY          the key to push (sk_test_... or sk_live_...)
  TEMPLATE_MASTER_API_KEY    the sites' master API key, sent as X-API-Key
  --secret-key <key>         instead of STRIPE_SECRET_KEY (discouraged: see below)
  --master-key <key>         instead of TEMPLATE_MASTER_API_KEY (discouraged)
Command-line arguments are visible to every user of this machine (ps, /proc) and stay in your shell
history: prefer the environment variables.

Options:
  --sites-file <path>   required: one https URL per line, blank lines and # comments ignored
  --concurrency <n>     requests in flight at most, ${range(CONCURRENCY)} (default ${CONCURRENCY.default}; 1 = one site after the
                        other, like the sequential script)
  --timeout <ms>        limit for one attempt at one site, ${range(TIMEOUT_MS)} (default ${TIMEOUT_MS.default})
  --canary <n>          push to the first n sites one at a time first and stop everything if one of them
                        fails, ${range(CANARY)} (default ${CANARY.default}; 0 = contact every site whatever happens)
  --dry-run             check the key, the master key and the sites file, show what would be sent,
                        contact nothing
  --force               no confirmation question (required when stdin is not a terminal, e.g. in CI)
  --json                print the result as JSON on stdout (progress still goes to stderr)
  --verbose             also print the push engine's structured log on stderr
  -h, --help            show this help

Transient failures (429, 5xx, timeouts, refused connections) are retried up to ${ATTEMPTS} attempts in all, with
backoff; redirects are refused, never followed.

Exit codes:
  0  every site confirmed (or --dry-run found nothing wrong)
  1  at least one site did not confirm, or the confirmation was declined
  2  usage or configuration error (missing or malformed key, invalid sites file, no terminal to confirm)

Examples:
  export STRIPE_SECRET_KEY=sk_test_...  TEMPLATE_MASTER_API_KEY=...
  ${PROGRAM} push --sites-file sites-test.txt --dry-run
  ${PROGRAM} push --sites-file sites-test.txt --concurrency 10 --force
  ${PROGRAM} push --sites-file sites.txt --json --force > result.json
`;

interface PushSettings {
  readonly sitesFile: string;
  readonly key: string;
  readonly keyMode: KeyMode;
  readonly keyFrom: string;
  readonly masterKey: string;
  readonly masterKeyFrom: string;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly canary: number;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly json: boolean;
  readonly verbose: boolean;
}

export const pushCommand: Command = {
  name: 'push',
  summary: 'push a Stripe key to every site of a sites file (no AWS)',
  help: HELP,
  run,
};

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  const settings = resolveSettings(parseOptions(argv, OPTIONS), cli);
  const list = await siteListFromFile(settings.sitesFile).load();
  for (const duplicate of list.duplicates) cli.stderr.write(`warning: ignored duplicate: ${duplicate}\n`);

  if (settings.dryRun) {
    printPlan(settings, list, cli);
    return EXIT_OK;
  }
  if (!settings.force && !(await confirmed(settings, list, cli))) {
    cli.stderr.write('Nothing was pushed.\n');
    return EXIT_NOT_CONFIRMED;
  }

  // The rotation's own fleet dispatcher: no keep-alive, one shared TLS context (the sites' CA comes from the
  // default roots, NODE_EXTRA_CA_CERTS included).
  const dispatcher = createFleetDispatcher({ connectTimeoutMs: settings.timeoutMs });
  try {
    const pusher = createFleetPusher({
      dispatcher,
      logger: cliLogger(cli.stderr, settings.verbose),
      concurrency: settings.concurrency,
      siteTimeoutMs: settings.timeoutMs,
      attempts: ATTEMPTS,
      canaryCount: settings.canary,
    });
    if (!settings.json) {
      cli.stderr.write(`Pushing ${describeKey(settings.key)} to ${count(list.sites.length, 'site')}...\n`);
    }
    const progress = pushProgress(cli.stderr, list.sites.length);
    const started = Date.now();
    const report = await pusher.push({
      sites: list.sites,
      key: settings.key,
      masterApiKey: settings.masterKey,
      // No invocation deadline outside Lambda: every site gets its attempts.
      remainingTimeMs: () => Number.POSITIVE_INFINITY,
      onResult: (result) => progress.report(result),
    });
    progress.finish();
    return printReport(settings, list, report, Date.now() - started, cli);
  } finally {
    await dispatcher.close();
  }
}

type PushValues = ReturnType<typeof parseOptions<typeof OPTIONS>>;

function resolveSettings(values: PushValues, cli: CliContext): PushSettings {
  const env = cli.env;
  cli.hide(values['secret-key'], values['master-key'], env.STRIPE_SECRET_KEY, env.TEMPLATE_MASTER_API_KEY);

  const sitesFile = values['sites-file'];
  if (sitesFile === undefined || sitesFile.trim() === '') throw new UsageError('--sites-file is required');
  const concurrency = settingNumber('concurrency', values.concurrency, CONCURRENCY);
  const timeoutMs = settingNumber('timeout', values.timeout, TIMEOUT_MS);
  const canary = settingNumber('canary', values.canary, CANARY);

  const argvWarning = (flag: string, variable: string): void => {
    cli.stderr.write(
      `warning: ${flag} puts a secret on the command line, where other users of this machine can read it ` +
        `(ps, /proc) and your shell history keeps it; prefer the ${variable} environment variable.\n`,
    );
  };
  if (values['secret-key'] !== undefined) argvWarning('--secret-key', 'STRIPE_SECRET_KEY');
  if (values['master-key'] !== undefined) argvWarning('--master-key', 'TEMPLATE_MASTER_API_KEY');

  const keyFrom = values['secret-key'] === undefined ? 'STRIPE_SECRET_KEY' : '--secret-key';
  const key = (values['secret-key'] ?? env.STRIPE_SECRET_KEY ?? '').trim();
  const masterKeyFrom = values['master-key'] === undefined ? 'TEMPLATE_MASTER_API_KEY' : '--master-key';
  const masterKey = (values['master-key'] ?? env.TEMPLATE_MASTER_API_KEY ?? '').trim();

  const problems: string[] = [];
  if (key === '') {
    problems.push(
      `${keyFrom === '--secret-key' ? '--secret-key is empty' : 'STRIPE_SECRET_KEY is not set'}: ` +
        'give the Stripe secret key to push (sk_test_... or sk_live_...), preferably in STRIPE_SECRET_KEY',
    );
  } else {
    const problem = keyProblem(key, keyModeOf(key) ?? 'test');
    if (problem !== undefined) problems.push(`the key in ${keyFrom} ${problem}`);
  }
  if (masterKey === '') {
    problems.push(
      `${masterKeyFrom === '--master-key' ? '--master-key is empty' : 'TEMPLATE_MASTER_API_KEY is not set'}: ` +
        "give the sites' master API key (their X-API-Key), preferably in TEMPLATE_MASTER_API_KEY",
    );
  } else {
    const problem = masterApiKeyProblem(masterKey);
    if (problem !== undefined) problems.push(`the master key in ${masterKeyFrom} ${problem}`);
  }
  const keyMode = keyModeOf(key);
  if (problems.length > 0 || keyMode === undefined) {
    throw new ConfigurationError('Cannot push:', { problems });
  }
  return {
    sitesFile,
    key,
    keyMode,
    keyFrom,
    masterKey,
    masterKeyFrom,
    concurrency,
    timeoutMs,
    canary,
    dryRun: values['dry-run'] === true,
    force: values.force === true,
    json: values.json === true,
    verbose: values.verbose === true,
  };
}

function printPlan(settings: PushSettings, list: SiteList, cli: CliContext): void {
  const endpoints = list.sites.map((site) => endpointUrl(site) ?? site);
  if (settings.json) {
    cli.stdout.write(
      `${JSON.stringify(
        {
          dryRun: true,
          key: keyJson(settings.key),
          sitesFile: settings.sitesFile,
          sites: list.sites.length,
          endpoints,
          duplicates: list.duplicates,
          concurrency: settings.concurrency,
          canary: settings.canary,
          timeoutMs: settings.timeoutMs,
          attempts: ATTEMPTS,
        },
        null,
        2,
      )}\n`,
    );
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
      `at a time; ${settings.timeoutMs} ms per attempt, up to ${ATTEMPTS} attempts for transient failures\n` +
      `Would PUT {"value": <the key>} with X-API-Key to:\n${endpoints.map((url) => `  ${url}\n`).join('')}` +
      'Run again without --dry-run to push.\n',
  );
}

async function confirmed(settings: PushSettings, list: SiteList, cli: CliContext): Promise<boolean> {
  if (cli.stdin.isTTY !== true) {
    throw new UsageError(
      'refusing to push without confirmation: stdin is not a terminal. Pass --force to push ' +
        'non-interactively (e.g. in CI), after checking with --dry-run.',
    );
  }
  const shown = list.sites.slice(0, MAX_SITES_IN_PROMPT).map((site) => `  ${site}\n`);
  const more = list.sites.length - shown.length;
  return askYes(
    cli,
    `About to push ${describeKey(settings.key)}, a ${settings.keyMode === 'live' ? 'LIVE' : 'test'} key, ` +
      `to ${count(list.sites.length, 'site')} from ${settings.sitesFile}:\n${shown.join('')}` +
      (more > 0 ? `  ... and ${more} more\n` : '') +
      'Each of these sites will use this key for its Stripe calls from now on.\nType "yes" to push: ',
  );
}

function printReport(
  settings: PushSettings,
  list: SiteList,
  report: PushReport,
  elapsedMs: number,
  cli: CliContext,
): number {
  const confirmedCount = report.results.filter((r) => r.outcome === 'confirmed').length;
  const notAttempted = report.results.filter((r) => r.outcome === 'not_attempted').length;
  const failed = report.results.length - confirmedCount - notAttempted;
  const ok = confirmedCount === list.sites.length;

  if (settings.json) {
    cli.stdout.write(
      `${JSON.stringify(
        {
          ok,
          key: keyJson(settings.key),
          sitesFile: settings.sitesFile,
          summary: { sites: list.sites.length, confirmed: confirmedCount, failed, notAttempted },
          ...(report.stoppedBecause === undefined ? {} : { stoppedBecause: report.stoppedBecause }),
          durationMs: elapsedMs,
          results: report.results.map((r) => ({
            site: r.site,
            outcome: r.outcome,
            httpStatus: r.httpStatus ?? null,
            detail: r.detail ?? null,
            attempts: r.attempts,
            durationMs: r.durationMs,
          })),
          duplicates: list.duplicates,
        },
        null,
        2,
      )}\n`,
    );
    return ok ? EXIT_OK : EXIT_NOT_CONFIRMED;
  }

  const rows =
    report.results.length <= MAX_TABLE_ROWS
      ? report.results
      : report.results.filter((r) => r.outcome !== 'confirmed');
  if (rows.length < report.results.length) {
    cli.stdout.write(`Sites that did not confirm (${rows.length} of ${report.results.length}):\n`);
  }
  if (rows.length > 0) {
    cli.stdout.write(
      table(
        ['SITE', 'RESULT', 'HTTP', 'ATTEMPTS', 'LATENCY', 'DETAIL'],
        rows.map((r) => [
          r.site,
          r.outcome,
          r.httpStatus === undefined ? '-' : String(r.httpStatus),
          String(r.attempts),
          r.attempts === 0 ? '-' : duration(r.durationMs),
          r.outcome === 'confirmed' ? '' : (r.detail ?? ''),
        ]),
        ['left', 'left', 'right', 'right', 'right', 'left'],
      ),
    );
  }
  cli.stdout.write(
    `\n${describeKey(settings.key)} → ${count(list.sites.length, 'site')} in ${duration(elapsedMs)}: ` +
      `${confirmedCount} confirmed, ${failed} failed, ${notAttempted} not attempted.\n`,
  );
  if (report.stoppedBecause !== undefined) {
    // The core's explanation, plus what this command's operator can change about it.
    const hint =
      report.stoppedBecause === 'canary_failed' ? ' (--canary 0 contacts every site regardless.)' : '';
    cli.stdout.write(`${PUSH_STOP_EXPLANATIONS[report.stoppedBecause]}${hint}\n`);
  }
  cli.stdout.write(
    ok
      ? 'Every site confirmed the key.\n'
      : 'Not every site confirmed: fix the sites above and run the same push again ' +
          '(sites that already hold the key just confirm it again).\n',
  );
  return ok ? EXIT_OK : EXIT_NOT_CONFIRMED;
}
