/**
 * Per-environment settings of the CDK app, read from the `environments` context (cdk.json) and checked
 * before anything is built: each problem names its context path and the offending value.
 */

import type { KeyMode } from '../core/index.js';
import { ConfigurationError, SETTINGS, type WhenNothingStaged } from '../core/index.js';

export interface ExistingSecretSettings {
  /** Complete secret ARN (with its 6-character suffix), so policies need no wildcard. */
  readonly arn: string;
  /** The customer managed key the secret is encrypted with, if any. */
  readonly kmsKeyArn?: string;
}

export interface ExistingTableSettings {
  /** The table's name (in the stack's account and region). */
  readonly name: string;
  /** The customer managed key the table is encrypted with, if any. */
  readonly kmsKeyArn?: string;
}

export type SiteListSettings =
  | { readonly name: string; readonly kmsKeyArn?: string }
  | { readonly path: string; readonly kmsKeyArn?: string };

export interface EnvironmentSettings {
  /** The environment's name (`test`, `live`): selects it with `-c environment=<name>`, names the stack. */
  readonly name: string;
  readonly keyMode: KeyMode;
  readonly account?: string;
  readonly region?: string;
  readonly serviceName?: string;
  readonly notificationEmails?: readonly string[];
  /** The construct's `notifyOnSuccess`: a notice when a rotation finished. */
  readonly notifyOnSuccess?: boolean;
  /** Role or user ARNs let through the rotated secret's write guard (`operatorPrincipals`). */
  readonly operatorPrincipals?: readonly string[];
  /** `cron(...)` (with `scheduleWindowHours`) or `rate(N hours|days)`. */
  readonly schedule?: string;
  readonly scheduleWindowHours?: number;
  /** The watchdog's overdue threshold (`overdueAfter`), whole hours; required with a day-of-month cron. */
  readonly overdueAfterHours?: number;
  /** The watchdog's stuck-AWSPENDING threshold (`pendingMaxAge`), whole hours. */
  readonly pendingMaxAgeHours?: number;
  readonly whenNothingStaged?: WhenNothingStaged;
  readonly pushConcurrency?: number;
  readonly siteTimeoutMs?: number;
  readonly siteAttempts?: number;
  readonly canarySites?: number;
  readonly stripeCheck?: boolean;
  readonly timeoutSeconds?: number;
  readonly memorySize?: number;
  readonly logRetentionDays?: number;
  /** `create` for a new customer managed key, a key ARN for an existing one; absent: `aws/secretsmanager`. */
  readonly encryptionKey?: string;
  readonly rotatedSecret?: ExistingSecretSettings;
  readonly stagedKeySecret?: ExistingSecretSettings;
  readonly masterApiKeySecret?: ExistingSecretSettings;
  readonly siteList?: SiteListSettings;
  /** An existing ledger table to adopt (the construct's `ledgerTable`). */
  readonly ledgerTable?: ExistingTableSettings;
  /** @default true for live key mode */
  readonly terminationProtection?: boolean;
}

const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

type Json = Record<string, unknown>;

/** Parses `environments`; `selected` (the `environment` context) keeps only that one. */
export function readEnvironments(context: unknown, selected?: unknown): EnvironmentSettings[] {
  const problems: string[] = [];
  const raw = typeof context === 'string' ? parseJson(context) : context;
  if (!isObject(raw) || Object.keys(raw).length === 0) {
    throw new ConfigurationError(
      'context "environments" must map environment names to settings, e.g. {"test": {"keyMode": "test"}} (see cdk.json)',
    );
  }
  const all = Object.entries(raw).map(([name, value]) => readEnvironment(name, value, problems));
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

function readEnvironment(name: string, value: unknown, problems: string[]): EnvironmentSettings {
  const at = `environments.${name}`;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,30}$/.test(name)) {
    problems.push(
      `${at}: the name must start with a letter and hold only letters, digits and - (at most 31)`,
    );
  }
  if (!isObject(value)) {
    problems.push(`${at} must be an object of settings, got ${JSON.stringify(value)}`);
    return { name, keyMode: 'test' };
  }
  const read = new Reader(at, value, problems);
  const keyMode = read.oneOf('keyMode', SETTINGS.keyMode.allowed, true) ?? 'test';
  const settings: EnvironmentSettings = {
    name,
    keyMode,
    account: read.string('account', /^\d{12}$/, 'a 12-digit account id'),
    region: read.string('region', /^[a-z]{2}(-[a-z]+)+-\d$/, 'a region such as eu-west-3'),
    serviceName: read.string('serviceName'),
    notificationEmails: read.stringList('notificationEmails'),
    notifyOnSuccess: read.boolean('notifyOnSuccess'),
    operatorPrincipals: read.stringList('operatorPrincipals'),
    schedule: read.string('schedule', /^(cron|rate)\(.*\)$/, 'cron(...) or rate(N hours|days)'),
    scheduleWindowHours: read.number('scheduleWindowHours'),
    overdueAfterHours: read.number('overdueAfterHours'),
    pendingMaxAgeHours: read.number('pendingMaxAgeHours'),
    whenNothingStaged: read.oneOf('whenNothingStaged', SETTINGS.whenNothingStaged.allowed),
    pushConcurrency: read.number('pushConcurrency'),
    siteTimeoutMs: read.number('siteTimeoutMs'),
    siteAttempts: read.number('siteAttempts'),
    canarySites: read.number('canarySites'),
    stripeCheck: read.boolean('stripeCheck'),
    timeoutSeconds: read.number('timeoutSeconds'),
    memorySize: read.number('memorySize'),
    logRetentionDays: read.number('logRetentionDays'),
    encryptionKey: read.string(
      'encryptionKey',
      /^(create|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+)$/,
      '"create" or a KMS key ARN',
    ),
    rotatedSecret: read.existingSecret('rotatedSecret'),
    stagedKeySecret: read.existingSecret('stagedKeySecret'),
    masterApiKeySecret: read.existingSecret('masterApiKeySecret'),
    siteList: read.siteList('siteList'),
    ledgerTable: read.existingTable('ledgerTable'),
    terminationProtection: read.boolean('terminationProtection'),
  };
  read.rejectUnknown();
  if (keyMode === 'live') {
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
  if (settings.schedule?.startsWith('cron(') && settings.scheduleWindowHours === undefined) {
    problems.push(`${at}.scheduleWindowHours is required with a cron(...) schedule`);
  }
  return settings;
}

