/**
 * `rotate`: starts a rotation of the rotated secret (RotateSecret, immediately, with the function the secret
 * is configured with). With `--wait` it follows the rotation from DescribeSecret and the propagation ledger
 * until AWSCURRENT moves to the new version (exit 0), or the rotation fails or the wait times out (exit 1,
 * naming the sites that did not confirm).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  AWSCURRENT,
  AWSPENDING,
  ConfigurationError,
  marksUnfinishedRotation,
  type RotationId,
  SETTINGS,
  type SiteRecord,
} from '../../core/index.js';
import { formatDuration } from '../duration.js';
import {
  AWS_OPTIONS,
  type AwsClients,
  awsClients,
  awsOptionsHelp,
  awsTarget,
  operatorFixable,
  reading,
  setting,
  withStackOutputs,
} from './aws.js';
import { count, table, writeJson } from './format.js';
import {
  type CliContext,
  type Command,
  type DurationBounds,
  durationFlag,
  durationRange,
  EXIT_INTERRUPTED,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  type OutputStream,
  PROGRAM,
  parseOptions,
  type StopSignal,
} from './frame.js';

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

const HELP = `Usage: ${PROGRAM} rotate (--stack <name> | --secret-id <id>) [--wait] [options]

Starts a rotation now (RotateSecret with RotateImmediately, through the rotation function the secret is
configured with) and prints the new version id. The function rotates to the staged key, or pushes the
current key again when nothing new is staged.

With --wait, follows the rotation until it ends, showing the sites confirmed / failed / remaining from the
propagation ledger (a live line on a terminal, plain lines otherwise).

${awsOptionsHelp(['ledger-table'])}
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
  130/143  interrupted by SIGINT/SIGTERM while waiting: the following stops, the rotation goes on in AWS

Example:
  ${PROGRAM} rotate --secret-id stripe-key-rotator-live/stripe-secret-key --wait \\
    --ledger-table "$LEDGER_TABLE" --region eu-west-3
`;

export const rotateCommand: Command = {
  name: 'rotate',
  help: HELP,
  run,
};

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  const values = await withStackOutputs(parseOptions(argv, OPTIONS));
  const target = awsTarget(values);
  const timeoutMs = durationFlag('timeout', values.timeout, WAIT_TIMEOUT);
  const graceMs = durationFlag('failed-grace', values['failed-grace'], FAILED_GRACE);
  const ledgerTable = setting(values, cli.env, 'ledger-table');
  const json = values.json === true;
  const clients = awsClients(target);
  try {
    const started = await startRotation(clients, target.secretId, cli);
    if ('pendingVersionId' in started) {
      if (json) {
        writeJson(cli.stdout, {
          started: false,
          secretArn: started.arn,
          reason: 'rotation_under_way',
          pendingVersionId: started.pendingVersionId,
        });
      }
      cli.stderr.write(
        `Not started: version ${started.pendingVersionId} of ${started.arn} is labelled AWSPENDING, so a ` +
          'rotation is under way or stuck, and Secrets Manager refuses a new one. ' +
          `Follow it with '${PROGRAM} status'; if it is stuck, clear it with '${PROGRAM} abort', then rotate again.\n`,
      );
      return EXIT_NOT_CONFIRMED;
    }
    const { arn, versionId } = started;
    if (values.wait !== true) {
      if (json) writeJson(cli.stdout, { started: true, secretArn: arn, versionId });
      else cli.stdout.write(`Rotation started: version ${versionId} of ${arn} (labelled AWSPENDING)\n`);
      return EXIT_OK;
    }
    // Waiting is all this command does after RotateSecret: an interrupt only stops the following, at once.
    // Caught before the start is printed, so a Ctrl-C right after it is never the default (silent) death.
    let interrupted: StopSignal | undefined;
    const wakeUp = new AbortController();
    const removeInterrupt = cli.onInterrupt((signal) => {
      interrupted = signal;
      wakeUp.abort();
    });
    let ended: WaitEnd;
    try {
      // With --json the one document comes at the end; the start is progress.
      (json ? cli.progress : cli.stdout).write(
        `Rotation started: version ${versionId} of ${arn} (labelled AWSPENDING)\n`,
      );
      ended = await waitFor(
        clients,
        { secretArn: arn, token: versionId },
        ledgerTable,
        cli,
        { deadline: Date.now() + timeoutMs, timeoutMs, graceMs },
        { signal: () => interrupted, wakeUp: wakeUp.signal },
      );
    } finally {
      removeInterrupt();
    }
    if (json) {
      writeJson(cli.stdout, {
        started: true,
        secretArn: arn,
        versionId,
        outcome: ended.outcome,
        ...(ended.reason === undefined ? {} : { reason: ended.reason }),
        ...(ended.signal === undefined ? {} : { interrupted: ended.signal }),
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
    } else cli.stdout.write(ended.text);
    return ended.code;
  } finally {
    clients.destroy();
  }
}

async function startRotation(
  clients: AwsClients,
  secretId: string,
  cli: CliContext,
): Promise<{ arn: string; versionId: string } | { arn: string; pendingVersionId: string }> {
  const described = await reading(`Describing the secret ${secretId}`, () =>
    clients.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId })),
  );
  const arn = described.ARN ?? secretId;
  const pendingVersionId = unfinishedPending(described.VersionIdsToStages);
  if (pendingVersionId !== undefined) return { arn, pendingVersionId };
  const lambdaArn = described.RotationLambdaARN;
  if (lambdaArn === undefined || lambdaArn === '') {
    throw new ConfigurationError(
      `${arn} has no rotation function configured: deploy the stack (it enables rotation) before rotating`,
    );
  }
  // Our own token is the new version id: known even when the call answers an error after creating it.
  const versionId = randomUUID();
  try {
    await clients.secretsManager.send(
      new RotateSecretCommand({
        SecretId: arn,
        // The configured function, passed explicitly: without it some emulators forget the configuration.
        RotationLambdaARN: lambdaArn,
        RotateImmediately: true,
        ClientRequestToken: versionId,
      }),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'InvalidRequestException') {
      // Another rotation started between the two calls.
      const again = await reading(`Describing the secret ${arn}`, () =>
        clients.secretsManager.send(new DescribeSecretCommand({ SecretId: arn })),
      );
      const pending = unfinishedPending(again.VersionIdsToStages);
      if (pending !== undefined) return { arn, pendingVersionId: pending };
    }
    // An emulator without the function (moto) creates the AWSPENDING version, then answers
    // ResourceNotFoundException for the function. The secret's labels tell which happened; AWS_ENDPOINT_URL
    // does not (it also configures VPC endpoints and proxies in front of the real service).
    if (!(error instanceof Error && error.name === 'ResourceNotFoundException')) {
      throw operatorFixable(error, `Starting the rotation of ${arn}`);
    }
    const after = await reading(`Describing the secret ${arn}`, () =>
      clients.secretsManager.send(new DescribeSecretCommand({ SecretId: arn })),
    );
    if (!(after.VersionIdsToStages?.[versionId] ?? []).includes(AWSPENDING)) {
      throw operatorFixable(error, `Starting the rotation of ${arn}`);
    }
    cli.progress.write(
      `note: RotateSecret answered ResourceNotFoundException for ${lambdaArn} after creating version ${versionId}: ` +
        'the rotation started but its function could not be invoked (an emulator without the function?); ' +
        'the steps must be run by other means\n',
    );
  }
  return { arn, versionId };
}

/** The version of a rotation under way or stuck, if any. */
function unfinishedPending(stages: Record<string, string[]> | undefined): string | undefined {
  return Object.entries(stages ?? {}).find(([, labels]) => marksUnfinishedRotation(labels))?.[0];
}

