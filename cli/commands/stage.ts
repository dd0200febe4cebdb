/**
 * `stage`: writes the next Stripe key into the staged key secret, only if the rotation core's staged key
 * verdict accepts it (the very rules a rotation applies, plus Stripe, read-only): what `stage` stores, a
 * rotation takes. The key never comes from argv (visible in `ps` and shell history): a hidden prompt or stdin.
 */
import { describeKey, keyModeOf, SETTINGS, StripeKeyChecker, stage } from '../../core/index.js';
import {
  AWS_OPTIONS,
  awsOptionsHelp,
  requiredKeyMode,
  requiredSetting,
  stripeApiBase,
  withDeployment,
} from './aws.js';
import { cliLogger, writeJson } from './format.js';
import {
  askYes,
  type CliContext,
  type Command,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  PROGRAM,
  parseOptions,
  UsageError,
} from './frame.js';
import { readKey } from './key-input.js';

const OPTIONS = {
  ...AWS_OPTIONS,
  // Declared only to be refused with a clear message instead of parseArgs' generic one.
  key: { type: 'string' },
  'secret-key': { type: 'string' },
  'no-stripe-check': { type: 'boolean' },
  force: { type: 'boolean' },
  yes: { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The deployment settings this command reads (flags, stack outputs or environment). */
const USED = ['staged-secret-id', 'ledger-table', 'key-mode'] as const;

const HELP = `Usage: ${PROGRAM} stage (--stack <name> | --secret-id <id>) [options] < key.txt
       ${PROGRAM} stage (--stack <name> | --secret-id <id>) [options]        (then type or paste the key, hidden)

Stages the next Stripe secret key: checks it, then writes it into the staged key secret, from which the
next rotation takes it. Roll the key in the Stripe Dashboard first. The key is read from a hidden prompt
on a terminal, or from stdin (one line); never from the command line, where other users of this machine
(ps, /proc) and your shell history would see it: --key is refused.

Checks, in order, exactly as a rotation will: not the key in service (AWSCURRENT) of --secret-id; the
format (sk_test_/sk_live_ followed by letters and digits); the deployment's mode and the mode of the key
in service; not the previous key (AWSPREVIOUS); never in service before (a finished rotation in the
ledger); accepted by Stripe with a read-only call (GET /v1/balance and /v1/account at ${SETTINGS.stripeApiBase.variable},
default ${SETTINGS.stripeApiBase.default}: right mode, same Stripe account as the key in service). A live key then
needs a confirmation.

${awsOptionsHelp(USED)}
Options:
  --no-stripe-check   skip the Stripe check (a warning is printed; the rotation still checks)
  --force, --yes      no confirmation for a live key (required when stdin is not a terminal)
  --json              print the outcome as JSON on stdout (a refusal is an error on stderr, exit 2)
  -v, --verbose       print the Stripe check's structured log on stderr
  -h, --help          show this help

Exit codes:
  0  the key is staged (or was already)
  1  the confirmation was declined, or AWS or Stripe could not be reached; nothing was staged
  2  usage or configuration error, or the key was refused (AWSCURRENT, malformed, wrong mode, AWSPREVIOUS,
     already in service before, refused by Stripe, a live key without a terminal to confirm and no
     --force), or a --stack lacking an output this command reads; nothing was staged
  130/143  interrupted by SIGINT/SIGTERM (at once, at the prompt too)

Example:
  ${PROGRAM} stage --secret-id stripe-key-rotator-live/stripe-secret-key \\
    --staged-secret-id stripe-key-rotator-live/staged-stripe-secret-key --key-mode live
`;

export const stageCommand: Command = { name: 'stage', help: HELP, run };

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  const given = parseOptions(argv, OPTIONS);
  cli.hide(given.key, given['secret-key']);
  if (given.key !== undefined || given['secret-key'] !== undefined) {
    throw new UsageError(
      'stage never takes the key on the command line: other users of this machine can read it there (ps, ' +
        '/proc) and your shell history keeps it. Type it at the hidden prompt, or pipe it on stdin. ' +
        'Roll that key in the Stripe Dashboard if it was exposed.',
    );
  }
  // With --stack the key is asked before the stack lookup: keys typed while it runs would be echoed.
  const typedFirst = given.stack === undefined ? undefined : await readKey(cli);
  return withDeployment(given, USED, async ({ aws, values, target, stripeAgent }) => {
    const stagedId = requiredSetting(values, cli.env, 'staged-secret-id');
    const ledgerTable = requiredSetting(values, cli.env, 'ledger-table');
    const keyMode = requiredKeyMode(values, cli.env);
    const force = values.force === true || values.yes === true;
    const stripeCheck = values['no-stripe-check'] !== true;
    const apiBase = stripeCheck ? stripeApiBase(cli.env) : undefined;

    const key = typedFirst ?? (await readKey(cli));
    cli.hide(key);
    const shown = describeKey(key);
    // Checked before AWS and Stripe are called: without a terminal nobody could answer the question at the
    // end. Any other key is judged first (a key of the wrong mode is refused, whatever the terminal).
    if (keyMode === 'live' && keyModeOf(key) === 'live' && !force && cli.stdin.isTTY !== true) {
      throw new UsageError(
        `refusing to stage the live key ${shown} without confirmation: stdin is not a terminal. Pass --force ` +
          'to stage non-interactively.',
      );
    }
    const staged = await stage(
      {
        secrets: aws.secrets,
        ledger: { table: ledgerTable, store: aws.ledger(ledgerTable) },
        keyChecker:
          apiBase === undefined
            ? undefined
            : new StripeKeyChecker({
                apiBase,
                agent: stripeAgent(),
                logger: cliLogger(cli.stderr, values.verbose === true),
              }),
        explain: aws.explain,
        onSecretRead: (...secrets) => cli.hide(...secrets),
      },
      { secretId: target.secretId, stagedSecretId: stagedId, keyMode, key },
      {
        onAccepted: () => {
          if (apiBase === undefined) {
            cli.stderr.write(
              `warning: --no-stripe-check: ${shown} was not checked with Stripe; the rotation will check it ` +
                'before touching any site (unless the deployment turned its check off).\n',
            );
          } else cli.progress.write(`Stripe accepted ${shown} (${keyMode} mode, read-only check).\n`);
        },
        ...(keyMode === 'live' && !force ? { confirm: () => confirmed(shown, stagedId, cli) } : {}),
      },
    );
    if (staged.outcome === 'nothing') {
      throw new UsageError('"none" means "nothing staged" in the staged key secret: give the new Stripe key');
    }
    const outcome = (inPlace: boolean, written: boolean, text: string): void => {
      if (values.json !== true) {
        cli.stdout.write(text);
        return;
      }
      writeJson(cli.stdout, {
        staged: inPlace,
        written,
        key: staged.key,
        secretArn: staged.secretArn,
        stagedSecretId: stagedId,
        stripeCheck: apiBase === undefined ? 'skipped' : 'passed',
      });
    };
    switch (staged.outcome) {
      case 'already_staged':
        outcome(
          true,
          false,
          `${shown} is already staged in ${stagedId}; nothing was written.\n${nextStep(target.selector)}`,
        );
        return EXIT_OK;
      case 'declined':
        outcome(false, false, '');
        cli.stderr.write('Nothing was staged.\n');
        return EXIT_NOT_CONFIRMED;
      case 'staged':
        outcome(
          true,
          true,
          `Staged ${shown}, a ${keyMode} key, in ${stagedId}.\n${nextStep(target.selector)}`,
        );
        return EXIT_OK;
    }
  });
}

/** `selector`: the deployment as the operator named it (`--stack NAME` or `--secret-id ID`). */
function nextStep(selector: string): string {
  return (
    'Next: start a rotation and follow it to the end with\n' +
    `  ${PROGRAM} rotate ${selector} --wait\n` +
    `Preview it first with: ${PROGRAM} plan ${selector}\n`
  );
}

async function confirmed(shown: string, stagedId: string, cli: CliContext): Promise<boolean> {
  return askYes(
    cli,
    `About to stage ${shown}, a LIVE key, in ${stagedId}: the next rotation will push it to every site.\n` +
      'Type "yes" to stage it: ',
  );
}
