/**
 * `abort`: ends a stuck rotation (AWSPENDING on a version other than AWSCURRENT). The sites the ledger says
 * took or may hold the pending key (confirmed, or their answer was lost) get the AWSCURRENT key again — while the old Stripe key is still valid — and only
 * when every one of them confirmed is the AWSPENDING label removed, so a new rotation can start.
 */
import { DescribeSecretCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerStore } from '../../adapters/aws/secrets-manager.js';
import {
  AWSCURRENT,
  AWSPENDING,
  ConfigurationError,
  createFleetPusher,
  describeKey,
  FleetConnector,
  FUNCTION_TIMEOUT_MAX_MS,
  keyIdentity,
  marksUnfinishedRotation,
  masterApiKeyProblem,
  mayHoldRotationKey,
  type RotationId,
  type RotationLedger,
  type RotationRecord,
  range,
  SETTINGS,
  type SiteResult,
} from '../../core/index.js';
import {
  AWS_OPTIONS,
  awsClients,
  awsOptionsHelp,
  awsTarget,
  operatorFixable,
  reading,
  requiredSetting,
  withStackOutputs,
} from './aws.js';
import { cliLogger, count, resultLine, siteResultJson, writeJson } from './format.js';
import {
  askYes,
  type CliContext,
  type Command,
  EXIT_INTERRUPTED,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  type OutputStream,
  PROGRAM,
  parseOptions,
  settingNumber,
  UsageError,
} from './frame.js';
import { INTERRUPT_GRACE_MS, type InterruptWindow, interruptWindow } from './interrupt.js';
import { pushProgress } from './progress.js';

