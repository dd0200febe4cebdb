/**
 * Per-environment settings of the CDK app, read from the `environments` context (cdk.json) and checked
 * before anything is built: each problem names its context path and the offending value.
 */

import { z } from 'zod';
import { ConfigurationError, SETTINGS } from '../core/index.js';

const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** Every message reads "expected …"; the formatter adds the path and the value given. */
const text = (pattern: RegExp, expected: string) =>
  z.string({ error: `expected ${expected}` }).regex(pattern, { error: `expected ${expected}` });
const number = z
  .number({ error: 'expected a number' })
  .refine(Number.isFinite, { error: 'expected a number' });
const boolean = z.boolean({ error: 'expected true or false' });
const strings = z.array(z.string(), { error: 'expected a list of strings' });
const oneOf = <const T extends readonly [string, ...string[]]>(allowed: T) =>
  z.enum(allowed, { error: `expected one of ${allowed.join(', ')}` });
const kmsKeyArn = text(KMS_KEY_ARN, 'a KMS key ARN');

const existingSecret = z.strictObject(
  { arn: text(SECRET_ARN, 'a complete secret ARN (ending in -XXXXXX)'), kmsKeyArn: kmsKeyArn.optional() },
  { error: 'expected {"arn": "<complete secret ARN>", "kmsKeyArn"?: "..."}' },
);

