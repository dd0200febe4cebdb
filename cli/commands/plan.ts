/**
 * `plan`: everything a rotation would do, with zero writes anywhere (a dry run of the AWS side).
 * The key choice is the rotation core's own `chooseNextKey` (read-only), so plan and rotation can never
 * disagree on which key is chosen or why it is refused.
 */
import { SecretsManagerStore } from '../../adapters/aws/secrets-manager.js';
import { SsmSiteListSource } from '../../adapters/aws/ssm-site-list.js';
import type { RotationLogger, RotatorConfig } from '../../core/index.js';
import {
  AWSCURRENT,
  ConfigurationError,
  chooseNextKey,
  createStripeAgent,
  endpointUrl,
  type KeyChecker,
  type KeyMode,
  KeyRejectedError,
  keyJson,
  keyModeOf,
  marksUnfinishedRotation,
  maskKeysIn,
  masterApiKeyProblem,
  type RotationLedger,
  type RotationStart,
  RotationStateError,
  range,
  SETTINGS,
  type SecretDescription,
  type SiteList,
  StripeKeyChecker,
} from '../../core/index.js';
import {
  AWS_OPTIONS,
  awsClients,
  awsOptionsHelp,
  awsTarget,
  deploymentConfig,
  functionSettingsHelp,
  reading,
  withStackOutputs,
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
import { type Plan, render } from './plan-view.js';

const OPTIONS = {
  ...AWS_OPTIONS,
  'canary-sites': { type: 'string' },
  'stripe-check': { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: ${PROGRAM} plan (--stack <name> | --secret-id <id>) [options]

Shows everything a rotation would do now, and writes nothing anywhere (no secret, no ledger item, no
request to any site): the site list resolved and validated (parameter and line number of every bad
entry), the canary sites, the key that would be chosen (the staged key, or the current key pushed again)
and every check it must pass (format, mode, not the previous key, never in service before according to
the ledger), the master API key, and optionally a read-only check of the key with Stripe.

${awsOptionsHelp(['staged-secret-id', 'sites-parameter', 'ledger-table', 'master-key-secret-id', 'key-mode'])}
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
  2  usage or configuration error (missing setting, unknown rotated secret, no credentials)
`;

export const planCommand: Command = {
  name: 'plan',
  help: HELP,
  run,
};

interface KeyChoice {
  readonly trigger: RotationStart['trigger'];
  readonly key: string;
  readonly mode: KeyMode;
}

/** The reasons a core error gives: the error classes an operator must act on; anything else is thrown. */
function reasonsOf(error: unknown): string[] {
  if (error instanceof ConfigurationError) {
    const [first = error.message] = error.message.split('\n');
    return [first, ...error.problems.map((problem) => `  ${problem}`)];
  }
  if (error instanceof KeyRejectedError || error instanceof RotationStateError) return [error.message];
  throw error;
}

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  const values = await withStackOutputs(parseOptions(argv, OPTIONS));
  const target = awsTarget(values);
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
  const clients = awsClients(target);
  const agent = createStripeAgent();
  try {
    const plan = await makePlan({
      config,
      secretId: target.secretId,
      store: new SecretsManagerStore(clients.secretsManager),
      siteList: new SsmSiteListSource({ client: clients.ssm, parameter: config.sitesParameter }),
      ledger: clients.ledger(config.ledgerTable),
      stripe:
        values['stripe-check'] === true
          ? new StripeKeyChecker({ apiBase: config.stripeApiBase, agent, logger })
          : undefined,
      logger,
      cli,
    });
    if (values.json === true) writeJson(cli.stdout, plan);
    else cli.stdout.write(render(plan, config, target.selector));
    return plan.wouldProceed ? EXIT_OK : EXIT_NOT_CONFIRMED;
  } finally {
    clients.destroy();
    agent.destroy();
  }
}

interface PlanInputs {
  readonly config: RotatorConfig;
  readonly secretId: string;
  readonly store: SecretsManagerStore;
  readonly siteList: SsmSiteListSource;
  readonly ledger: RotationLedger;
  readonly stripe: StripeKeyChecker | undefined;
  readonly logger: RotationLogger;
  readonly cli: CliContext;
}

async function makePlan(inputs: PlanInputs): Promise<Plan> {
  const { config, store, cli } = inputs;
  const description = await reading(`Describing the secret ${inputs.secretId}`, () =>
    store.describe(inputs.secretId),
  );
  const arn = description.arn;
  const reasons: string[] = [];
  if (!description.rotationEnabled) {
    reasons.push(
      `Rotation is not enabled on ${arn}: deploy the stack (it configures the rotation function).`,
    );
  }
  const pending = Object.entries(description.versionIdsToStages).find(([, stages]) =>
    marksUnfinishedRotation(stages),
  );
  if (pending !== undefined) {
    reasons.push(
      `A previous rotation isn't complete (version ${pending[0]} is labelled AWSPENDING): Secrets Manager refuses ` +
        `a new one until it finishes or is cleared. See '${PROGRAM} status'.`,
    );
  }
  const current = await store.getValue(arn, { stage: AWSCURRENT });
  cli.hide(current);

  let list: SiteList | undefined;
  try {
    list = await inputs.siteList.load();
  } catch (error) {
    reasons.push(...reasonsOf(error));
  }

  const { choice, stripeCheck } = await chooseKey(inputs, description);
  if ('reasons' in choice) reasons.push(...choice.reasons);
  const key = 'key' in choice ? choice : undefined;

  let masterOk = false;
  try {
    const master = await inputs.store.readCurrent(config.masterApiKeySecretId);
    cli.hide(master);
    const problem = master === undefined ? 'holds no value' : masterApiKeyProblem(master);
    if (problem === undefined) masterOk = true;
    else reasons.push(`The master API key in ${config.masterApiKeySecretId} ${problem}.`);
  } catch (error) {
    reasons.push(...reasonsOf(error));
  }

  const canaries = list?.sites.slice(0, config.canarySites) ?? [];
  return {
    wouldProceed: reasons.length === 0,
    reasons,
    secret: {
      arn,
      rotationEnabled: description.rotationEnabled,
      current: current === undefined ? null : keyJson(current),
    },
    key:
      key === undefined
        ? null
        : {
            ...keyJson(key.key),
            trigger: key.trigger,
            from: key.trigger === 'staged' ? config.stagedSecretId : `${arn} (AWSCURRENT)`,
          },
    stripeCheck,
    masterKey: { secretId: config.masterApiKeySecretId, ok: masterOk },
    sites:
      list === undefined
        ? null
        : {
            sources: list.sources,
            count: list.sites.length,
            duplicates: list.duplicates,
            canaries,
            endpoints: list.sites.map((site) => endpointUrl(site) ?? site),
          },
    push: {
      canarySites: config.canarySites,
      concurrency: config.pushConcurrency,
      siteTimeoutMs: config.siteTimeoutMs,
      attempts: config.siteAttempts,
    },
  };
}

