/**
 * `push`: a one-off push script (sequential or concurrent), on the rotation's own push
 * engine — same answer table, retries, redirect refusal, size caps and masking — with no AWS at all.
 * Interrupt-safe: a signal stops new requests and the result still covers every answer received.
 */
import { readFile } from 'node:fs/promises';
import { siteListFromFile } from '../../adapters/local/static-site-list.js';
import type { SiteList } from '../../core/index.js';
import {
  ConfigurationError,
  createFleetPusher,
  createStripeAgent,
  describeKey,
  FleetConnector,
  fingerprint,
  keyModeOf,
  keyProblem,
  masterApiKeyProblem,
  printable,
  range,
  readStripeAccount,
  readStripeApiBase,
  SETTINGS,
  SITE_ENDPOINT_PATH,
  StripeKeyChecker,
  truncatedKeyProblem,
} from '../../core/index.js';
import { formatDuration } from '../duration.js';
import { cliLogger, count } from './format.js';
import {
  askYes,
  type CliContext,
  type Command,
  durationFlag,
  durationRange,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  PROGRAM,
  parseOptions,
  settingNumber,
  UsageError,
} from './frame.js';
import { INTERRUPT_GRACE_MS, interruptWindow } from './interrupt.js';
import { pushProgress } from './progress.js';
import { ATTEMPTS, type PushSettings, printPlan, printReport } from './push-report.js';

