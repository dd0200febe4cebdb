/**
 * `rotate`: starts a rotation of the rotated secret (RotateSecret, immediately, with the function the secret
 * is configured with). With `--wait` it follows the rotation from DescribeSecret and the propagation ledger
 * until AWSCURRENT moves to the new version (exit 0), or the rotation fails or the wait times out (exit 1,
 * naming the sites that did not confirm).
 */
import { SETTINGS, startRotation, type WaitResult, waitForRotation } from '../../core/index.js';
import { formatDuration } from '../duration.js';
import {
  AWS_OPTIONS,
  type AwsTarget,
  awsDeps,
  awsOptionsHelp,
  awsTarget,
  setting,
  suggest,
  withStackOutputs,
} from './aws.js';
import { writeJson } from './format.js';
import {
  type CliContext,
  type Command,
  type DurationBounds,
  durationFlag,
  durationRange,
  EXIT_INTERRUPTED,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  InterruptedError,
  PROGRAM,
  parseOptions,
  type StopSignal,
} from './frame.js';
import { endText, liveProgress, notStartedText, tally } from './rotate-view.js';

const OPTIONS = {
  ...AWS_OPTIONS,
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  'failed-grace': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const WAIT_TIMEOUT: DurationBounds = { default: 30 * 60_000, min: 60_000, max: 24 * 3_600_000 };
/**
 * Secrets Manager invokes the function asynchronously: Lambda retries a failed step twice, about 1 and 2
 * minutes later. A `failed` ledger outcome is final only once no retry changed the record for longer.
 */
const FAILED_GRACE: DurationBounds = { default: 4 * 60_000, min: 0, max: 3_600_000 };
const POLL_INTERVAL_MS = 2_000;

/** The deployment settings this command reads (flags, stack outputs or environment). */
const USED = ['ledger-table'] as const;

const HELP = `Usage: ${PROGRAM} rotate (--stack <name> | --secret-id <id>) [--wait] [options]

Starts a rotation now (RotateSecret with RotateImmediately, through the rotation function the secret is
configured with) and prints the new version id. The function rotates to the staged key, or pushes the
current key again when nothing new is staged.

With --wait, follows the rotation until it ends, showing the sites confirmed / failed / remaining from the
propagation ledger (a live line on a terminal, plain lines otherwise).

${awsOptionsHelp(USED)}
Options:
  --wait                      follow the rotation until AWSCURRENT moves (needs --ledger-table for
                              the per-site progress; without it only the labels are followed)
  --timeout <duration>        give up waiting after this long, ${durationRange(WAIT_TIMEOUT)} (default ${formatDuration(WAIT_TIMEOUT.default)}; the
                              rotation itself goes on)
  --failed-grace <duration>   a rotation the ledger records as failed is reported failed once nothing
                              changed for this long, ${durationRange(FAILED_GRACE)} (default ${formatDuration(FAILED_GRACE.default)}: Lambda retries
                              a failed step)
  --json                      print the outcome as JSON on stdout (progress still goes to stderr)
  -h, --help                  show this help

Exit codes:
  0  the rotation started (without --wait), or AWSCURRENT moved to the new version (--wait)
  1  the rotation failed (the failing sites are listed), the wait timed out, AWS could not be reached, or
     a rotation is already under way or stuck (AWSPENDING on another version: see status and abort)
  2  usage or configuration error (unknown secret, rotation not configured, no credentials)
  130/143  interrupted by SIGINT/SIGTERM: the command stops at once, even in the middle of an AWS call;
     while waiting, the rotation goes on in AWS (with --json, the outcome document says "interrupted");
     before the rotation was known to start, the one error document of kind "interrupted"

Example:
  ${PROGRAM} rotate --secret-id stripe-key-rotator-live/stripe-secret-key --wait \\
    --ledger-table "$LEDGER_TABLE" --region eu-west-3
`;

export const rotateCommand: Command = { name: 'rotate', help: HELP, run };

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  const given = parseOptions(argv, OPTIONS);
  // Caught from the start: an interrupt ends any AWS call at once (one that never answers included).
  let interrupted: StopSignal | undefined;
  const stop = new AbortController();
  const removeInterrupt = cli.onInterrupt((signal) => {
    interrupted = signal;
    stop.abort(signal);
  });
  const aws = awsDeps(given, stop.signal);
  let target: AwsTarget | undefined;
  try {
    const values = await withStackOutputs(given, aws, USED);
    target = awsTarget(values);
    const timeoutMs = durationFlag('timeout', values.timeout, WAIT_TIMEOUT);
    const graceMs = durationFlag('failed-grace', values['failed-grace'], FAILED_GRACE);
    const ledgerTable = setting(values, cli.env, 'ledger-table');
    const json = values.json === true;
    const deps = { secrets: aws.secrets, explain: aws.explain };
    const started = await startRotation(deps, { secretId: target.secretId });
    if (!started.started) {
      if (json) {
        const { arn: secretArn, pendingVersionId } = started;
        writeJson(cli.stdout, { started: false, secretArn, reason: 'rotation_under_way', pendingVersionId });
      }
      cli.stderr.write(notStartedText(started, target));
      return EXIT_NOT_CONFIRMED;
    }
    const { arn, versionId } = started;
    if (started.functionNotInvoked !== undefined) {
      cli.progress.write(
        `note: RotateSecret answered ResourceNotFoundException for ${started.functionNotInvoked} after creating version ${versionId}: ` +
          'the rotation started but its function could not be invoked (an emulator without the function?); ' +
          'the steps must be run by other means\n',
      );
    }
    if (values.wait !== true) {
      if (json) writeJson(cli.stdout, { started: true, secretArn: arn, versionId });
      else cli.stdout.write(`Rotation started: version ${versionId} of ${arn} (labelled AWSPENDING)\n`);
      return EXIT_OK;
    }
    // With --json the one document comes at the end; the start is progress.
    (json ? cli.progress : cli.stdout).write(
      `Rotation started: version ${versionId} of ${arn} (labelled AWSPENDING)\n`,
    );
    if (ledgerTable === undefined) {
      cli.progress.write(
        `note: no --ledger-table (or ${SETTINGS.ledgerTable.variable}): per-site progress is not shown\n`,
      );
    }
    const progress = liveProgress(cli.progress);
    let ended: WaitResult;
    try {
      ended = await waitForRotation(
        {
          ...deps,
          ledger:
            ledgerTable === undefined ? undefined : { table: ledgerTable, store: aws.ledger(ledgerTable) },
        },
        {
          id: { secretArn: arn, token: versionId },
          timeoutMs,
          failedGraceMs: graceMs,
          pollIntervalMs: POLL_INTERVAL_MS,
        },
        { onSnapshot: (snapshot) => progress.show(snapshot), signal: stop.signal },
      );
    } finally {
      progress.finish();
    }
    const signal = ended.outcome === 'interrupted' ? interrupted : undefined;
    const reason = reasonOf(ended, versionId, timeoutMs, target);
    if (json) {
      writeJson(cli.stdout, {
        started: true,
        secretArn: arn,
        versionId,
        outcome: ended.outcome,
        ...(reason === undefined ? {} : { reason }),
        ...(signal === undefined ? {} : { interrupted: signal }),
        sites: ledgerTable === undefined ? null : { total: ended.sites.length, ...tally(ended.sites) },
        unconfirmed: ended.sites
          .filter((s) => s.status !== 'confirmed')
          .map((s) => ({
            site: s.site,
            status: s.status,
            outcome: s.outcome ?? null,
            detail: s.detail ?? null,
          })),
      });
    } else cli.stdout.write(endText(ended, versionId, reason, signal, ledgerTable !== undefined, target));
    if (ended.outcome === 'finished') return EXIT_OK;
    return signal === undefined ? EXIT_NOT_CONFIRMED : EXIT_INTERRUPTED[signal];
  } catch (error) {
    // An interrupt before the wait: whatever the call it cut short said, the operator stopped it.
    if (interrupted === undefined || error instanceof InterruptedError) throw error;
    const status = target === undefined ? `${PROGRAM} status` : suggest(target, 'status');
    throw new InterruptedError(
      interrupted,
      `Interrupted by ${interrupted} before the rotation was known to have started: it may or may not ` +
        `have started; '${status}' shows it.`,
    );
  } finally {
    removeInterrupt();
    aws.destroy();
  }
}

/** Why the rotation did not finish, in an operator's words (also the --json `reason`). */
function reasonOf(
  ended: WaitResult,
  versionId: string,
  timeoutMs: number,
  target: AwsTarget,
): string | undefined {
  switch (ended.outcome) {
    case 'cleared':
      return `version ${versionId} no longer carries AWSPENDING (the rotation was cleared or aborted)`;
    case 'failed':
      return `the rotation function recorded a failure and nothing changed for ${formatDuration(Math.round((ended.quietForMs ?? 0) / 1000) * 1000)}`;
    case 'timed_out':
      return (
        `still not finished after ${formatDuration(timeoutMs)} (the rotation goes on; ` +
        `'${suggest(target, 'status')}' shows where it stands)`
      );
    default:
      return undefined;
  }
}