const OPTIONS = {
  ...AWS_OPTIONS,
  force: { type: 'boolean' },
  yes: { type: 'boolean' },
  concurrency: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A step marked running more recently than this may still be pushing: no invocation runs longer. */
const RUNNING_STEP_WINDOW_MS = FUNCTION_TIMEOUT_MAX_MS;
/** The function's own defaults and bounds: the re-push behaves like the rotation's push. */
const { pushConcurrency: CONCURRENCY } = SETTINGS;
const SITE_TIMEOUT_MS = SETTINGS.siteTimeoutMs.default;
const SITE_ATTEMPTS = SETTINGS.siteAttempts.default;

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
(SIGINT) or 143 (SIGTERM); run abort again to finish. A second signal exits at once.

${awsOptionsHelp(['ledger-table', 'master-key-secret-id'])}
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

export const abortCommand: Command = {
  name: 'abort',
  help: HELP,
  run,
};

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  const values = await withStackOutputs(parseOptions(argv, OPTIONS));
  const target = awsTarget(values);
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
  const clients = awsClients(target);
  const store = new SecretsManagerStore(clients.secretsManager);
  try {
    const described = await reading(`Describing the secret ${target.secretId}`, () =>
      clients.secretsManager.send(new DescribeSecretCommand({ SecretId: target.secretId })),
    );
    const arn = described.ARN ?? target.secretId;
    const versions = Object.entries(described.VersionIdsToStages ?? {});
    const pending = versions.find(([, s]) => marksUnfinishedRotation(s));
    const current = versions.find(([, s]) => s.includes(AWSCURRENT));
    if (pending === undefined) {
      return outcome(
        EXIT_OK,
        { aborted: false, reason: 'no_stuck_rotation', secretArn: arn },
        `No stuck rotation: no version of ${arn} other than AWSCURRENT is labelled AWSPENDING.\n`,
      );
    }
    if (current === undefined) throw new ConfigurationError(`${arn} has no AWSCURRENT version`);
    const [pendingId] = pending;
    const id: RotationId = { secretArn: arn, token: pendingId };

    const ledger = clients.ledger(ledgerTable);
    const record = await reading(`Reading the ledger table ${ledgerTable}`, () => ledger.get(id));
    const running = record === undefined ? undefined : recentlyRunning(record, Date.now());
    if (running !== undefined) {
      if (json) {
        writeJson(cli.stdout, {
          aborted: false,
          reason: 'step_running',
          secretArn: arn,
          pendingVersionId: pendingId,
          ...running,
        });
      }
      cli.stderr.write(
        `Refusing to abort: the ledger shows ${running.step} running since ${running.startedAt}, less than ` +
          '15 minutes ago; the rotation function may still be pushing. Wait for it to end ' +
          `('${PROGRAM} status' shows it), then run abort again.\n`,
      );
      return EXIT_NOT_CONFIRMED;
    }
    // Not only the confirmed sites: one whose answer was lost (a timeout, the function stopped mid-push)
    // may have stored the key too.
    const took = record === undefined ? [] : (await ledger.sites(id)).filter(mayHoldRotationKey);
    text.write(
      `Stuck rotation: version ${pendingId} of ${arn} is labelled AWSPENDING ` +
        `(ledger: ${record === undefined ? 'no record, no site was contacted' : record.outcome}).\n` +
        `Sites that took or may hold the pending key (${took.length}):\n${took.map((s) => `  ${s.site}\n`).join('')}`,
    );
    if (
      !force &&
      !(await askYes(
        cli,
        `About to push the AWSCURRENT key to ${count(took.length, 'site')}, then remove AWSPENDING from ` +
          `version ${pendingId}.\nType "yes" to abort the rotation: `,
      ))
    ) {
      if (json)
        writeJson(cli.stdout, {
          aborted: false,
          reason: 'declined',
          secretArn: arn,
          pendingVersionId: pendingId,
        });
      cli.stderr.write('Nothing was changed.\n');
      return EXIT_NOT_CONFIRMED;
    }
    let results: readonly SiteResult[] = [];
    const base = { secretArn: arn, pendingVersionId: pendingId, sites: took.map((s) => s.site) };

    if (took.length > 0) {
      const interrupt = interruptWindow(cli);
      let pushed: Awaited<ReturnType<typeof repush>>;
      try {
        pushed = await repush(
          took.map((s) => s.site),
          arn,
          masterSecretId,
          { concurrency, verbose: values.verbose === true, interrupt, text },
          store,
          cli,
        );
      } finally {
        interrupt.close();
      }
      const { key } = pushed;
      results = pushed.results;
      const [currentId] = current;
      await recordRestored(ledger, arn, results, key, currentId, cli);
      const signal = interrupt.signal;
      if (signal !== undefined) {
        const confirmed = results.filter((r) => r.outcome === 'confirmed').length;
        return outcome(
          EXIT_INTERRUPTED[signal],
          {
            aborted: false,
            reason: 'interrupted',
            interrupted: signal,
            ...base,
            results: results.map(siteResultJson),
          },
          `Interrupted (${signal}): ${confirmed} of ${count(took.length, 'site')} confirmed the current key again ` +
            `(recorded in the ledger). AWSPENDING is kept on version ${pendingId}: run '${PROGRAM} abort' again ` +
            'to finish.\n',
        );
      }
      if (results.some((r) => r.outcome !== 'confirmed')) {
        return outcome(
          EXIT_NOT_CONFIRMED,
          { aborted: false, reason: 'sites_not_confirmed', ...base, results: results.map(siteResultJson) },
          `AWSPENDING is kept on version ${pendingId}: sites above still hold the pending key, and the label ` +
            `is what shows the rotation unfinished. Fix them and run '${PROGRAM} abort' again.\n`,
        );
      }
    }
    try {
      await clients.secretsManager.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: AWSPENDING,
          RemoveFromVersionId: pendingId,
        }),
      );
    } catch (error) {
      throw operatorFixable(error, `Removing AWSPENDING from version ${pendingId} of ${arn}`);
    }
    if (record !== undefined) {
      // Audit only (the label is gone): the rotation's record says how it ended.
      await ledger
        .update(id, { outcome: 'aborted', finishedAt: new Date().toISOString() })
        .catch((error: unknown) =>
          cli.stderr.write(
            `warning: could not record the abort in the ledger (${error instanceof Error ? error.message : String(error)})\n`,
          ),
        );
    }
    return outcome(
      EXIT_OK,
      { aborted: true, ...base, results: results.map(siteResultJson) },
      `Rotation aborted: ${count(took.length, 'site')} confirmed the current key again and AWSPENDING was ` +
        `removed from version ${pendingId}. A new rotation can start.\n`,
    );
  } finally {
    clients.destroy();
  }
}