/**
 * The rotation core's own key choice (read-only), with the Stripe check when asked: plan and rotation cannot
 * disagree on the key or a refusal.
 */
async function chooseKey(
  inputs: PlanInputs,
  description: SecretDescription,
): Promise<{ choice: KeyChoice | { reasons: string[] }; stripeCheck: Plan['stripeCheck'] }> {
  const { store, ledger, config, stripe } = inputs;
  const refused = (reasons: string[], stripeCheck: Plan['stripeCheck'] = 'not_requested') => ({
    choice: { reasons },
    stripeCheck,
  });
  try {
    const current = await store.getValue(description.arn, { stage: AWSCURRENT });
    if (current === undefined)
      return refused([`Secret ${description.arn} has no AWSCURRENT value to rotate from`]);
    const next = await chooseNextKey(
      description.arn,
      { config, secrets: store, ledger },
      current,
      stripe === undefined ? undefined : unreachableAsRefused(stripe),
    );
    if (!next.accepted) {
      return refused(reasonsOf(next.error), next.reason === 'stripe_refused' ? 'failed' : 'not_requested');
    }
    const { key, trigger } = next;
    inputs.cli.hide(key);
    const mode = keyModeOf(key);
    if (mode === undefined) return refused(['the chosen key is not a Stripe secret key']);
    const stripeCheck =
      trigger === 'repropagation' ? 'not_needed' : stripe === undefined ? 'not_requested' : 'passed';
    return { choice: { trigger, key, mode }, stripeCheck };
  } catch (error) {
    return refused(reasonsOf(error));
  }
}

/**
 * Plan lists an unreachable Stripe like a refusal (a failed check, the reason shown): either way the key
 * could not be verified now. The rotation's verdict treats only KeyRejectedError as a refusal.
 */
function unreachableAsRefused(checker: KeyChecker): KeyChecker {
  return {
    async check(key, mode, referenceKey, knownAccount) {
      try {
        return await checker.check(key, mode, referenceKey, knownAccount);
      } catch (error) {
        if (error instanceof KeyRejectedError) throw error;
        const message = error instanceof Error ? maskKeysIn(error.message) : String(error);
        throw new KeyRejectedError(message, { cause: error });
      }
    },
  };
}
