/**
 * The handler's configuration: environment variables only (the master API key is read from its own secret,
 * never from the environment), read and checked against the contract (contract.ts). Every problem is
 * reported at once, naming the variable.
 */
import {
  type IntegerSetting,
  range,
  readStripeAccount,
  readStripeApiBase,
  readSuccessNoticeTopic,
  SETTINGS,
  sitesParameterProblem,
  type WhenNothingStaged,
} from './contract.js';
import { ConfigurationError } from './errors.js';
import type { KeyMode } from './rules/keys.js';

export interface RotatorConfig {
  readonly stagedSecretId: string;
  readonly masterApiKeySecretId: string;
  /** A parameter name, or a path ending in `/` whose parameters are concatenated. */
  readonly sitesParameter: string;
  /** DynamoDB table of the propagation ledger. */
  readonly ledgerTable: string;
  readonly keyMode: KeyMode;
  readonly whenNothingStaged: WhenNothingStaged;
  readonly pushConcurrency: number;
  readonly siteTimeoutMs: number;
  readonly siteAttempts: number;
  readonly canarySites: number;
  readonly stripeCheck: boolean;
  /** STRIPE_ACCOUNT: the account a new key must belong to when the current key cannot vouch for it. */
  readonly stripeAccount?: string;
  readonly stripeApiBase: string;
  /** SUCCESS_NOTICE_TOPIC_ARN: where a finished rotation is announced; absent: nowhere. */
  readonly successNoticeTopicArn?: string;
}

