/**
 * The validation of `StripeKeyRotation`'s props, apart from their declarations (props.ts): every default
 * applied and every prop checked at once, before any resource exists, each problem naming the prop and its
 * value. Defaults and bounds come from the function's own contract (core/contract.ts).
 */
import { Arn, ArnFormat, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import {
  CONFIG_DEFAULTS,
  ConfigurationError,
  type DeployedConfig,
  FUNCTION_MEMORY_MB,
  FUNCTION_TIMEOUT_MAX_MS,
  POWERTOOLS_SETTINGS,
  SETTINGS,
  WATCHDOG_SETTINGS,
} from '../core/index.js';
import type { StripeKeyRotationProps } from './props.js';
import { operatorArnProblem, principalArnOf } from './rotated-secret-policy.js';
import { KeyRotationSchedule } from './schedule.js';

/** Room, beyond one site's timeout, for the AWS calls, the Stripe check and the function's deadline guard. */
const TIMEOUT_MARGIN = Duration.seconds(60);

const DEFAULT_SCHEDULE = { expression: 'cron(0 2 ? * TUE *)', window: Duration.hours(3) } as const;

/** The props with every default applied; the function's own settings keep the types of its configuration. */
export type RotationSettings = Pick<
  DeployedConfig,
  'whenNothingStaged' | 'pushConcurrency' | 'siteTimeoutMs' | 'siteAttempts' | 'canarySites' | 'stripeCheck'
> & {
  readonly serviceName: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly schedule: KeyRotationSchedule;
  readonly overdueAfterHours: number;
  readonly pendingMaxHours: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** `aws:PrincipalArn` values of `operatorPrincipals`. */
  readonly operatorArns: readonly string[];
};

/** The service name of a deployment that names none: the function's own default, per key mode. */
export function defaultServiceName(qualifier: string): string {
  return `${POWERTOOLS_SETTINGS.serviceName.default}-${qualifier}`;
}

/** Applies defaults and validates every prop at once; each problem names the prop and its value. */
export function resolveProps(
  path: string,
  props: StripeKeyRotationProps,
  home: { readonly account: string; readonly region: string },
): RotationSettings {
  const problems: string[] = [];
  const integer = (
    name: string,
    value: number | undefined,
    bounds: { readonly default: number; readonly min: number; readonly max: number },
  ) => {
    const resolved = value ?? bounds.default;
    // A value known only at deploy (a CfnParameter) is the deployer's to keep in bounds.
    if (Token.isUnresolved(resolved)) return resolved;
    if (!Number.isInteger(resolved) || resolved < bounds.min || resolved > bounds.max) {
      problems.push(`${name}=${resolved} must be a whole number from ${bounds.min} to ${bounds.max}`);
    }
    return resolved;
  };
  const oneOf = <T extends string>(name: string, value: T, allowed: readonly T[]) => {
    if (!allowed.includes(value)) {
      problems.push(`${name}=${JSON.stringify(value)} must be ${allowed.map((v) => `'${v}'`).join(' or ')}`);
    }
    return value;
  };

  oneOf('keyMode', props.keyMode, SETTINGS.keyMode.allowed);
  const serviceName = props.serviceName ?? defaultServiceName(props.keyMode);
  if (!Token.isUnresolved(serviceName) && !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(serviceName)) {
    problems.push(
      `serviceName=${JSON.stringify(serviceName)} must start with a letter and hold only letters, digits, - and _ (at most 64)`,
    );
  }
  const whenNothingStaged = oneOf(
    'whenNothingStaged',
    props.whenNothingStaged ?? CONFIG_DEFAULTS.whenNothingStaged,
    SETTINGS.whenNothingStaged.allowed,
  );
  const pushConcurrency = integer('pushConcurrency', props.pushConcurrency, SETTINGS.pushConcurrency);
  const siteAttempts = integer('siteAttempts', props.siteAttempts, SETTINGS.siteAttempts);
  const canarySites = integer('canarySites', props.canarySites, SETTINGS.canarySites);
  const memorySize = integer('memorySize', props.memorySize, FUNCTION_MEMORY_MB);

  const siteTimeout = props.siteTimeout ?? Duration.millis(CONFIG_DEFAULTS.siteTimeoutMs);
  const siteTimeoutMs = siteTimeout.toMilliseconds();
  const { min, max } = SETTINGS.siteTimeoutMs;
  if (siteTimeoutMs < min || siteTimeoutMs > max) {
    problems.push(
      `siteTimeout=${siteTimeout.toHumanString()} must be between ${milliseconds(min)} and ${milliseconds(max)}`,
    );
  }
  const longest = Duration.millis(FUNCTION_TIMEOUT_MAX_MS);
  const timeout = props.timeout ?? longest;
  const timeoutMs = timeout.toMilliseconds();
  if (timeoutMs > FUNCTION_TIMEOUT_MAX_MS) {
    problems.push(
      `timeout=${timeout.toHumanString()} exceeds the ${longest.toHumanString()} a Lambda invocation may run`,
    );
  } else if (timeoutMs < siteTimeoutMs + TIMEOUT_MARGIN.toMilliseconds()) {
    problems.push(
      `timeout=${timeout.toHumanString()} must be at least siteTimeout (${siteTimeout.toHumanString()}) + ` +
        `${TIMEOUT_MARGIN.toHumanString()} for the AWS calls and the Stripe check`,
    );
  } else if (timeoutMs % 1000 !== 0) {
    problems.push(`timeout=${timeout.toHumanString()} must be whole seconds`);
  }

  if (props.logRetention !== undefined && !Object.values(logs.RetentionDays).includes(props.logRetention)) {
    problems.push(
      `logRetention=${props.logRetention} is not one of the retention periods CloudWatch Logs offers`,
    );
  }
  for (const email of props.notificationEmails ?? []) {
    if (Token.isUnresolved(email) || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      problems.push(`notificationEmails: ${JSON.stringify(email)} is not an email address`);
    }
  }

  const schedule =
    props.schedule ?? KeyRotationSchedule.cron(DEFAULT_SCHEDULE.expression, DEFAULT_SCHEDULE.window);
  const hours = (name: string, value: Duration | undefined, bounds: { min: number; max: number }) => {
    if (value === undefined) return undefined;
    const shown = value.toHumanString();
    const resolved = value.toMilliseconds() / 3_600_000;
    if (!Number.isInteger(resolved) || resolved < bounds.min || resolved > bounds.max) {
      problems.push(`${name}=${shown} must be whole hours from ${bounds.min} to ${bounds.max}`);
    }
    return resolved;
  };
  const overdueAfterHours =
    hours('overdueAfter', props.overdueAfter, WATCHDOG_SETTINGS.overdueAfterHours) ??
    schedule.overdueAfterHours;
  if (overdueAfterHours === undefined) {
    problems.push(
      `overdueAfter (cdk.json: overdueAfterHours) must be given: the longest gap of schedule ${schedule.scheduleExpression} is not derived (days of the month or restricted months)`,
    );
  }
  const pendingMaxHours =
    hours('pendingMaxAge', props.pendingMaxAge, WATCHDOG_SETTINGS.pendingMaxHours) ??
    WATCHDOG_SETTINGS.pendingMaxHours.default;

  // The function finds the ledger by name, in its own account and region: a table elsewhere would be another.
  const ledgerArn = props.ledgerTable?.tableArn;
  if (ledgerArn !== undefined && !Token.isUnresolved(ledgerArn)) {
    const parts = Arn.split(ledgerArn, ArnFormat.SLASH_RESOURCE_NAME);
    for (const where of ['account', 'region'] as const) {
      const theirs = parts[where];
      if (theirs && !Token.isUnresolved(home[where]) && theirs !== home[where]) {
        problems.push(
          `ledgerTable=${parts.resourceName} is in ${where} ${theirs}, not in this stack's ${home[where]}: the function reads the ledger by name, in its own ${where}`,
        );
      }
    }
  }

  const operatorArns: string[] = [];
  (props.operatorPrincipals ?? []).forEach((principal, index) => {
    const arn = principalArnOf(principal);
    const problem =
      arn === undefined
        ? 'is not a role or a user: aws:PrincipalArn never names it (name the roles or users instead)'
        : operatorArnProblem(arn);
    if (problem !== undefined) {
      problems.push(`operatorPrincipals[${index}]=${arn ?? principal.toString()} ${problem}`);
    } else if (arn !== undefined) {
      operatorArns.push(arn);
    }
  });

  if (problems.length > 0 || overdueAfterHours === undefined) {
    throw new ConfigurationError(`StripeKeyRotation ${path}: invalid props`, { problems });
  }
  return {
    serviceName,
    whenNothingStaged,
    pushConcurrency,
    siteTimeoutMs,
    siteAttempts,
    canarySites,
    stripeCheck: props.stripeCheck ?? CONFIG_DEFAULTS.stripeCheck,
    timeout,
    memorySize,
    schedule,
    overdueAfterHours,
    pendingMaxHours,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    operatorArns,
  };
}

/** `100 ms`, `120 s`: the site timeout bounds as the messages show them. */
function milliseconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}
