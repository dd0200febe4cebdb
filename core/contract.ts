/**
 * The deployment contract of the rotation function, written once: its environment variables (name, default,
 * bounds, meaning), the metrics it publishes, the staged key secret's "nothing staged" values, the site-list
 * parameter name rule, the STRIPE_API_BASE rule and its AWS client timeouts. Dependency-free data and pure
 * rules: the function's loader (config.ts), the CDK construct (lib/) and the CLI all read this module, so
 * none of them can drift from the others.
 */

/** One environment variable of the function. */
export interface SettingSpec {
  readonly variable: string;
  /** One line for messages, help text and docs: what the value names or decides. */
  readonly meaning: string;
  /** Absent: the variable is required. */
  readonly default?: string | number;
  readonly allowed?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly unit?: string;
  /** What a required value must match, and how messages describe it. */
  readonly pattern?: RegExp;
  readonly patternText?: string;
}

/** The function's settings, keyed by their `RotatorConfig` field. A setting without `default` is required. */
export const SETTINGS = {
  stagedSecretId: {
    variable: 'STAGED_SECRET_ARN',
    meaning: 'the secret holding the next Stripe key',
  },
  masterApiKeySecretId: {
    variable: 'MASTER_API_KEY_SECRET_ARN',
    meaning: "the secret holding the sites' master API key (X-API-Key)",
  },
  sitesParameter: {
    variable: 'SITES_PARAMETER',
    meaning: 'the SSM parameter (or path ending in /) listing the sites',
  },
  ledgerTable: {
    variable: 'LEDGER_TABLE',
    meaning: 'the DynamoDB table of the propagation ledger',
    pattern: /^[A-Za-z0-9_.-]{3,255}$/,
    patternText: 'a DynamoDB table name (3–255 of A-Z a-z 0-9 _ . -)',
  },
  keyMode: {
    variable: 'KEY_MODE',
    meaning: 'the mode of the Stripe keys this deployment rotates (sk_live_ or sk_test_)',
    allowed: ['live', 'test'],
  },
  whenNothingStaged: {
    variable: 'WHEN_NOTHING_STAGED',
    meaning: 'what a rotation does when nothing new is staged: push the current key again, or refuse',
    allowed: ['repropagate', 'fail'],
    default: 'repropagate',
  },
  pushConcurrency: {
    variable: 'PUSH_CONCURRENCY',
    meaning: 'sites pushed to at the same time',
    default: 10,
    min: 1,
    max: 256,
    unit: 'sites',
  },
  siteTimeoutMs: {
    variable: 'SITE_TIMEOUT_MS',
    meaning: 'the limit on one attempt at one site (connect, TLS, answer)',
    default: 10_000,
    min: 100,
    max: 120_000,
    unit: 'ms',
  },
  siteAttempts: {
    variable: 'SITE_ATTEMPTS',
    meaning: 'attempts per site for transient failures (429, 5xx, timeouts, connection errors)',
    default: 3,
    min: 1,
    max: 10,
    unit: 'attempts',
  },
  canarySites: {
    variable: 'CANARY_SITES',
    meaning: 'sites pushed to first, alone; the push stops at the first canary failure',
    default: 1,
    min: 0,
    max: 100,
    unit: 'sites',
  },
  stripeCheck: {
    variable: 'STRIPE_CHECK',
    meaning: 'whether a new key is checked read-only against Stripe before any site',
    allowed: ['on', 'off'],
    default: 'on',
  },
  stripeAccount: {
    variable: 'STRIPE_ACCOUNT',
    meaning:
      'the Stripe account (acct_…) a new key must belong to when Stripe refuses the current key and no account is on record for it: a deliberate, temporary override',
    default: 'none',
    pattern: /^acct_[A-Za-z0-9]{1,64}$/,
    patternText: 'a Stripe account id (acct_ followed by letters and digits), or none',
  },
  successNoticeTopicArn: {
    variable: 'SUCCESS_NOTICE_TOPIC_ARN',
    meaning:
      'the SNS topic told when a rotation finished (AWSCURRENT moved: the masked key and the site count), or none',
    default: 'none',
    pattern: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/,
    patternText: 'an SNS topic ARN, or none',
  },
  stripeApiBase: {
    variable: 'STRIPE_API_BASE',
    meaning: 'the Stripe API the key check calls (https, no credentials, query or fragment)',
    default: 'https://api.stripe.com',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
/** The whole-number settings: those with bounds. */
type IntegerSettingName = {
  [K in SettingName]: (typeof SETTINGS)[K] extends { readonly min: number } ? K : never;
}[SettingName];
export type IntegerSetting = (typeof SETTINGS)[IntegerSettingName];
export type WhenNothingStaged = (typeof SETTINGS.whenNothingStaged.allowed)[number];

/** `1–256`: the bounds of a whole-number setting, as messages and help text show them. */
export function range(setting: { readonly min: number; readonly max: number }): string {
  return `${setting.min}–${setting.max}`;
}

/** `1–256 sites, default 10`: a setting's values and default, for help text and docs. */
export function settingSummary(setting: SettingSpec): string {
  const { allowed, min, max, unit } = setting;
  const values =
    allowed?.join(' | ') ??
    (min === undefined || max === undefined ? undefined : `${range({ min, max })} ${unit ?? ''}`.trim());
  const fallback = setting.default === undefined ? 'required' : `default ${setting.default}`;
  return values === undefined ? fallback : `${values}, ${fallback}`;
}

/** Powertools' own variables, which the deployment sets too (Powertools reads them, or the runtime passes them). */
export const POWERTOOLS_SETTINGS = {
  serviceName: {
    variable: 'POWERTOOLS_SERVICE_NAME',
    meaning: 'the `service` of every log line and the dimension of every metric',
    default: 'stripe-key-rotator',
  },
  metricsNamespace: {
    variable: 'POWERTOOLS_METRICS_NAMESPACE',
    meaning: 'the CloudWatch namespace of the metrics',
    default: 'StripeKeyRotator',
  },
  logLevel: {
    variable: 'POWERTOOLS_LOG_LEVEL',
    meaning: 'the lowest level logged',
    default: 'INFO',
  },
} as const satisfies Record<string, SettingSpec>;

/** The function's EMF metrics, published under `POWERTOOLS_SETTINGS.metricsNamespace` with one dimension. */
export const METRICS = {
  /** Powertools' default dimension, holding the service name. */
  dimension: 'service',
  names: {
    RotationSucceeded: { unit: 'Count', meaning: 'a rotation finished: AWSCURRENT moved (finishSecret)' },
    RotationStepFailed: { unit: 'Count', meaning: 'a rotation step failed (any step, any reason)' },
    SitesConfirmed: { unit: 'Count', meaning: 'sites holding the new key, at the end of setSecret' },
    SitesFailed: { unit: 'Count', meaning: 'sites that did not confirm, at the end of setSecret' },
    SitesNotAttempted: { unit: 'Count', meaning: 'sites not contacted (canary failure, deadline)' },
    PushDuration: { unit: 'Milliseconds', meaning: 'how long the push of setSecret took' },
    StagedKeyResetFailed: {
      unit: 'Count',
      meaning:
        'the staged key secret could not be reset after AWSCURRENT moved: it still holds the key in service',
    },
  },
} as const;

export type MetricName = keyof typeof METRICS.names;

/** What a new staged key secret holds: not a secret, it means "nothing staged". */
const STAGED_PLACEHOLDER = 'none';

/** The staged key secret's "nothing staged" values: blank or `none`, case-insensitive, whitespace ignored. */
export const NOTHING_STAGED = {
  placeholder: STAGED_PLACEHOLDER,
  test(value: string): boolean {
    const trimmed = value.trim();
    return trimmed === '' || trimmed.toLowerCase() === STAGED_PLACEHOLDER;
  },
} as const;

/** Whether SITES_PARAMETER names one parameter, or a path (ending in `/`) whose parameters are all read. */
type SitesParameterKind = 'name' | 'path';

function sitesParameterKind(value: string): SitesParameterKind {
  return value.endsWith('/') ? 'path' : 'name';
}

/**
 * What SSM would refuse in a site-list parameter name (or path), as the end of a sentence naming it;
 * undefined when acceptable. `kind` is what the caller expects; by default what the value looks like.
 */
export function sitesParameterProblem(
  value: string,
  kind: SitesParameterKind = sitesParameterKind(value),
): string | undefined {
  if (value === '')
    return 'is empty; give a parameter name (/stripe/sites) or a path ending in / (/stripe/sites/)';
  if (!/^[A-Za-z0-9_./-]+$/.test(value)) return 'may hold only letters, digits, _ . - and / (SSM names)';
  if (value.length > 1011) return 'is longer than the 1011 characters SSM allows';
  if (/^\/?(aws|ssm)/i.test(value)) return 'must not start with "aws" or "ssm" (reserved by SSM)';
  if (value === '/' || value.includes('//')) return 'has an empty path segment';
  if (kind === 'path') {
    if (!value.startsWith('/') || !value.endsWith('/')) {
      return 'must start and end with / to name a path, e.g. /stripe/live/sites/';
    }
    return undefined;
  }
  if (value.endsWith('/')) return 'ends with /: that names a path, not a parameter';
  if (value.includes('/') && !value.startsWith('/')) return 'must start with / when it contains /';
  return undefined;
}

/** STRIPE_API_BASE (blank: the default) normalized to origin + path without trailing `/`, and its problems. */
export function readStripeApiBase(raw: string | undefined): { value: string; problems: string[] } {
  const { variable, default: fallback } = SETTINGS.stripeApiBase;
  const text = raw?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { value: text, problems: [`${variable}="${text}" is not a URL`] };
  }
  const problems: string[] = [];
  // Whatever credentials the URL carries stay out of the messages.
  const shown = url.username || url.password ? `${url.protocol}//***@${url.host}${url.pathname}` : text;
  if (url.protocol !== 'https:') problems.push(`${variable}="${shown}" must use https`);
  if (url.username || url.password || url.search || url.hash) {
    problems.push(`${variable} must not carry credentials, a query or a fragment`);
  }
  return { value: url.origin + url.pathname.replace(/\/+$/, ''), problems };
}

/** What an optional setting read from the environment gives: undefined when unset, and any problem. */
export interface OptionalSetting {
  readonly value: string | undefined;
  readonly problems: string[];
}

/** A setting whose default, `none`, means unset: its value, or what is wrong with it. */
function readOptional(
  setting: { variable: string; default: string; pattern: RegExp; patternText: string },
  raw: string | undefined,
  shown: boolean,
): OptionalSetting {
  const { variable, default: unset, pattern, patternText } = setting;
  const text = raw?.trim() || unset;
  if (text === unset) return { value: undefined, problems: [] };
  if (pattern.test(text)) return { value: text, problems: [] };
  return {
    value: undefined,
    problems: [`${shown ? `${variable}="${text}"` : variable} is not ${patternText}`],
  };
}

/** STRIPE_ACCOUNT as the function reads it: an account id, or undefined when unset or `none`. */
export function readStripeAccount(raw: string | undefined): OptionalSetting {
  // Not echoed: a key pasted into the wrong variable must not reach a log.
  return readOptional(SETTINGS.stripeAccount, raw, false);
}

/** SUCCESS_NOTICE_TOPIC_ARN as the function reads it: a topic ARN, or undefined when unset or `none`. */
export function readSuccessNoticeTopic(raw: string | undefined): OptionalSetting {
  // Shown only when ARN-shaped: anything else may be a secret pasted into the wrong variable.
  return readOptional(SETTINGS.successNoticeTopicArn, raw, raw?.trim().startsWith('arn:') === true);
}

/**
 * The stack outputs the operator CLI reads with `--stack NAME`, by output name: the stack defines them under
 * these names, the CLI maps each to the flag it stands for.
 */
export const STACK_OUTPUTS = {
  rotatedSecret: 'RotatedSecretArn',
  stagedKeySecret: 'StagedKeySecretArn',
  masterApiKeySecret: 'MasterApiKeySecretArn',
  sitesParameter: 'SitesParameterName',
  ledgerTable: 'LedgerTableName',
  keyMode: 'KeyMode',
} as const;

/**
 * The deployment descriptor every `StripeKeyRotation` emits as a stack output, so that `--stack NAME` finds
 * the construct in any app's stack: the output key is `outputPrefix` followed by the construct's address
 * (unique in the app), its value a JSON object `{"v": version, "id": "<construct path>", ...}` with one
 * string per STACK_OUTPUTS key. CloudFormation caps an output value at 4096 characters and a template at 200
 * outputs (docs/aws-behaviour.md).
 */
export const STACK_DESCRIPTOR = {
  outputPrefix: 'StripeKeyRotationDescriptor',
  version: 1,
} as const;

/**
 * Bounds on every attempt of an AWS call. Without `throwOnRequestTimeout` the SDK only warns when
 * `requestTimeout` passes and keeps waiting (docs/aws-calls.md).
 */
export const AWS_CLIENT_CONFIG = {
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
} as const;

/**
 * The most one AWS call may take, its retries included: the adapters abort it then (AbortSignal), and the
 * error names the service. A hung endpoint must fail the step or the command, not run into a timeout.
 */
export const AWS_CALL_DEADLINE_MS = 15_000;

/** The longest a Lambda invocation, hence one rotation step, may run. */
export const FUNCTION_TIMEOUT_MAX_MS = 15 * 60_000;

/**
 * The rotation function's memory in MB: Lambda's bounds, and the default: the cheapest size at which a
 * 10,000-site rotation's setSecret finishes within a quarter of the 900 s timeout (bench/deployed.md, row
 * "10000 | 512"; docs/sizing.md). Lambda gives CPU in proportion to memory, and the push is what uses it.
 */
export const FUNCTION_MEMORY_MB = { default: 512, min: 128, max: 10_240 } as const;

/**
 * The watchdog (watchdog.ts): a scheduled function, same bundle, that reads the rotated secret's rotation
 * state and publishes it as metrics; the construct alarms on them (lib/rotation-watchdog.ts).
 */
export const WATCHDOG_SETTINGS = {
  rotatedSecretId: {
    variable: 'ROTATED_SECRET_ARN',
    meaning: 'the secret whose rotation the watchdog watches',
  },
  overdueAfterHours: {
    variable: 'OVERDUE_AFTER_HOURS',
    meaning: "how old the last successful rotation may get: the schedule's longest period plus its window",
    min: 4,
    max: 1001 * 24,
    unit: 'hours',
  },
  pendingMaxHours: {
    variable: 'PENDING_MAX_HOURS',
    meaning: 'how long an AWSPENDING version may exist before it counts as stuck',
    default: 6,
    min: 1,
    max: 7 * 24,
    unit: 'hours',
  },
} as const satisfies Record<string, SettingSpec>;

/** How often the watchdog runs; its alarms use this period and alarm after `WATCHDOG_ALARM_PERIODS` of them. */
export const WATCHDOG_INTERVAL_HOURS = 1;
/** Consecutive breaching (or missing) hours before a watchdog alarm fires: one late run is not an alert. */
export const WATCHDOG_ALARM_PERIODS = 3;

/** The watchdog's metrics, in the function's namespace, with the same `service` dimension. */
export const WATCHDOG_METRICS = {
  HoursSinceLastRotation: {
    unit: 'None',
    meaning: 'hours since the last successful rotation (since creation when never rotated)',
  },
  PendingAgeHours: {
    unit: 'None',
    meaning: 'age in hours of an AWSPENDING version not yet current; 0 if none',
  },
  RotationEnabled: { unit: 'Count', meaning: '1 while rotation is enabled on the secret, 0 otherwise' },
} as const;

export type WatchdogMetricName = keyof typeof WATCHDOG_METRICS;
