/**
 * `abort`: ends a stuck rotation (AWSPENDING on a version other than AWSCURRENT). The sites the ledger says
 * took or may hold the pending key (confirmed, or their answer was lost) get the AWSCURRENT key again — while the old Stripe key is still valid — and only
 * when every one of them confirmed is the AWSPENDING label removed, so a new rotation can start.
 */
import { abortRotation, range, SETTINGS } from '../../core/index.js';
import { interruptiblePusher } from './abort-push.js';
import { AWS_OPTIONS, awsOptionsHelp, requiredSetting, suggest, withDeployment } from './aws.js';
import { count, resultLine, siteResultJson, unknownSiteJson, writeJson } from './format.js';
import {
  askYes,
  type CliContext,
  type Command,
  EXIT_INTERRUPTED,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  PROGRAM,
  parseOptions,
  settingNumber,
  UsageError,
} from './frame.js';
import { INTERRUPT_GRACE_MS } from './interrupt.js';

const OPTIONS = {
  ...AWS_OPTIONS,
  force: { type: 'boolean' },
  yes: { type: 'boolean' },
  concurrency: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The function's own defaults and bounds: the re-push behaves like the rotation's push. */
const { pushConcurrency: CONCURRENCY } = SETTINGS;

/** The deployment settings this command reads (flags, stack outputs or environment). */
const USED = ['ledger-table', 'master-key-secret-id'] as const;

const HELP = `Usage: ${PROGRAM} abort (--stack <name> | --secret-id <id>) [--force] [options]

Ends a stuck rotation: one whose AWSPENDING version is not AWSCURRENT, so that Secrets Manager refuses a
new rotation. Shows the sites the propagation ledger says took or may hold the pending key (confirmed,
their answer was lost: timeout, reset, 5xx, or no result recorded: the function stopped mid-push), pushes the AWSCURRENT key to exactly those sites again (while it is still valid at Stripe), then removes the AWSPENDING label.
If a site does not confirm the current key, the label is kept: it would otherwise hide the one record of
a site left holding the pending key.

Refuses while the ledger shows a step that started less than 15 minutes ago and is still running: the
rotation function may still be pushing.

Interrupts: a first Ctrl-C (SIGINT) or SIGTERM during the re-push stops contacting new sites, waits up to
${INTERRUPT_GRACE_MS / 1000} s for the requests in flight, records the sites that confirmed, keeps AWSPENDING and exits 130
(SIGINT) or 143 (SIGTERM); run abort again to finish. A second signal exits at once. --json then lists
every site once: its result, not_attempted for a site never contacted, unknown for one whose answer did
not come in time (it may hold either key).

${awsOptionsHelp(USED)}
Options:
  --force, --yes       no confirmation question (required when stdin is not a terminal)
  --concurrency <n>    sites pushed at once, ${range(CONCURRENCY)} (default ${CONCURRENCY.default})
  --json               print the outcome as JSON on stdout (what would be text on stdout goes to
                       stderr)
  -v, --verbose        the push engine's structured log on stderr
  -h, --help           show this help

Exit codes:
  0  every site that took the pending key confirmed the current key and AWSPENDING was removed, or there
     was no stuck rotation
  1  a site did not confirm (the label is kept), a step is still running, the confirmation was declined,
     or AWS could not be reached
  2  usage or configuration error (no terminal to confirm and no --force, unknown secret or table)
  130/143  interrupted by SIGINT/SIGTERM during the re-push, after recording what was done (AWSPENDING kept)

Example:
  ${PROGRAM} abort --secret-id stripe-key-rotator-live/stripe-secret-key \\
    --ledger-table "$LEDGER_TABLE" --master-key-secret-id "$MASTER_API_KEY_SECRET_ARN"
`;

export const abortCommand: Command = { name: 'abort', help: HELP, run };

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  return withDeployment(parseOptions(argv, OPTIONS), USED, async ({ aws, values, target }) => {
    const ledgerTable = requiredSetting(values, cli.env, 'ledger-table');
    const masterSecretId = requiredSetting(values, cli.env, 'master-key-secret-id');
    const concurrency = settingNumber('concurrency', values.concurrency, CONCURRENCY);
    const force = values.force === true || values.yes === true;
    const json = values.json === true;
    // The text a reader needs goes to stdout; with --json the document does, and the text goes to stderr.
    const text = json ? cli.progress : cli.stdout;
    const outcome = (code: number, document: Record<string, unknown>, message: string): number => {
      if (json) writeJson(cli.stdout, document);
      text.write(message);
      return code;
    };
    if (!force && cli.stdin.isTTY !== true) {
      throw new UsageError(
        'refusing to abort without confirmation: stdin is not a terminal. Pass --force to abort ' +
          'non-interactively.',
      );
    }
    const repush = interruptiblePusher(cli, concurrency, values.verbose === true);
    const result = await abortRotation(
      {
        secrets: aws.secrets,
        ledger: { table: ledgerTable, store: aws.ledger(ledgerTable) },
        pusher: repush.pusher,
        explain: aws.explain,
        onSecretRead: (...secrets) => cli.hide(...secrets),
      },
      { secretId: target.secretId, masterKeySecretId: masterSecretId },
      {
        onStuck: (stuck) =>
          text.write(
            `Stuck rotation: version ${stuck.pendingVersionId} of ${stuck.secretArn} is labelled AWSPENDING ` +
              `(ledger: ${stuck.ledgerOutcome ?? 'no record, no site was contacted'}).\n` +
              `Sites that took or may hold the pending key (${stuck.sites.length}):\n${stuck.sites.map((s) => `  ${s}\n`).join('')}`,
          ),
        ...(force
          ? {}
          : {
              confirm: (stuck) =>
                askYes(
                  cli,
                  `About to push the AWSCURRENT key to ${count(stuck.sites.length, 'site')}, then remove AWSPENDING from ` +
                    `version ${stuck.pendingVersionId}.\nType "yes" to abort the rotation: `,
                ),
            }),
        onPushStart: (key, sites) =>
          cli.progress.write(`Pushing the current key ${key} to ${count(sites, 'site')}...\n`),
        onPushEnd: (results) => {
          const failed = results.filter((r) => r.outcome !== 'confirmed');
          if (failed.length > 0) {
            text.write(
              `Sites that did not confirm the current key (${failed.length} of ${repush.size()}):\n` +
                failed.map((r) => `  ${resultLine(r)}\n`).join(''),
            );
          }
        },
        interrupted: () => repush.signal(),
        onLedgerWarning: (what, error) => cli.stderr.write(ledgerWarning(what, error)),
      },
    );
    switch (result.outcome) {
      case 'no_stuck_rotation':
        return outcome(
          EXIT_OK,
          { aborted: false, reason: 'no_stuck_rotation', secretArn: result.secretArn },
          `No stuck rotation: no version of ${result.secretArn} other than AWSCURRENT is labelled AWSPENDING.\n`,
        );
      case 'step_running': {
        const { outcome: _, ...running } = result;
        if (json) writeJson(cli.stdout, { aborted: false, reason: 'step_running', ...running });
        cli.stderr.write(
          `Refusing to abort: the ledger shows ${result.step} running since ${result.startedAt}, less than ` +
            '15 minutes ago; the rotation function may still be pushing. Wait for it to end ' +
            `('${suggest(target, 'status')}' shows it), then run abort again.\n`,
        );
        return EXIT_NOT_CONFIRMED;
      }
      case 'declined':
        if (json) {
          writeJson(cli.stdout, {
            aborted: false,
            reason: 'declined',
            secretArn: result.secretArn,
            pendingVersionId: result.pendingVersionId,
          });
        }
        cli.stderr.write('Nothing was changed.\n');
        return EXIT_NOT_CONFIRMED;
    }
    const { secretArn, pendingVersionId, sites, results, unknown } = result;
    const base = { secretArn, pendingVersionId, sites };
    const resultsJson = [...results.map(siteResultJson), ...unknown.map(unknownSiteJson)];
    const unknownText =
      unknown.length === 0
        ? ''
        : `No answer came from ${count(unknown.length, 'site')} before exiting: ${unknown.join(', ')} may hold either key.\n`;
    const signal = repush.signal();
    if (result.outcome === 'interrupted' && signal !== undefined) {
      const confirmed = results.filter((r) => r.outcome === 'confirmed').length;
      return outcome(
        EXIT_INTERRUPTED[signal],
        {
          aborted: false,
          reason: 'interrupted',
          interrupted: signal,
          ...base,
          results: resultsJson,
        },
        `Interrupted (${signal}): ${confirmed} of ${count(sites.length, 'site')} confirmed the current key again ` +
          `(recorded in the ledger). ${unknownText}AWSPENDING is kept on version ${pendingVersionId}: run '${suggest(target, 'abort')}' again ` +
          'to finish.\n',
      );
    }
    if (result.outcome !== 'aborted') {
      return outcome(
        EXIT_NOT_CONFIRMED,
        { aborted: false, reason: 'sites_not_confirmed', ...base, results: resultsJson },
        `${unknownText}AWSPENDING is kept on version ${pendingVersionId}: sites above still hold the pending key, and the label ` +
          `is what shows the rotation unfinished. Fix them and run '${suggest(target, 'abort')}' again.\n`,
      );
    }
    return outcome(
      EXIT_OK,
      { aborted: true, ...base, results: resultsJson },
      `Rotation aborted: ${count(sites.length, 'site')} confirmed the current key again and AWSPENDING was ` +
        `removed from version ${pendingVersionId}. A new rotation can start.\n`,
    );
  });
}

function ledgerWarning(what: 'holdings' | 'outcome', error: unknown): string {
  if (what === 'outcome') {
    return `warning: could not record the abort in the ledger (${error instanceof Error ? error.message : String(error)})\n`;
  }
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return (
    `warning: could not record in the ledger that the sites hold the current key again (${detail}); ` +
    `'${PROGRAM} status' may show them holding the pending key\n`
  );
}