class Reader {
  readonly #seen = new Set<string>();

  constructor(
    private readonly at: string,
    private readonly value: Json,
    private readonly problems: string[],
  ) {}

  string(key: string, pattern?: RegExp, expected?: string): string | undefined {
    const raw = this.#take(key);
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string' || (pattern !== undefined && !pattern.test(raw))) {
      this.problems.push(`${this.at}.${key}: expected ${expected ?? 'a string'}, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return raw;
  }

  number(key: string): number | undefined {
    const raw = this.#take(key);
    if (raw === undefined) return undefined;
    if (typeof raw !== 'number' || !Number.isFinite(raw)) {
      this.problems.push(`${this.at}.${key}: expected a number, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return raw;
  }

  boolean(key: string): boolean | undefined {
    const raw = this.#take(key);
    if (raw === undefined) return undefined;
    if (typeof raw !== 'boolean') {
      this.problems.push(`${this.at}.${key}: expected true or false, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return raw;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], required = false): T | undefined {
    const raw = this.#take(key);
    if (raw === undefined && !required) return undefined;
    if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) {
      this.problems.push(
        `${this.at}.${key}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`,
      );
      return undefined;
    }
    return raw as T;
  }

  stringList(key: string): string[] | undefined {
    const raw = this.#take(key);
    if (raw === undefined) return undefined;
    if (!Array.isArray(raw) || raw.some((item) => typeof item !== 'string')) {
      this.problems.push(`${this.at}.${key}: expected a list of strings, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return raw as string[];
  }

  existingSecret(key: string): ExistingSecretSettings | undefined {
    return this.#existing(
      key,
      'arn',
      SECRET_ARN,
      'a complete secret ARN (ending in -XXXXXX)',
      '<complete secret ARN>',
    );
  }

  existingTable(key: string): ExistingTableSettings | undefined {
    // DynamoDB's own rule for table names.
    const tableName = /^[A-Za-z0-9_.-]{3,255}$/;
    return this.#existing(
      key,
      'name',
      tableName,
      'a DynamoDB table name (3–255 of A-Z a-z 0-9 _ . -)',
      '<table name>',
    );
  }

  siteList(key: string): SiteListSettings | undefined {
    const raw = this.#take(key);
    if (raw === undefined) return undefined;
    const nested = isObject(raw) ? new Reader(`${this.at}.${key}`, raw, this.problems) : undefined;
    const name = nested?.string('name');
    const path = nested?.string('path');
    const kmsKeyArn = nested?.string('kmsKeyArn', KMS_KEY_ARN, 'a KMS key ARN');
    nested?.rejectUnknown();
    const withKey = kmsKeyArn === undefined ? {} : { kmsKeyArn };
    if (name !== undefined && path === undefined) return { name, ...withKey };
    if (path !== undefined && name === undefined) return { path, ...withKey };
    this.problems.push(`${this.at}.${key}: expected exactly one of {"name": "/..."} or {"path": "/.../"}`);
    return undefined;
  }

  rejectUnknown(): void {
    for (const key of Object.keys(this.value)) {
      if (!this.#seen.has(key)) this.problems.push(`${this.at}.${key} is not a known setting`);
    }
  }

  /** `{"<field>": "<placeholder>", "kmsKeyArn"?: "..."}`: a resource to adopt, named by `field`, with its key if any. */
  #existing<F extends string>(
    key: string,
    field: F,
    pattern: RegExp,
    expected: string,
    placeholder: string,
  ): ({ readonly [K in F]: string } & { readonly kmsKeyArn?: string }) | undefined {
    const raw = this.#take(key);
    if (raw === undefined) return undefined;
    const nested = isObject(raw) ? new Reader(`${this.at}.${key}`, raw, this.problems) : undefined;
    const value = nested?.string(field, pattern, expected);
    const kmsKeyArn = nested?.string('kmsKeyArn', KMS_KEY_ARN, 'a KMS key ARN');
    nested?.rejectUnknown();
    if (value === undefined) {
      if (!isObject(raw) || raw[field] === undefined) {
        this.problems.push(`${this.at}.${key}: expected {"${field}": "${placeholder}", "kmsKeyArn"?: "..."}`);
      }
      return undefined;
    }
    const named = { [field]: value } as { readonly [K in F]: string };
    return kmsKeyArn === undefined ? named : { ...named, kmsKeyArn };
  }

  #take(key: string): unknown {
    this.#seen.add(key);
    return this.value[key];
  }
}

/** `-c environments='{...}'` arrives as a string. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