/** How a wait ended: its exit code, the text without --json, and what --json shows. */
interface WaitEnd {
  readonly code: number;
  readonly outcome: 'finished' | 'failed' | 'cleared' | 'timed_out' | 'interrupted';
  readonly reason?: string;
  readonly signal?: StopSignal;
  /** The ledger's per-site records at the last poll (none without a ledger table). */
  readonly sites: readonly SiteRecord[];
  readonly text: string;
}

interface WaitLimits {
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly graceMs: number;
}

/** The first SIGINT or SIGTERM, caught from before "Rotation started" is printed until the wait ends. */
interface WaitInterrupt {
  readonly signal: () => StopSignal | undefined;
  /** Aborted by the signal: ends the pause between two polls at once. */
  readonly wakeUp: AbortSignal;
}

interface Snapshot {
  readonly stages: readonly string[] | undefined;
  readonly outcome: string | undefined;
  readonly sites: readonly SiteRecord[];
  /** Changes whenever the function records anything for this rotation. */
  readonly signature: string;
}

async function snapshot(
  clients: AwsClients,
  id: RotationId,
  ledgerTable: string | undefined,
): Promise<Snapshot> {
  const described = await reading(`Describing the secret ${id.secretArn}`, () =>
    clients.secretsManager.send(new DescribeSecretCommand({ SecretId: id.secretArn })),
  );
  const stages = described.VersionIdsToStages?.[id.token];
  if (ledgerTable === undefined) {
    return { stages, outcome: undefined, sites: [], signature: JSON.stringify(stages) };
  }
  const ledger = clients.ledger(ledgerTable);
  const record = await reading(`Reading the ledger table ${ledgerTable}`, () => ledger.get(id));
  // createSecret writes the record: until then there is nothing per site to show.
  const sites = record === undefined ? [] : await ledger.sites(id);
  return {
    stages,
    outcome: record?.outcome,
    sites,
    signature: JSON.stringify([stages, record?.updatedAt, record?.outcome, sites.map((s) => s.status)]),
  };
}

