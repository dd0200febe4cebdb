/**
 * What the AWS commands share: AWS CLI-style options (`--stack`, `--secret-id`, `--region`, `--profile`;
 * `AWS_ENDPOINT_URL` is honoured by the SDK itself), the deployment settings the rotation function is
 * configured with (flags, stack outputs, or the same environment variables as the function), and the AWS
 * side's wiring (createDeps, whose failures an operator can fix become configuration errors, exit 2).
 */

import type { Agent } from 'node:https';
import { type AwsDeps, createDeps } from '../../adapters/aws/index.js';
import type { KeyMode } from '../../core/index.js';
import {
  ConfigurationError,
  createStripeAgent,
  SETTINGS as FUNCTION_SETTINGS,
  fillFromStackOutputs,
  loadConfig,
  maskKeysIn,
  type RotatorConfig,
  readStripeApiBase,
  type SettingName,
  STACK_DESCRIPTOR,
  STACK_OUTPUTS,
  settingSummary,
} from '../../core/index.js';
import { PROGRAM, UsageError } from './frame.js';

export const AWS_OPTIONS = {
  stack: { type: 'string' },
  'construct-id': { type: 'string' },
  'secret-id': { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  'staged-secret-id': { type: 'string' },
  'sites-parameter': { type: 'string' },
  'ledger-table': { type: 'string' },
  'master-key-secret-id': { type: 'string' },
  'key-mode': { type: 'string' },
} as const;

/** Each deployment flag and the rotation function's setting (environment variable) it falls back to. */
const SETTINGS = {
  'staged-secret-id': FUNCTION_SETTINGS.stagedSecretId,
  'sites-parameter': FUNCTION_SETTINGS.sitesParameter,
  'ledger-table': FUNCTION_SETTINGS.ledgerTable,
  'master-key-secret-id': FUNCTION_SETTINGS.masterApiKeySecretId,
  'key-mode': FUNCTION_SETTINGS.keyMode,
} as const;

type SettingFlag = keyof typeof SETTINGS;

/** The stack output each flag stands for, read by `--stack`. */
const FLAG_OUTPUTS = {
  'secret-id': STACK_OUTPUTS.rotatedSecret,
  'staged-secret-id': STACK_OUTPUTS.stagedKeySecret,
  'sites-parameter': STACK_OUTPUTS.sitesParameter,
  'ledger-table': STACK_OUTPUTS.ledgerTable,
  'master-key-secret-id': STACK_OUTPUTS.masterApiKeySecret,
  'key-mode': STACK_OUTPUTS.keyMode,
} as const satisfies Record<SettingFlag | 'secret-id', string>;

/** A stack name (CloudFormation's rule) or a stack ARN. */
const STACK_NAME =
  /^(?:[A-Za-z][A-Za-z0-9-]{0,127}|arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack\/[A-Za-z][A-Za-z0-9-]{0,127}\/[0-9a-f-]+)$/;

/** Refuses a `--stack` value that cannot name a stack; a key pasted there is shown masked. */
export function checkStackName(stack: string): void {
  if (!STACK_NAME.test(stack)) {
    throw new UsageError(
      `--stack must be a stack name (a letter, then letters, digits and hyphens, at most 128) or a stack ARN, not ${JSON.stringify(maskKeysIn(stack.slice(0, 140)))}`,
    );
  }
}

/**
 * With `--stack`, the values with every flag not given filled from the stack's outputs: one flag per
 * deployment instead of an ARN per setting. A flag given wins over the output. `used` lists the settings the
 * command reads: one the stack lacks is refused (exit 2), never taken from the environment (left in a
 * shell, it may describe another deployment).
 */
export async function withStackOutputs<V extends AwsValues>(
  values: V,
  aws: AwsDeps,
  used: readonly SettingFlag[],
): Promise<V> {
  const stack = nonEmpty(values.stack);
  const constructId = nonEmpty(values['construct-id']);
  if (stack === undefined) {
    if (constructId !== undefined) {
      throw new UsageError('--construct-id names a construct in the stack --stack names; give --stack too');
    }
    return values;
  }
  checkStackName(stack);
  const wanted = Object.fromEntries(
    (['secret-id', ...used] as const).map((flag) => [flag, FLAG_OUTPUTS[flag]]),
  ) as Partial<typeof FLAG_OUTPUTS>;
  return fillFromStackOutputs(stack, values, wanted as Record<string, string>, aws.stackOutputs, constructId);
}

/** What an AWS command works on: the clients, its values with `--stack` filled, the secret it names. */
export interface Deployment<V extends AwsValues> {
  readonly aws: AwsDeps;
  readonly values: V;
  readonly target: AwsTarget;
  /** An HTTPS agent for Stripe's API, made on first use. */
  readonly stripeAgent: () => Agent;
}

/**
 * Runs `body` on the deployment `given` names (`used`: the settings it reads, as for withStackOutputs); the
 * AWS clients and any Stripe agent are closed when it ends, however it ends. `stop` aborted ends every call.
 */
export async function withDeployment<V extends AwsValues, T>(
  given: V,
  used: readonly SettingFlag[],
  body: (deployment: Deployment<V>) => Promise<T>,
  stop?: AbortSignal,
): Promise<T> {
  const aws = awsDeps(given, stop);
  let agent: Agent | undefined;
  try {
    const values = await withStackOutputs(given, aws, used);
    const stripeAgent = () => {
      agent ??= createStripeAgent();
      return agent;
    };
    return await body({ aws, values, target: awsTarget(values), stripeAgent });
  } finally {
    aws.destroy();
    agent?.destroy();
  }
}

/**
 * The AWS side for the values' region and profile (`profile` is the SDK's option, like AWS_PROFILE);
 * `stop` aborted ends every call at once.
 */
export function awsDeps(values: AwsValues, stop?: AbortSignal): AwsDeps {
  // The SDK's supported switch for its notice about future Node versions, printed on every client creation
  // on Node 20: nine lines between a hidden prompt and its result tell an operator nothing about this run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return createDeps({ region: nonEmpty(values.region), profile: nonEmpty(values.profile), signal: stop });
}

type Env = Readonly<Record<string, string | undefined>>;
export type AwsValues = { readonly [K in keyof typeof AWS_OPTIONS]?: string | undefined };

/** Help text for the shared options; `used` lists the deployment settings the command reads. */
export function awsOptionsHelp(used: readonly SettingFlag[]): string {
  const described: Record<SettingFlag, string> = {
    'staged-secret-id': 'the staged key secret',
    'sites-parameter': 'the site list parameter or path',
    'ledger-table': 'the propagation ledger table',
    'master-key-secret-id': 'the master API key secret',
    'key-mode': `${FUNCTION_SETTINGS.keyMode.allowed.join(' or ')}: the mode of the deployment`,
  };
  const settings = used.map(
    (flag) =>
      `  --${`${flag} <v>`.padEnd(26)}${described[flag]} (stack output ${FLAG_OUTPUTS[flag]})\n` +
      `${''.padEnd(30)}(default: $${SETTINGS[flag].variable})`,
  );
  return (
    'AWS options (as the AWS CLI; AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE and the usual credential\n' +
    'chain work as usual):\n' +
    '  --stack <name>              the deployed stack (e.g. StripeKeyRotator-live): its outputs give\n' +
    '                              --secret-id and the deployment settings below; a flag given wins.\n' +
    "                              Any app's stack holding a StripeKeyRotation works: each construct\n" +
    `                              emits a ${STACK_DESCRIPTOR.outputPrefix}… output\n` +
    '  --construct-id <id>         with --stack, the construct when the stack holds several: its path\n' +
    '                              (Stack/Scope/Id) or its id\n' +
    `  --secret-id <id>            the rotated secret, name or ARN (stack output ${STACK_OUTPUTS.rotatedSecret})\n` +
    '  --region <region>           AWS Region (default: AWS_REGION or the profile)\n' +
    '  --profile <name>            named profile from ~/.aws/config (default: AWS_PROFILE)\n\n' +
    'Deployment settings: the stack outputs, or the same environment variables as the rotation function:\n' +
    `${settings.join('\n')}\n`
  );
}

export interface AwsTarget {
  readonly secretId: string;
  /**
   * How the operator named the deployment (`--stack NAME [--construct-id ID]` or `--secret-id ID`, with `--region` and
   * `--profile` when given), for suggested commands that can be pasted as they are.
   */
  readonly selector: string;
  readonly region: string | undefined;
  readonly profile: string | undefined;
}

export function awsTarget(values: AwsValues): AwsTarget {
  const secretId = values['secret-id']?.trim();
  if (!secretId) {
    throw new UsageError(
      '--stack (the deployed stack) or --secret-id (the rotated secret, name or ARN) is required',
    );
  }
  const stack = nonEmpty(values.stack);
  const constructId = nonEmpty(values['construct-id']);
  const region = nonEmpty(values.region);
  const profile = nonEmpty(values.profile);
  const selector = [
    stack === undefined ? `--secret-id ${shellWord(secretId)}` : `--stack ${shellWord(stack)}`,
    ...(stack === undefined || constructId === undefined ? [] : [`--construct-id ${shellWord(constructId)}`]),
    ...(region === undefined ? [] : [`--region ${shellWord(region)}`]),
    ...(profile === undefined ? [] : [`--profile ${shellWord(profile)}`]),
  ].join(' ');
  return { secretId, selector, region, profile };
}

/** `stripe-key-rotator <command>` for the target's deployment, to paste as it is. */
export function suggest(target: AwsTarget, command: string): string {
  return `${PROGRAM} ${command} ${target.selector}`;
}

/** A value as one shell word: as it is when only safe characters, else single-quoted. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * A deployment setting from its flag (or the stack's output), else its environment variable — never with
 * `--stack`: the stack names the deployment. Undefined when none is set.
 */
export function setting(values: AwsValues, env: Env, flag: SettingFlag): string | undefined {
  const given = nonEmpty(values[flag]);
  return given !== undefined || nonEmpty(values.stack) !== undefined
    ? given
    : nonEmpty(env[SETTINGS[flag].variable]);
}

/** The function's other settings (variable, bounds, default, then the meaning), for a command's help. */
export function functionSettingsHelp(names: readonly SettingName[]): string {
  return names
    .map((name) => {
      const setting = FUNCTION_SETTINGS[name];
      return `  ${setting.variable} (${settingSummary(setting)})\n      ${setting.meaning}\n`;
    })
    .join('');
}

/** The deployment's key mode, required: a key of the other mode must never be staged or rotated in. */
export function requiredKeyMode(values: AwsValues, env: Env): KeyMode {
  const { variable, allowed } = SETTINGS['key-mode'];
  const raw = setting(values, env, 'key-mode');
  if (raw === undefined)
    throw new UsageError(`--key-mode (or ${variable}) is required: ${allowed.join(' or ')}`);
  const mode = allowed.find((candidate) => candidate === raw);
  if (mode === undefined) throw new UsageError(`--key-mode must be ${allowed.join(' or ')}, not "${raw}"`);
  return mode;
}

export function requiredSetting(values: AwsValues, env: Env, flag: SettingFlag): string {
  const value = setting(values, env, flag);
  if (value === undefined) {
    throw new UsageError(
      `--${flag} (or ${SETTINGS[flag].variable}) is required; its value is a stack output`,
    );
  }
  return value;
}

/**
 * The rotation function's whole configuration, through the function's own loader (same defaults, same
 * checks), with the flags taking precedence over the environment. Problems name the flag too.
 */
export function deploymentConfig(values: AwsValues, env: Env, overrides: Env = {}): RotatorConfig {
  const merged: Record<string, string | undefined> = { ...env, ...overrides };
  for (const flag of Object.keys(SETTINGS) as SettingFlag[]) {
    merged[SETTINGS[flag].variable] = setting(values, env, flag);
  }
  try {
    return loadConfig(merged);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    const flagOf = new Map<string, string>(
      Object.entries(SETTINGS).map(([flag, { variable }]) => [variable, flag]),
    );
    throw new ConfigurationError(
      'The deployment settings are incomplete or invalid (flags or environment):',
      {
        problems: error.problems.map((problem) => {
          const variable = /^[A-Z_]+/.exec(problem)?.[0] ?? '';
          const flag = flagOf.get(variable);
          return flag === undefined ? problem : `--${flag} / ${problem}`;
        }),
      },
    );
  }
}

/** STRIPE_API_BASE as the function reads it, for the commands that do not load the whole configuration. */
export function stripeApiBase(env: Env): string {
  const { value, problems } = readStripeApiBase(env[FUNCTION_SETTINGS.stripeApiBase.variable]);
  if (problems.length === 0) return value;
  throw new ConfigurationError('The Stripe API base is invalid:', { problems });
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
