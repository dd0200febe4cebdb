/**
 * `status`: where the rotated secret stands — versions and labels (keys masked), what is staged, the
 * rotation schedule, a rotation in progress — and, from the propagation ledger, the last rotation's outcome,
 * its per-site table and what each site holds. Read-only; exits 0 whatever it finds (it is information).
 */
import { type KeyMode, status as readStatus } from '../../core/index.js';
import { AWS_OPTIONS, awsOptionsHelp, setting, withDeployment } from './aws.js';
import { writeJson } from './format.js';
import { type CliContext, type Command, EXIT_OK, PROGRAM, parseOptions, UsageError } from './frame.js';
import { render } from './status-view.js';

const OPTIONS = {
  ...AWS_OPTIONS,
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The deployment settings this command reads (flags, stack outputs or environment). */
const USED = ['staged-secret-id', 'ledger-table', 'key-mode'] as const;

const HELP = `Usage: ${PROGRAM} status (--stack <name> | --secret-id <id>) [options]

Shows where the rotated Stripe key stands, reading only: its versions and labels (keys masked as
sk_live_…abcd with a fingerprint), whether a different key is staged, the rotation schedule, the last and
next rotation, a rotation still in progress, and from the propagation ledger the last rotation's outcome,
each site's result in it and the key each site holds.

${awsOptionsHelp(USED)}
Without --staged-secret-id the staged key is not shown; without --ledger-table the ledger part is not
shown. A staged key is judged by the rotation's own rules (format, the mode of the key in service, not
the previous key, never in service before according to the ledger or the secret's versions); --key-mode
adds the deployment's mode.

Options:
  --json       print everything as JSON on stdout
  -h, --help   show this help

Exit codes:
  0  status shown (whatever it says)
  1  AWS could not be reached
  2  usage or configuration error (missing --secret-id, unknown secret or table, no credentials, a
     --stack lacking an output this command reads)
  130/143  interrupted by SIGINT/SIGTERM (at once: it only reads)

Example:
  ${PROGRAM} status --secret-id stripe-key-rotator-live/stripe-secret-key \\
    --staged-secret-id stripe-key-rotator-live/staged-stripe-secret-key \\
    --ledger-table "$LEDGER_TABLE" --region eu-west-3
`;

export const statusCommand: Command = { name: 'status', help: HELP, run };

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  return withDeployment(parseOptions(argv, OPTIONS), USED, async ({ aws, values, target }) => {
    const stagedSecretId = setting(values, cli.env, 'staged-secret-id');
    const ledgerTable = setting(values, cli.env, 'ledger-table');
    const keyMode = setting(values, cli.env, 'key-mode');
    if (keyMode !== undefined && keyMode !== 'live' && keyMode !== 'test') {
      throw new UsageError(`--key-mode must be live or test, not "${keyMode}"`);
    }
    const status = await readStatus(
      {
        secrets: aws.secrets,
        ledger:
          ledgerTable === undefined ? undefined : { table: ledgerTable, store: aws.ledger(ledgerTable) },
        explain: aws.explain,
        onSecretRead: (...values) => cli.hide(...values),
      },
      { secretId: target.secretId, stagedSecretId, keyMode: keyMode as KeyMode | undefined },
    );
    if (values.json === true) writeJson(cli.stdout, status);
    else cli.stdout.write(render(status));
    return EXIT_OK;
  });
}