const OPTIONS = {
  'sites-file': { type: 'string' },
  'secret-key': { type: 'string' },
  'master-key': { type: 'string' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  canary: { type: 'string' },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  yes: { type: 'boolean' },
  live: { type: 'boolean' },
  'retry-from': { type: 'string' },
  'stripe-check': { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The function's own defaults and bounds: a push from here behaves like the rotation's push. */
const { pushConcurrency: CONCURRENCY, siteTimeoutMs: TIMEOUT_MS, canarySites: CANARY } = SETTINGS;
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
  --timeout <duration>  limit for one attempt at one site, with its unit: ${durationRange(TIMEOUT_MS)}
                        (default ${formatDuration(TIMEOUT_MS.default)}; e.g. 500ms, 30s)
  --canary <n>          push to the first n sites one at a time first and stop everything if one of them
                        fails, ${range(CANARY)} (default ${CANARY.default}; 0 = contact every site whatever happens)
  --dry-run             check the key, the master key and the sites file, show what would be sent,
                        contact nothing
  --live                required to push a live (sk_live_) key: a live key goes nowhere by accident
  --stripe-check        first check the key with Stripe, read-only (GET /v1/balance at ${SETTINGS.stripeApiBase.variable},
                        default ${SETTINGS.stripeApiBase.default}): a key Stripe refuses, or of another mode, goes
                        nowhere; with ${SETTINGS.stripeAccount.variable}=acct_... it must belong to that account
  --retry-from <file>   a previous push's --json output: push only to the sites it does not show
                        confirmed (same key required); its confirmed sites count as confirmed
  --force, --yes        no confirmation question (required when stdin is not a terminal, e.g. in CI)
  --json                print the result as JSON on stdout (progress still goes to stderr)
  -v, --verbose         also print the push engine's structured log on stderr
  -h, --help            show this help

Transient failures (429, 5xx, timeouts, refused connections) are retried up to ${ATTEMPTS} attempts in all, with
backoff; redirects are refused, never followed.

Interrupts: a first Ctrl-C (SIGINT) or SIGTERM stops contacting new sites, waits up to
${INTERRUPT_GRACE_MS / 1000} s for the requests in flight, then prints the partial table and summary (complete with
--json) and exits 130 (SIGINT) or 143 (SIGTERM); a second signal exits at once.

Exit codes:
  0    every site confirmed (or --dry-run found nothing wrong)
  1    at least one site did not confirm, the confirmation was declined, or Stripe could not be
       reached (--stripe-check)
  2    usage or configuration error (missing, malformed or truncated key, live key without --live,
       invalid sites file, no terminal to confirm), or the key refused by Stripe (--stripe-check)
  130  interrupted by SIGINT, after reporting what was done
  143  interrupted by SIGTERM, after reporting what was done

Examples:
  export STRIPE_SECRET_KEY=sk_test_...  TEMPLATE_MASTER_API_KEY=...
  ${PROGRAM} push --sites-file sites-test.txt --dry-run
  ${PROGRAM} push --sites-file sites-test.txt --concurrency 10 --force
  ${PROGRAM} push --sites-file sites.txt --json --force > result.json
  ${PROGRAM} push --sites-file sites.txt --retry-from result.json --json --force > retry.json
`;

export const pushCommand: Command = {
  name: 'push',
  help: HELP,
  run,
};

/**
 * glibc's resolver waits 5 s for a name server, twice, and Node waits for lookups still running in its
 * thread pool before the process can exit: after the summary of a push to names that do not resolve, that
 * was seconds more. One second, once, per lookup (the engine retries the whole attempt anyway), unless the
 * operator set RES_OPTIONS. Read by glibc at the first lookup, so set before any.
 */
const RESOLVER_OPTIONS = 'timeout:1 attempts:1';

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  if (process.env.RES_OPTIONS === undefined) process.env.RES_OPTIONS = RESOLVER_OPTIONS;
  const settings = resolveSettings(parseOptions(argv, OPTIONS), cli);
  const full = await siteListFromFile(settings.sitesFile).load();
  for (const duplicate of full.duplicates) cli.stderr.write(`warning: ignored duplicate: ${duplicate}\n`);
  const confirmedEarlier =
    settings.retryFrom === undefined
      ? new Set<string>()
      : await confirmedIn(settings.retryFrom, settings.key);
  const list: SiteList = { ...full, sites: full.sites.filter((site) => !confirmedEarlier.has(site)) };
  if (settings.retryFrom !== undefined && !settings.json) {
    cli.progress.write(
      `${count(full.sites.length - list.sites.length, 'site')} confirmed in ${settings.retryFrom}: ` +
        `pushing to the other ${count(list.sites.length, 'site')} only.\n`,
    );
  }

  if (settings.stripeCheck !== undefined) await checkWithStripe(settings, settings.stripeCheck, cli);
  if (settings.dryRun) {
    printPlan(settings, list, cli);
    return EXIT_OK;
  }
  if (!settings.force && !(await confirmed(settings, list, cli))) {
    cli.stderr.write('Nothing was pushed.\n');
    return EXIT_NOT_CONFIRMED;
  }

  // The rotation's own fleet connections: no keep-alive, one shared TLS context (the sites' CA comes from the
  // default roots, NODE_EXTRA_CA_CERTS included).
  const connector = new FleetConnector({ connectTimeoutMs: settings.timeoutMs });
  const interrupt = interruptWindow(cli);
  try {
    const pusher = createFleetPusher({
      connector,
      logger: cliLogger(cli.stderr, settings.verbose),
      concurrency: settings.concurrency,
      siteTimeoutMs: settings.timeoutMs,
      attempts: ATTEMPTS,
      canaryCount: settings.canary,
    });
    if (!settings.json) {
      cli.progress.write(`Pushing ${describeKey(settings.key)} to ${count(list.sites.length, 'site')}...\n`);
    }
    const progress = pushProgress(cli.progress, list.sites.length);
    const started = Date.now();
    // No invocation deadline outside Lambda: every site gets its attempts, until an interrupt.
    const { report, answered } = await interrupt.push(
      pusher,
      { sites: list.sites, key: settings.key, masterApiKey: settings.masterKey },
      (result) => progress.report(result),
    );
    const interrupted = interrupt.signal;
    progress.finish();
    const results = list.sites.flatMap((site) => {
      const result = answered.get(site);
      if (result === undefined) return [];
      // The engine words an interrupt as its deadline; say what really happened.
      return interrupted !== undefined && result.outcome === 'not_attempted'
        ? [{ ...result, detail: `not attempted: interrupted (${interrupted})` }]
        : [result];
    });
    return printReport(
      settings,
      {
        results,
        unanswered: list.sites.filter((site) => !answered.has(site)),
        stoppedBecause: report?.stoppedBecause,
        interrupted,
        confirmedEarlier: full.sites.filter((site) => confirmedEarlier.has(site)),
        elapsedMs: Date.now() - started,
      },
      cli,
    );
  } finally {
    interrupt.close();
    // Nothing of this push may keep the process alive once its result is printed.
    connector.destroy();
  }
}

/** Throws KeyRejectedError (exit 2) when Stripe refuses the key, an Error (exit 1) when it cannot be reached. */
async function checkWithStripe(
  settings: PushSettings,
  check: NonNullable<PushSettings['stripeCheck']>,
  cli: CliContext,
): Promise<void> {
  const agent = createStripeAgent();
  try {
    const checker = new StripeKeyChecker({
      apiBase: check.apiBase,
      agent,
      logger: cliLogger(cli.stderr, settings.verbose),
    });
    const account = await checker.check(settings.key, settings.keyMode, undefined, check.account);
    cli.progress.write(
      `Stripe accepted ${describeKey(settings.key)} (${settings.keyMode} mode, read-only check; ` +
        (account === undefined
          ? `its account was not compared: ${SETTINGS.stripeAccount.variable}=acct_... requires one).\n`
          : `account ${account}).\n`),
    );
  } finally {
    agent.destroy();
  }
}

/** The sites a previous `push --json` result shows confirmed, for the same key. */
async function confirmedIn(file: string, key: string): Promise<Set<string>> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigurationError(
      `Cannot use --retry-from ${printable(file)}: not a readable push --json result (${(error as Error).name})`,
      { cause: error },
    );
  }
  const shaped = document as {
    key?: { fingerprint?: unknown };
    results?: { site?: unknown; outcome?: unknown }[];
  } | null;
  if (!Array.isArray(shaped?.results) || typeof shaped?.key?.fingerprint !== 'string') {
    throw new ConfigurationError(`Cannot use --retry-from ${printable(file)}: not a push --json result`);
  }
  if (shaped.key.fingerprint !== fingerprint(key)) {
    throw new ConfigurationError(
      `--retry-from ${printable(file)} is the result of pushing another key (fp ${printable(shaped.key.fingerprint)}); ` +
        `its confirmed sites do not hold ${describeKey(key)}`,
    );
  }
  return new Set(
    shaped.results.flatMap((result) =>
      result.outcome === 'confirmed' && typeof result.site === 'string' ? [result.site] : [],
    ),
  );
}

type PushValues = ReturnType<typeof parseOptions<typeof OPTIONS>>;

function resolveSettings(values: PushValues, cli: CliContext): PushSettings {
  const env = cli.env;
  cli.hide(values['secret-key'], values['master-key'], env.STRIPE_SECRET_KEY, env.TEMPLATE_MASTER_API_KEY);

  const sitesFile = values['sites-file'];
  if (sitesFile === undefined || sitesFile.trim() === '') throw new UsageError('--sites-file is required');
  const concurrency = settingNumber('concurrency', values.concurrency, CONCURRENCY);
  const timeoutMs = durationFlag('timeout', values.timeout, TIMEOUT_MS);
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
    const problem = keyProblem(key, keyModeOf(key) ?? 'test') ?? truncatedKeyProblem(key);
    if (problem !== undefined) problems.push(`the key in ${keyFrom} ${problem}`);
    else if (keyModeOf(key) === 'live' && values.live !== true) {
      problems.push(
        `the key in ${keyFrom} is a LIVE key: add --live to push it (check the sites file first with --dry-run)`,
      );
    }
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
  let stripeCheck: PushSettings['stripeCheck'];
  if (values['stripe-check'] === true) {
    const apiBase = readStripeApiBase(env[SETTINGS.stripeApiBase.variable]);
    const account = readStripeAccount(env[SETTINGS.stripeAccount.variable]);
    problems.push(...apiBase.problems, ...account.problems);
    stripeCheck = { apiBase: apiBase.value, account: account.value };
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
    force: values.force === true || values.yes === true,
    live: values.live === true,
    retryFrom: values['retry-from'],
    stripeCheck,
    json: values.json === true,
    verbose: values.verbose === true,
  };
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