/** The configuration's optional part when its variables are not set. */
export const CONFIG_DEFAULTS = {
  whenNothingStaged: SETTINGS.whenNothingStaged.default,
  pushConcurrency: SETTINGS.pushConcurrency.default,
  siteTimeoutMs: SETTINGS.siteTimeoutMs.default,
  siteAttempts: SETTINGS.siteAttempts.default,
  canarySites: SETTINGS.canarySites.default,
  stripeCheck: SETTINGS.stripeCheck.default === 'on',
  stripeApiBase: SETTINGS.stripeApiBase.default,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env): RotatorConfig {
  const problems: string[] = [];

  const required = ({ variable, meaning }: { variable: string; meaning: string }): string => {
    const value = env[variable]?.trim();
    if (!value) problems.push(`${variable} is not set: it must name ${meaning}`);
    return value ?? '';
  };

  const oneOf = <T extends string>(setting: {
    variable: string;
    allowed: readonly T[];
    default?: NoInfer<T>;
  }): T => {
    const { variable, allowed } = setting;
    const raw = env[variable]?.trim();
    if (!raw) {
      if (setting.default !== undefined) return setting.default;
      problems.push(`${variable} is not set: expected one of ${allowed.join(', ')}`);
      return allowed[0] as T;
    }
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${variable}="${raw}" is not one of ${allowed.join(', ')}`);
      return allowed[0] as T;
    }
    return raw as T;
  };

  const integer = (setting: IntegerSetting): number => {
    const { variable, min, max } = setting;
    const raw = env[variable]?.trim();
    if (!raw) return setting.default;
    if (!/^\d+$/.test(raw)) {
      problems.push(`${variable}="${raw}" is not a whole number (expected ${range(setting)})`);
      return setting.default;
    }
    const value = Number(raw);
    if (value < min || value > max)
      problems.push(`${variable}=${value} is out of range (expected ${range(setting)})`);
    return value;
  };

  const stagedSecretId = required(SETTINGS.stagedSecretId);
  const masterApiKeySecretId = required(SETTINGS.masterApiKeySecretId);
  const sitesParameter = required(SETTINGS.sitesParameter);
  const ledgerTable = required(SETTINGS.ledgerTable);
  if (ledgerTable && !SETTINGS.ledgerTable.pattern.test(ledgerTable)) {
    problems.push(
      `${SETTINGS.ledgerTable.variable}="${ledgerTable}" is not ${SETTINGS.ledgerTable.patternText}`,
    );
  }
  const sitesProblem = sitesParameter ? sitesParameterProblem(sitesParameter) : undefined;
  if (sitesProblem !== undefined) {
    problems.push(`${SETTINGS.sitesParameter.variable}="${sitesParameter}" ${sitesProblem}`);
  }
  const keyMode = oneOf(SETTINGS.keyMode);
  const whenNothingStaged = oneOf(SETTINGS.whenNothingStaged);
  const pushConcurrency = integer(SETTINGS.pushConcurrency);
  const siteTimeoutMs = integer(SETTINGS.siteTimeoutMs);
  const siteAttempts = integer(SETTINGS.siteAttempts);
  const canarySites = integer(SETTINGS.canarySites);
  const stripeCheck = oneOf(SETTINGS.stripeCheck) === 'on';
  const { value: stripeAccount, problems: stripeAccountProblems } = readStripeAccount(
    env[SETTINGS.stripeAccount.variable],
  );
  problems.push(...stripeAccountProblems);
  const stripeApiBase = readStripeApiBase(env[SETTINGS.stripeApiBase.variable]);
  problems.push(...stripeApiBase.problems);
  const { value: successNoticeTopicArn, problems: noticeTopicProblems } = readSuccessNoticeTopic(
    env[SETTINGS.successNoticeTopicArn.variable],
  );
  problems.push(...noticeTopicProblems);

  if (problems.length > 0) {
    throw new ConfigurationError('The rotation function is misconfigured; fix its environment variables:', {
      problems,
    });
  }
  return {
    stagedSecretId,
    masterApiKeySecretId,
    sitesParameter,
    ledgerTable,
    keyMode,
    whenNothingStaged,
    pushConcurrency,
    siteTimeoutMs,
    siteAttempts,
    canarySites,
    stripeCheck,
    ...(stripeAccount === undefined ? {} : { stripeAccount }),
    stripeApiBase: stripeApiBase.value,
    ...(successNoticeTopicArn === undefined ? {} : { successNoticeTopicArn }),
  };
}

/**
 * What a deployment decides up front; the rest of `RotatorConfig` keeps its default: STRIPE_API_BASE,
 * STRIPE_ACCOUNT (an override an operator sets on the function deliberately, for one rotation) and
 * SUCCESS_NOTICE_TOPIC_ARN (added by the construct once its topic exists, with `notifyOnSuccess`).
 */
export type DeployedConfig = Omit<RotatorConfig, 'stripeApiBase' | 'stripeAccount' | 'successNoticeTopicArn'>;

/**
 * The environment variables that make `loadConfig` return `config`: what the construct deploys. Values may
 * be CDK tokens (strings standing for ARNs and names until deployment).
 */
export function configEnvironment(config: DeployedConfig): Record<string, string> {
  return {
    [SETTINGS.stagedSecretId.variable]: config.stagedSecretId,
    [SETTINGS.masterApiKeySecretId.variable]: config.masterApiKeySecretId,
    [SETTINGS.sitesParameter.variable]: config.sitesParameter,
    [SETTINGS.ledgerTable.variable]: config.ledgerTable,
    [SETTINGS.keyMode.variable]: config.keyMode,
    [SETTINGS.whenNothingStaged.variable]: config.whenNothingStaged,
    [SETTINGS.pushConcurrency.variable]: String(config.pushConcurrency),
    [SETTINGS.siteTimeoutMs.variable]: String(config.siteTimeoutMs),
    [SETTINGS.siteAttempts.variable]: String(config.siteAttempts),
    [SETTINGS.canarySites.variable]: String(config.canarySites),
    [SETTINGS.stripeCheck.variable]: onOff(config.stripeCheck),
  };
}

function onOff(value: boolean): (typeof SETTINGS.stripeCheck.allowed)[number] {
  return value ? 'on' : 'off';
}