function recentlyRunning(
  record: RotationRecord,
  now: number,
): { step: string; startedAt: string } | undefined {
  for (const [step, mark] of Object.entries(record.steps)) {
    if (mark?.status === 'running' && now - Date.parse(mark.startedAt) < RUNNING_STEP_WINDOW_MS) {
      return { step, startedAt: mark.startedAt };
    }
  }
  return undefined;
}

/**
 * Records in the ledger that the re-pushed sites hold the AWSCURRENT key again (otherwise `status` keeps
 * showing them holding the pending one). Their results in the stuck rotation are kept as they were. Best
 * effort: the sites already hold the key, a ledger outage must not keep the rotation stuck.
 */
async function recordRestored(
  ledger: RotationLedger,
  secretArn: string,
  results: readonly SiteResult[],
  key: string,
  currentId: string,
  cli: CliContext,
): Promise<void> {
  const confirmedAt = new Date().toISOString();
  const holdings = results
    .filter((result) => result.outcome === 'confirmed')
    .map((result) => ({
      site: result.site,
      ...keyIdentity(key),
      versionId: currentId,
      confirmedAt,
    }));
  try {
    await ledger.recordHoldings(secretArn, holdings);
  } catch (error) {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    cli.stderr.write(
      `warning: could not record in the ledger that the sites hold the current key again (${what}); ` +
        `'${PROGRAM} status' may show them holding the pending key\n`,
    );
  }
}

/**
 * Pushes AWSCURRENT to `sites`: the key pushed and the results received, one per site unless an interrupt's
 * grace period ran out with requests still in flight (those sites have none).
 */
async function repush(
  sites: readonly string[],
  arn: string,
  masterSecretId: string,
  options: { concurrency: number; verbose: boolean; interrupt: InterruptWindow; text: OutputStream },
  store: SecretsManagerStore,
  cli: CliContext,
): Promise<{ key: string; results: readonly SiteResult[] }> {
  const { concurrency, verbose, interrupt, text } = options;
  const key = await reading(`Reading the AWSCURRENT value of ${arn}`, () =>
    store.getValue(arn, { stage: AWSCURRENT }),
  );
  const master = await reading(`Reading the master API key secret ${masterSecretId}`, () =>
    store.readCurrent(masterSecretId),
  );
  cli.hide(key, master);
  if (key === undefined) throw new ConfigurationError(`The AWSCURRENT version of ${arn} holds no value`);
  const problem = master === undefined ? 'holds no value' : masterApiKeyProblem(master);
  if (master === undefined || problem !== undefined) {
    throw new ConfigurationError(`The master API key in ${masterSecretId} ${problem ?? 'holds no value'}`);
  }
  const connector = new FleetConnector({ connectTimeoutMs: SITE_TIMEOUT_MS });
  try {
    const pusher = createFleetPusher({
      connector,
      logger: cliLogger(cli.stderr, verbose),
      concurrency,
      siteTimeoutMs: SITE_TIMEOUT_MS,
      attempts: SITE_ATTEMPTS,
      // These sites already accepted a push in this rotation: no canary to protect the rest.
      canaryCount: 0,
    });
    cli.progress.write(`Pushing the current key ${describeKey(key)} to ${count(sites.length, 'site')}...\n`);
    const progress = pushProgress(cli.progress, sites.length);
    const { report, answered } = await interrupt.push(
      pusher,
      { sites, key, masterApiKey: master },
      (result) => progress.report(result),
    );
    progress.finish();
    const results = report?.results ?? [...answered.values()];
    const failed = results.filter((r) => r.outcome !== 'confirmed');
    if (failed.length > 0) {
      text.write(
        `Sites that did not confirm the current key (${failed.length} of ${sites.length}):\n` +
          failed.map((r) => `  ${resultLine(r)}\n`).join(''),
      );
    }
    return { key, results };
  } finally {
    // A request still in flight after an interrupt must not keep the process alive.
    connector.destroy();
  }
}