const existingTable = z.strictObject(
  // DynamoDB's own rule for table names.
  {
    name: text(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name (3–255 of A-Z a-z 0-9 _ . -)'),
    kmsKeyArn: kmsKeyArn.optional(),
  },
  { error: 'expected {"name": "<table name>", "kmsKeyArn"?: "..."}' },
);

const siteList = z.union(
  [
    z.strictObject({ name: z.string(), kmsKeyArn: kmsKeyArn.optional() }),
    z.strictObject({ path: z.string(), kmsKeyArn: kmsKeyArn.optional() }),
  ],
  { error: 'expected exactly one of {"name": "/..."} or {"path": "/.../"}' },
);

/**
 * One environment's settings: the construct's props in JSON form. Only shapes are checked here; values
 * (bounds, the schedule, ARNs against the stack) are the construct's to check, once, with the same rules
 * as a CDK app of one's own.
 */
const ENVIRONMENT = z.strictObject({
  keyMode: oneOf(SETTINGS.keyMode.allowed),
  account: text(/^\d{12}$/, 'a 12-digit account id').optional(),
  region: text(/^[a-z]{2}(-[a-z]+)+-\d$/, 'a region such as eu-west-3').optional(),
  serviceName: z.string({ error: 'expected a string' }).optional(),
  notificationEmails: strings.optional(),
  /** The construct's `notifyOnSuccess`: a notice when a rotation finished. */
  notifyOnSuccess: boolean.optional(),
  /** Role or user ARNs let through the rotated secret's write guard (`operatorPrincipals`). */
  operatorPrincipals: strings.optional(),
  /** `cron(...)` (with `scheduleWindowHours`) or `rate(N hours|days)`. */
  schedule: text(/^(cron|rate)\(.*\)$/, 'cron(...) or rate(N hours|days)').optional(),
  scheduleWindowHours: number.optional(),
  /** The watchdog's overdue threshold (`overdueAfter`), whole hours; required with a day-of-month cron. */
  overdueAfterHours: number.optional(),
  /** The watchdog's stuck-AWSPENDING threshold (`pendingMaxAge`), whole hours. */
  pendingMaxAgeHours: number.optional(),
  whenNothingStaged: oneOf(SETTINGS.whenNothingStaged.allowed).optional(),
  pushConcurrency: number.optional(),
  siteTimeoutMs: number.optional(),
  siteAttempts: number.optional(),
  canarySites: number.optional(),
  stripeCheck: boolean.optional(),
  timeoutSeconds: number.optional(),
  memorySize: number.optional(),
  logRetentionDays: number.optional(),
  /** `create` for a new customer managed key, a key ARN for an existing one; absent: `aws/secretsmanager`. */
  encryptionKey: text(
    /^(create|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+)$/,
    '"create" or a KMS key ARN',
  ).optional(),
  rotatedSecret: existingSecret.optional(),
  stagedKeySecret: existingSecret.optional(),
  masterApiKeySecret: existingSecret.optional(),
  siteList: siteList.optional(),
  /** An existing ledger table to adopt (the construct's `ledgerTable`). */
  ledgerTable: existingTable.optional(),
  /** @default true for live key mode */
  terminationProtection: boolean.optional(),
});

export type EnvironmentSettings = z.infer<typeof ENVIRONMENT> & {
  /** The environment's name (`test`, `live`): selects it with `-c environment=<name>`, names the stack. */
  readonly name: string;
};
export type ExistingSecretSettings = z.infer<typeof existingSecret>;
export type ExistingTableSettings = z.infer<typeof existingTable>;
export type SiteListSettings = z.infer<typeof siteList>;

const ENVIRONMENT_NAME = /^[A-Za-z][A-Za-z0-9-]{0,30}$/;

/** Parses `environments`; `selected` (the `environment` context) keeps only that one. */
export function readEnvironments(context: unknown, selected?: unknown): EnvironmentSettings[] {
  const raw = typeof context === 'string' ? parseJson(context) : context;
  if (!isObject(raw) || Object.keys(raw).length === 0) {
    throw new ConfigurationError(
      'context "environments" must map environment names to settings, e.g. {"test": {"keyMode": "test"}} (see cdk.json)',
    );
  }
  const problems: string[] = [];
  const all = Object.entries(raw).flatMap(([name, value]) => {
    const at = `environments.${name}`;
    if (!ENVIRONMENT_NAME.test(name)) {
      problems.push(
        `${at}: the name must start with a letter and hold only letters, digits and - (at most 31)`,
      );
    }
    const parsed = ENVIRONMENT.safeParse(value, { reportInput: true });
    if (!parsed.success) problems.push(...parsed.error.issues.flatMap((issue) => describeIssue(at, issue)));
    // Checked on the value as given, so that they are reported with the shape problems, all at once.
    if (isObject(value)) problems.push(...crossFieldProblems(at, value));
    return parsed.success ? [{ name, ...parsed.data }] : [];
  });
  if (problems.length > 0)
    throw new ConfigurationError('cdk.json context "environments" is invalid:', { problems });

  if (selected === undefined) return all;
  const chosen = all.filter((environment) => environment.name === selected);
  if (chosen.length === 0) {
    throw new ConfigurationError(
      `context environment=${JSON.stringify(selected)} is not one of ${all.map((e) => e.name).join(', ')}`,
    );
  }
  return chosen;
}

/** The rules that tie one setting to another. */
function crossFieldProblems(at: string, settings: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (settings.keyMode === 'live') {
    // A live stack must not land wherever the deployer's credentials happen to point, nor bake a guessed
    // region into ARNs and kms:ViaService: an offline synth otherwise targets unknown-account/us-east-1.
    for (const key of ['account', 'region'] as const) {
      if (settings[key] === undefined) {
        problems.push(
          `${at}.${key} is required for a live environment (keyMode "live"): name the ${key === 'account' ? '12-digit account id' : 'region'} the stack must deploy to`,
        );
      }
    }
  }
  if (typeof settings.schedule === 'string' && settings.schedule.startsWith('cron(')) {
    if (settings.scheduleWindowHours === undefined) {
      problems.push(`${at}.scheduleWindowHours is required with a cron(...) schedule`);
    }
  }
  return problems;
}

/** One problem per line: the context path, what was expected and the value given. */
function describeIssue(at: string, issue: z.core.$ZodIssue): string[] {
  const path = [at, ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => `${path}.${key} is not a known setting`);
  const given = 'input' in issue ? `, got ${JSON.stringify(issue.input)}` : '';
  return [`${path}: ${issue.message}${given}`];
}

/** `-c environments='{...}'` arrives as a string. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
