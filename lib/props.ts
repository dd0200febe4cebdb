/**
 * The props of `StripeKeyRotation` and their validation. The function's settings take their defaults and
 * bounds from the function's own contract (core/contract.ts); JSDoc cannot import, so the `@default`s
 * below restate it and test/infra/props.test.ts checks that they agree.
 */
import { Arn, ArnFormat, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { KeyMode } from '../core/index.js';
import {
  CONFIG_DEFAULTS,
  ConfigurationError,
  FUNCTION_TIMEOUT_MAX_MS,
  POWERTOOLS_SETTINGS,
  SETTINGS,
  WATCHDOG_SETTINGS,
  type WhenNothingStaged,
} from '../core/index.js';
import { operatorArnProblem, principalArnOf } from './rotated-secret-policy.js';
import { KeyRotationSchedule } from './schedule.js';
import type { SiteListParameter } from './site-list.js';

/** Room, beyond one site's timeout, for the AWS calls, the Stripe check and the function's deadline guard. */
const TIMEOUT_MARGIN = Duration.seconds(60);

const DEFAULT_SCHEDULE = { expression: 'cron(0 2 ? * TUE *)', window: Duration.hours(3) } as const;

/** Lambda's memory bounds (MB) and this construct's default. */
const MEMORY_SIZE = { default: 1024, min: 128, max: 10_240 } as const;

export interface StripeKeyRotationProps {
  /** Which Stripe keys this deployment rotates (`sk_live_` or `sk_test_`); a key of the other mode is refused. */
  readonly keyMode: KeyMode;

  /**
   * Names this deployment: the Powertools `service` (and metric dimension), secret and parameter names,
   * the dashboard. Letters, digits, `-` and `_`, starting with a letter, at most 64 characters.
   *
   * @default `stripe-key-rotator-<keyMode>`
   */
  readonly serviceName?: string;

  /**
   * The secret whose AWSCURRENT version is the Stripe key in service. Pass an existing one to adopt it,
   * preferably by complete ARN: one known by name only gets policies ending in `-??????`.
   *
   * @default - a new secret `<serviceName>/stripe-secret-key` holding a random placeholder
   */
  readonly rotatedSecret?: secretsmanager.ISecret;

  /**
   * Where operators stage the next key. Pass an existing one to adopt it, e.g. when recreating a stack
   * whose staged secret was retained; the function only reads it (`none` or blank means nothing staged).
   *
   * @default - a new secret `<serviceName>/staged-stripe-secret-key` holding `none`
   */
  readonly stagedKeySecret?: secretsmanager.ISecret;

  /**
   * The secret holding the sites' master API key (the `X-API-Key` header). Never a value in code.
   *
   * @default - a new secret `<serviceName>/master-api-key` holding a random placeholder to replace
   */
  readonly masterApiKeySecret?: secretsmanager.ISecret;

  /**
   * The propagation ledger (rotation history, per-site results, what each site holds). Pass an existing
   * table to adopt it, e.g. the one a deleted stack retained, so the new stack keeps that memory. It must be
   * in this stack's account and region (the function finds it by name) and have the ledger's schema: string keys `pk` and `sk` and a global secondary index `history` on `gsi1pk`,
   * `gsi1sk` (projection ALL); the function's configuration test on deploy reads both and fails naming the
   * table when they are not there. Import a table encrypted with a customer managed key with that key
   * (`Table.fromTableAttributes({ tableName, encryptionKey })`) so the function may use it.
   *
   * @default - a new on-demand table, encrypted, with point-in-time recovery and deletion protection
   */
  readonly ledgerTable?: dynamodb.ITable;

  /**
   * Where the list of sites lives.
   *
   * @default SiteListParameter.create() - a new String parameter `/<serviceName>/sites`
   */
  readonly siteList?: SiteListParameter;

  /**
   * Customer managed key for the secrets this construct creates. The function may use it only through
   * Secrets Manager and only for those secrets (`kms:EncryptionContext:SecretARN`).
   *
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * When Secrets Manager starts a rotation. Between staged keys a scheduled rotation re-pushes the
   * current key (drift repair) unless `whenNothingStaged` is `fail`.
   *
   * @default KeyRotationSchedule.cron('cron(0 2 ? * TUE *)', Duration.hours(3)) - Tuesdays 02:00–05:00 UTC
   */
  readonly schedule?: KeyRotationSchedule;

  /**
   * What a rotation does when the staged key secret holds nothing new (`none` or blank):
   * `repropagate` pushes the current key again, `fail` refuses with guidance.
   *
   * @default 'repropagate'
   */
  readonly whenNothingStaged?: WhenNothingStaged;

  /**
   * Sites pushed to at the same time (1–256).
   *
   * @default 10
   */
  readonly pushConcurrency?: number;

  /**
   * Timeout of one request to one site (100 ms – 120 s).
   *
   * @default Duration.seconds(10)
   */
  readonly siteTimeout?: Duration;

  /**
   * Attempts per site for transient failures (429, 5xx, timeouts, connection errors), 1–10.
   *
   * @default 3
   */
  readonly siteAttempts?: number;

  /**
   * Sites pushed to first, alone; the push stops at the first canary failure (0–100).
   *
   * @default 1
   */
  readonly canarySites?: number;

  /**
   * Whether a new key is checked read-only against Stripe (balance mode, same account) before any site.
   *
   * @default true
   */
  readonly stripeCheck?: boolean;

  /**
   * The function's timeout: one rotation step must reach every site within it. At most 15 minutes and
   * at least `siteTimeout` + 60 s.
   *
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;

  /**
   * Function memory in MB (128–10240). Lambda allots CPU in proportion to memory and the push is a burst
   * of TLS handshakes, which are CPU-bound.
   *
   * @default 1024
   */
  readonly memorySize?: number;

  /**
   * How long the function's logs (per-site results, step outcomes) are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Email addresses subscribed to the notifications topic (each must confirm the subscription).
   *
   * @default - no subscription; subscribe to the topic output yourself
   */
  readonly notificationEmails?: readonly string[];

  /**
   * Your own topic for every notice: failed rotations (the failure rule), the notification path and
   * watchdog alarms. The construct then creates no topic and no topic key. It adds the publish statements
   * (EventBridge for the failure rule, CloudWatch for the alarms, each pinned to its source) to the topic's
   * policy and, when the topic is encrypted, `kms:Decrypt`/`kms:GenerateDataKey` to its key's policy: this
   * works for a topic and key defined in the same app. For an imported topic or key, synth warns and you
   * add those statements yourself (README, "Monitoring and alerts").
   *
   * @default - a new topic, encrypted with a new customer managed key
   */
  readonly notificationsTopic?: sns.ITopic;

  /**
   * Also tell the notifications topic when a rotation finished: the function publishes, once AWSCURRENT
   * moved, the masked new key (with its fingerprint), the number of sites that confirmed it and both version
   * ids. A failed publish is logged and never fails the rotation. With an imported `notificationsTopic`, synth
   * warns what the topic's key and policy must allow (nothing here can add it).
   *
   * @default false - notices for failures and alarms only
   */
  readonly notifyOnSuccess?: boolean;

  /**
   * How old the last successful rotation may get before the watchdog's overdue alarm fires (whole hours).
   *
   * @default the schedule's longest gap between two starts plus its window; required for a cron schedule
   * on days of the month or in restricted months, whose gaps are not derived
   */
  readonly overdueAfter?: Duration;

  /**
   * How old an AWSPENDING version may get before the watchdog reports the rotation stuck (whole hours).
   *
   * @default 6 hours (WATCHDOG_SETTINGS.pendingMaxHours)
   */
  readonly pendingMaxAge?: Duration;

  /**
   * The rotation function's execution role, e.g. one made to an organisation's conventions (path,
   * permissions boundary). It must trust `lambda.amazonaws.com`. A mutable role (an `iam.Role`, or one
   * imported with `mutable: true`, the default) receives the function's statements (rotation-permissions.ts);
   * one imported with `mutable: false` takes none, so its owner attaches them. The rotated secret's resource
   * policy lets this role write.
   *
   * @default - a new role only Lambda can assume, holding exactly the function's statements
   */
  readonly role?: iam.IRole;

  /**
   * Who besides the rotation function may write the rotated secret's versions and labels (`PutSecretValue`,
   * `UpdateSecretVersionStage`): the operators who run the CLI's `abort`. The resource policy of a rotated
   * secret this construct creates denies those writes to every other principal, whatever IAM allows; it is
   * matched on `aws:PrincipalArn`, so name roles and users (not role sessions or groups). `grantOperate(g)`
   * adds `g` too when `g` is a role or a user; holders of `operatorPolicy` must be named here.
   *
   * @default - none: only the rotation function and `grantOperate` grantees write the rotated secret
   */
  readonly operatorPrincipals?: readonly iam.IPrincipal[];

  /**
   * What happens to the secrets, the site-list parameter and the log group this construct creates when
   * they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The props with every default applied. */
interface RotationSettings {
  readonly serviceName: string;
  readonly whenNothingStaged: WhenNothingStaged;
  readonly pushConcurrency: number;
  readonly siteTimeoutMs: number;
  readonly siteAttempts: number;
  readonly canarySites: number;
  readonly stripeCheck: boolean;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly schedule: KeyRotationSchedule;
  readonly overdueAfterHours: number;
  readonly pendingMaxHours: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** `aws:PrincipalArn` values of `operatorPrincipals`. */
  readonly operatorArns: readonly string[];
}

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
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(serviceName)) {
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
  const memorySize = integer('memorySize', props.memorySize, MEMORY_SIZE);

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
