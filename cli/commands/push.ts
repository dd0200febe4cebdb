/**
 * `push`: a one-off push script (sequential or concurrent), on the rotation's own push
 * engine — same answer table, retries, redirect refusal, size caps and masking — with no AWS at all.
 * Interrupt-safe: a signal stops new requests and the result still covers every answer received.
 */
import { earlierPushFromFile, savePushResult } from '../../adapters/local/push-result-file.js';
import { siteListFromFile } from '../../adapters/local/static-site-list.js';
import {
  createSiteServices,
  describeKey,
  type PushFleetPlan,
  pushFleet,
  range,
  SETTINGS,
  SITE_ENDPOINT_PATH,
} from '../../core/index.js';
import { formatDuration } from '../duration.js';
import { cliLogger, count } from './format.js';
import { askYes, type CliContext, type Command, durationRange, PROGRAM, UsageError } from './frame.js';
import { INTERRUPT_GRACE_MS, type InterruptWindow, interruptWindow } from './interrupt.js';
import { pushStages } from './progress.js';
import { printResult } from './push-report.js';
import {
  ATTEMPTS,
  CANARY,
  CONCURRENCY,
  type PushSettings,
  readPushSettings,
  TIMEOUT_MS,
} from './push-settings.js';

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
  --retry-from <file>   a previous push's result (--json output or result file): push only to the sites
                        it does not show confirmed (same key required); its confirmed sites count as confirmed
  --result-file <path>  also write the result document (the --json document: keys masked, never in
                        full) to this file. Without it, a push that did not confirm every site (or was
                        interrupted) writes push-result-<UTC time>.json in the current directory, unless
                        --json is given, and names it in its advice to retry
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

export const pushCommand: Command = { name: 'push', help: HELP, run };

/**
 * glibc's resolver waits 5 s for a name server, twice, and Node waits for lookups still running in its
 * thread pool before the process can exit: after the summary of a push to names that do not resolve, that
 * was seconds more. One second, once, per lookup (the engine retries the whole attempt anyway), unless the
 * operator set RES_OPTIONS. Read by glibc at the first lookup, so set before any.
 */
const RESOLVER_OPTIONS = 'timeout:1 attempts:1';

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  if (process.env.RES_OPTIONS === undefined) process.env.RES_OPTIONS = RESOLVER_OPTIONS;
  const settings = readPushSettings(argv, cli);
  // The rotation's own connections: the sites' CA comes from the default roots, NODE_EXTRA_CA_CERTS included.
  const services = createSiteServices({
    config: {
      pushConcurrency: settings.concurrency,
      siteTimeoutMs: settings.timeoutMs,
      siteAttempts: ATTEMPTS,
      canarySites: settings.canary,
      stripeApiBase: settings.stripeCheck?.apiBase ?? SETTINGS.stripeApiBase.default,
    },
    logger: cliLogger(cli.stderr, settings.verbose),
  });
  // Signals are caught from the first request on: until then, Ctrl-C ends the command as usual.
  const stop = new AbortController();
  let interrupt: InterruptWindow | undefined;
  const stages = pushStages(settings, cli);
  try {
    const result = await pushFleet(
      {
        siteList: siteListFromFile(settings.sitesFile),
        ...(settings.retryFrom === undefined
          ? {}
          : { earlierPush: earlierPushFromFile(settings.retryFrom, '--retry-from') }),
        keyChecker: services.keyChecker,
        pusher: services.pusher,
      },
      {
        key: settings.key,
        keyMode: settings.keyMode,
        masterApiKey: settings.masterKey,
        ...(settings.stripeCheck === undefined
          ? {}
          : { stripeCheck: { account: settings.stripeCheck.account } }),
        dryRun: settings.dryRun,
        signal: stop.signal,
        graceMs: INTERRUPT_GRACE_MS,
      },
      {
        ...stages,
        ...(settings.force ? {} : { confirm: (plan: PushFleetPlan) => confirmed(settings, plan, cli) }),
        pushing(sites) {
          interrupt = interruptWindow(cli, stop);
          stages.pushing(sites);
        },
      },
    );
    stages.finish();
    return printResult(settings, result, interrupt?.signal, cli, (document) =>
      savePushResult(document, settings.resultFile, process.cwd()),
    );
  } finally {
    interrupt?.close();
    // Nothing of this push may keep the process alive once its result is printed.
    services.close();
  }
}

async function confirmed(settings: PushSettings, { list }: PushFleetPlan, cli: CliContext): Promise<boolean> {
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