async function waitFor(
  clients: AwsClients,
  id: RotationId,
  ledgerTable: string | undefined,
  cli: CliContext,
  limits: WaitLimits,
  interrupt: WaitInterrupt,
): Promise<WaitEnd> {
  if (ledgerTable === undefined) {
    cli.progress.write(
      `note: no --ledger-table (or ${SETTINGS.ledgerTable.variable}): per-site progress is not shown\n`,
    );
  }
  const progress = liveProgress(cli.progress);
  let lastSites: readonly SiteRecord[] = [];
  let lastSignature = '';
  let lastChange = Date.now();
  for (;;) {
    const interrupted = interrupt.signal();
    if (interrupted !== undefined) {
      progress.finish();
      return {
        code: EXIT_INTERRUPTED[interrupted],
        outcome: 'interrupted',
        signal: interrupted,
        sites: lastSites,
        text:
          `Interrupted (${interrupted}): stopped following. The rotation of version ${id.token} goes on in AWS; ` +
          `'${PROGRAM} status' shows where it stands.\n`,
      };
    }
    const verdict = await pollOnce();
    if (verdict !== undefined) return verdict;
    await sleep(Math.min(POLL_INTERVAL_MS, Math.max(0, limits.deadline - Date.now())), undefined, {
      signal: interrupt.wakeUp,
    }).catch(() => undefined);
  }

  async function pollOnce(): Promise<WaitEnd | undefined> {
    const now = Date.now();
    const state = await snapshot(clients, id, ledgerTable);
    lastSites = state.sites;
    if (state.signature !== lastSignature) {
      lastSignature = state.signature;
      lastChange = now;
    }
    progress.show(state);
    if (state.stages?.includes(AWSCURRENT) === true) {
      progress.finish();
      return {
        code: EXIT_OK,
        outcome: 'finished',
        sites: state.sites,
        text:
          `Rotation finished: AWSCURRENT is now version ${id.token}` +
          (ledgerTable === undefined ? '' : `; ${confirmedText(state.sites)}`) +
          '\n',
      };
    }
    const why: { outcome: WaitEnd['outcome']; reason: string } | undefined =
      state.stages?.includes(AWSPENDING) !== true
        ? {
            outcome: 'cleared',
            reason: `version ${id.token} no longer carries AWSPENDING (the rotation was cleared or aborted)`,
          }
        : state.outcome === 'failed' && now - lastChange >= limits.graceMs
          ? {
              outcome: 'failed',
              reason: `the rotation function recorded a failure and nothing changed for ${formatDuration(Math.round((now - lastChange) / 1000) * 1000)}`,
            }
          : now >= limits.deadline
            ? {
                outcome: 'timed_out',
                reason:
                  `still not finished after ${formatDuration(limits.timeoutMs)} (the rotation goes on; ` +
                  `'${PROGRAM} status' shows where it stands)`,
              }
            : undefined;
    if (why !== undefined) {
      progress.finish();
      return {
        code: EXIT_NOT_CONFIRMED,
        ...why,
        sites: state.sites,
        text: `Rotation did not finish: ${why.reason}. AWSCURRENT has not moved.\n${failureText(state.sites)}`,
      };
    }
    return undefined;
  }
}

function tally(sites: readonly SiteRecord[]) {
  const confirmed = sites.filter((s) => s.status === 'confirmed').length;
  const failed = sites.filter((s) => s.status === 'failed').length;
  return { confirmed, failed, remaining: sites.length - confirmed - failed };
}

function confirmedText(sites: readonly SiteRecord[]): string {
  const { confirmed } = tally(sites);
  return `${confirmed} of ${count(sites.length, 'site')} confirmed`;
}

function progressText(state: Snapshot): string {
  const labels = state.stages?.join(',') || 'no label';
  if (state.outcome === undefined) return `waiting for the rotation function (version ${labels})`;
  const { confirmed, failed, remaining } = tally(state.sites);
  return (
    `${confirmed} confirmed · ${failed} failed · ${remaining} remaining of ${state.sites.length}` +
    ` (ledger: ${state.outcome})`
  );
}

function liveProgress(out: OutputStream): { show(state: Snapshot): void; finish(): void } {
  let last = '';
  let drawn = false;
  return {
    show(state) {
      const text = progressText(state);
      if (out.isTTY) {
        const columns = out.columns !== undefined && out.columns > 20 ? out.columns : 120;
        out.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
        drawn = true;
      } else if (text !== last) {
        // Plain output: one line per change, for logs and CI.
        out.write(`${text}\n`);
      }
      last = text;
    },
    finish() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}

function failureText(sites: readonly SiteRecord[]): string {
  const unconfirmed = sites.filter((s) => s.status !== 'confirmed');
  if (sites.length === 0) return 'The ledger has no per-site results for this rotation.\n';
  if (unconfirmed.length === 0)
    return `Every site confirmed (${sites.length}); the final step did not run.\n`;
  return (
    `Sites not confirmed (${unconfirmed.length} of ${sites.length}):\n` +
    table(
      ['SITE', 'STATUS', 'DETAIL'],
      unconfirmed.map((s) => [
        s.site,
        s.status === 'failed' ? `failed: ${s.outcome ?? 'unknown'}` : s.status,
        s.detail ?? '',
      ]),
    )
  );
}
