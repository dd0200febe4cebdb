/**
 * The handler's configuration contract: environment variables only (the master API key is read from its
 * own secret, never from the environment). Every problem is reported at once, naming the variable.
 */
import { ConfigurationError } from './errors.js';
import type { KeyMode } from './keys.js';

export type WhenNothingStaged = 'repropagate' | 'fail';

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
  readonly stripeApiBase: string;
}

export const CONFIG_DEFAULTS = {
  whenNothingStaged: 'repropagate',
  pushConcurrency: 10,
  siteTimeoutMs: 10_000,
  siteAttempts: 3,
  canarySites: 1,
  stripeCheck: true,
  stripeApiBase: 'https://api.stripe.com',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env): RotatorConfig {
  const problems: string[] = [];

  const required = (name: string, describe: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is not set: it must name ${describe}`);
    return value ?? '';
  };

  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback?: T): T => {
    const raw = env[name]?.trim();
    if (!raw) {
      if (fallback !== undefined) return fallback;
      problems.push(`${name} is not set: expected one of ${allowed.join(', ')}`);
      return allowed[0] as T;
    }
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name}="${raw}" is not one of ${allowed.join(', ')}`);
      return allowed[0] as T;
    }
    return raw as T;
  };

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    if (!/^\d+$/.test(raw)) {
      problems.push(`${name}="${raw}" is not a whole number (expected ${min}–${max})`);
      return fallback;
    }
    const value = Number(raw);
    if (value < min || value > max)
      problems.push(`${name}=${value} is out of range (expected ${min}–${max})`);
    return value;
  };

  const stagedSecretId = required('STAGED_SECRET_ARN', 'the secret holding the next Stripe key');
  const masterApiKeySecretId = required(
    'MASTER_API_KEY_SECRET_ARN',
    "the secret holding the sites' master API key (X-API-Key)",
  );
  const sitesParameter = required(
    'SITES_PARAMETER',
    'the SSM parameter (or path ending in /) listing the sites',
  );
  const ledgerTable = required('LEDGER_TABLE', 'the DynamoDB table of the propagation ledger');
  if (ledgerTable && !/^[A-Za-z0-9_.-]{3,255}$/.test(ledgerTable)) {
    problems.push(`LEDGER_TABLE="${ledgerTable}" is not a DynamoDB table name (3–255 of A-Z a-z 0-9 _ . -)`);
  }
  if (sitesParameter && /\s/.test(sitesParameter)) {
    problems.push(
      `SITES_PARAMETER="${sitesParameter}" contains whitespace; it must be a parameter name or path`,
    );
  }
  const keyMode = oneOf<KeyMode>('KEY_MODE', ['live', 'test']);
  const whenNothingStaged = oneOf<WhenNothingStaged>(
    'WHEN_NOTHING_STAGED',
    ['repropagate', 'fail'],
    CONFIG_DEFAULTS.whenNothingStaged,
  );
  const pushConcurrency = integer('PUSH_CONCURRENCY', CONFIG_DEFAULTS.pushConcurrency, 1, 256);
  const siteTimeoutMs = integer('SITE_TIMEOUT_MS', CONFIG_DEFAULTS.siteTimeoutMs, 100, 120_000);
  const siteAttempts = integer('SITE_ATTEMPTS', CONFIG_DEFAULTS.siteAttempts, 1, 10);
  const canarySites = integer('CANARY_SITES', CONFIG_DEFAULTS.canarySites, 0, 100);
  const stripeCheck = oneOf('STRIPE_CHECK', ['on', 'off'], 'on') === 'on';
  const stripeApiBase = stripeBase(env.STRIPE_API_BASE?.trim() || CONFIG_DEFAULTS.stripeApiBase, problems);

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
    stripeApiBase,
  };
}

function stripeBase(raw: string, problems: string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`STRIPE_API_BASE="${raw}" is not a URL`);
    return raw;
  }
  if (url.protocol !== 'https:') problems.push(`STRIPE_API_BASE="${raw}" must use https`);
  if (url.username || url.password || url.search || url.hash) {
    problems.push('STRIPE_API_BASE must not carry credentials, a query or a fragment');
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}
