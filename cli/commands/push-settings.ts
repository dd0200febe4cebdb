/**
 * What `push` is asked to do, read from its command line and the environment and checked before anything
 * is read or contacted: every problem at once, keys only ever named by where they came from.
 */
import {
  ConfigurationError,
  type KeyMode,
  keyModeOf,
  keyProblem,
  masterApiKeyProblem,
  readStripeAccount,
  readStripeApiBase,
  SETTINGS,
} from '../../core/index.js';
import { type CliContext, durationFlag, parseOptions, settingNumber, UsageError } from './frame.js';

export const PUSH_OPTIONS = {
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
  'result-file': { type: 'string' },
  'stripe-check': { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The function's own defaults and bounds: a push from here behaves like the rotation's push. */
export const { pushConcurrency: CONCURRENCY, siteTimeoutMs: TIMEOUT_MS, canarySites: CANARY } = SETTINGS;

/** Tries per site for transient failures (429, 5xx, timeouts, connection errors), as the Lambda's default. */
export const ATTEMPTS = SETTINGS.siteAttempts.default;
export interface PushSettings {
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
  readonly live: boolean;
  /** --stripe-check: where Stripe is, and the account the key must belong to (STRIPE_ACCOUNT). */
  readonly stripeCheck: { readonly apiBase: string; readonly account: string | undefined } | undefined;
  /** The earlier `--json` result whose unconfirmed sites this push retries. */
  readonly retryFrom: string | undefined;
  /** Where the result document (the same as --json's) is written; undefined: see push-report.ts. */
  readonly resultFile: string | undefined;
}

type PushValues = ReturnType<typeof parseOptions<typeof PUSH_OPTIONS>>;

/** The command line and the environment, checked: every problem at once, keys never shown. */
export function readPushSettings(argv: readonly string[], cli: CliContext): PushSettings {
  return resolveSettings(parseOptions(argv, PUSH_OPTIONS), cli);
}

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
    const problem = keyProblem(key, keyModeOf(key) ?? 'test');
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
    resultFile: values['result-file']?.trim() || undefined,
    stripeCheck,
    json: values.json === true,
    verbose: values.verbose === true,
  };
}
