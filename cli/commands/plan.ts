/**
 * `plan`: everything a rotation would do, with zero writes anywhere (a dry run of the AWS side).
 * The key choice is the rotation core's own `chooseNextKey` (read-only), so plan and rotation can never
 * disagree on which key is chosen or why it is refused.
 */
import { plan as makePlan, range, SETTINGS, StripeKeyChecker } from '../../core/index.js';
import {
  AWS_OPTIONS,
  awsOptionsHelp,
  deploymentConfig,
  functionSettingsHelp,
  suggest,
  withDeployment,
} from './aws.js';
import { cliLogger, writeJson } from './format.js';
import {
  type CliContext,
  type Command,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  PROGRAM,
  parseOptions,
  settingNumber,
} from './frame.js';
import { render } from './plan-view.js';

const OPTIONS = {
  ...AWS_OPTIONS,
  'canary-sites': { type: 'string' },
  'stripe-check': { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The deployment settings this command reads (flags, stack outputs or environment). */
const USED = [
  'staged-secret-id',
  'sites-parameter',
  'ledger-table',
  'master-key-secret-id',
  'key-mode',
] as const;

const HELP = `Usage: ${PROGRAM} plan (--stack <name> | --secret-id <id>) [options]

Shows everything a rotation would do now, and writes nothing anywhere (no secret, no ledger item, no
request to any site): the site list resolved and validated (parameter and line number of every bad
entry), the canary sites, the key that would be chosen (the staged key, or the current key pushed again)
and every check it must pass (format, mode, not the previous key, never in service before according to
the ledger), the master API key, and optionally a read-only check of the key with Stripe.

${awsOptionsHelp(USED)}
The function's other variables are read the same way:
${functionSettingsHelp(['whenNothingStaged', 'pushConcurrency', 'siteTimeoutMs', 'siteAttempts', 'canarySites', 'stripeApiBase'])}
Options:
  --canary-sites <n>   canary sites pushed first, ${range(SETTINGS.canarySites)} (default: ${SETTINGS.canarySites.variable}, else ${SETTINGS.canarySites.default})
  --stripe-check       also check a new key with Stripe, read-only (GET /v1/balance and /v1/account at
                       ${SETTINGS.stripeApiBase.variable}, default ${SETTINGS.stripeApiBase.default})
  --json               print the plan as JSON on stdout
  -v, --verbose        print the rotation core's structured log on stderr
  -h, --help           show this help

Exit codes:
  0  a rotation would proceed
  1  a rotation would be refused (the reasons are listed), or AWS or Stripe could not be reached
  2  usage or configuration error (missing setting, unknown rotated secret, no credentials, a --stack
     lacking an output this command reads)
  130/143  interrupted by SIGINT/SIGTERM (at once: it writes nothing)
`;

export const planCommand: Command = { name: 'plan', help: HELP, run };

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  return withDeployment(parseOptions(argv, OPTIONS), USED, async ({ aws, values, target, stripeAgent }) => {
    const canary = values['canary-sites'];
    const config = deploymentConfig(
      values,
      cli.env,
      canary === undefined
        ? {}
        : {
            [SETTINGS.canarySites.variable]: String(
              settingNumber('canary-sites', canary, SETTINGS.canarySites),
            ),
          },
    );
    const logger = cliLogger(cli.stderr, values.verbose === true);
    const plan = await makePlan(
      {
        config,
        secrets: aws.secrets,
        siteList: aws.siteList(config.sitesParameter),
        ledger: aws.ledger(config.ledgerTable),
        keyChecker:
          values['stripe-check'] === true
            ? new StripeKeyChecker({ apiBase: config.stripeApiBase, agent: stripeAgent(), logger })
            : undefined,
        explain: aws.explain,
        onSecretRead: (...secrets) => cli.hide(...secrets),
      },
      { secretId: target.secretId, statusCommand: suggest(target, 'status') },
    );
    if (values.json === true) writeJson(cli.stdout, plan);
    else cli.stdout.write(render(plan, config, target.selector));
    return plan.wouldProceed ? EXIT_OK : EXIT_NOT_CONFIRMED;
  });
}
