import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, loadConfig } from '../../core/config.js';
import { ConfigurationError } from '../../core/errors.js';
import { observeError, secret } from '../support/secret-guard.js';

const REQUIRED = {
  STAGED_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staged-AbCdEf',
  MASTER_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:master-AbCdEf',
  SITES_PARAMETER: '/stripe/live/sites',
  LEDGER_TABLE: 'stripe-key-rotator-live-ledger',
  KEY_MODE: 'live',
};

function configError(env: Record<string, string>): ConfigurationError {
  try {
    loadConfig(env);
  } catch (error) {
    observeError(error);
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw');
}

describe('the handler configuration', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(REQUIRED)).toEqual({
      stagedSecretId: REQUIRED.STAGED_SECRET_ARN,
      masterApiKeySecretId: REQUIRED.MASTER_API_KEY_SECRET_ARN,
      sitesParameter: '/stripe/live/sites',
      ledgerTable: 'stripe-key-rotator-live-ledger',
      keyMode: 'live',
      ...CONFIG_DEFAULTS,
    });
    expect(CONFIG_DEFAULTS).toMatchObject({
      whenNothingStaged: 'repropagate',
      pushConcurrency: 10,
      siteTimeoutMs: 10_000,
      siteAttempts: 3,
      canarySites: 1,
      stripeCheck: true,
      stripeApiBase: 'https://api.stripe.com',
    });
  });

  it('reads every tuning variable', () => {
    const config = loadConfig({
      ...REQUIRED,
      SITES_PARAMETER: '/stripe/live/sites/',
      KEY_MODE: 'test',
      WHEN_NOTHING_STAGED: 'fail',
      PUSH_CONCURRENCY: '50',
      SITE_TIMEOUT_MS: '2500',
      SITE_ATTEMPTS: '5',
      CANARY_SITES: '0',
      STRIPE_CHECK: 'off',
      STRIPE_ACCOUNT: 'acct_1Override',
      STRIPE_API_BASE: 'https://127.0.0.1:8443/',
    });
    expect(config).toMatchObject({
      sitesParameter: '/stripe/live/sites/',
      keyMode: 'test',
      whenNothingStaged: 'fail',
      pushConcurrency: 50,
      siteTimeoutMs: 2500,
      siteAttempts: 5,
      canarySites: 0,
      stripeCheck: false,
      stripeAccount: 'acct_1Override',
      stripeApiBase: 'https://127.0.0.1:8443',
    });
  });

  it('refuses a STRIPE_ACCOUNT that is not a Stripe account id, without echoing it (it may be a key)', () => {
    const pasted = secret('sk_live_51PastedIntoTheWrongVariable');
    expect(configError({ ...REQUIRED, STRIPE_ACCOUNT: pasted }).problems).toEqual([
      'STRIPE_ACCOUNT is not a Stripe account id (acct_ followed by letters and digits), or none',
    ]);
  });

  it('reads SUCCESS_NOTICE_TOPIC_ARN as a topic ARN, none as no notice, and names anything else', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:stripe-key-rotator-live-notifications';
    expect(loadConfig({ ...REQUIRED, SUCCESS_NOTICE_TOPIC_ARN: topic }).successNoticeTopicArn).toBe(topic);
    expect(
      loadConfig({ ...REQUIRED, SUCCESS_NOTICE_TOPIC_ARN: 'none' }).successNoticeTopicArn,
    ).toBeUndefined();
    expect(loadConfig(REQUIRED).successNoticeTopicArn).toBeUndefined();
    // Shown only when ARN-shaped: anything else may be a secret pasted into the wrong variable.
    expect(configError({ ...REQUIRED, SUCCESS_NOTICE_TOPIC_ARN: 'my-topic' }).problems).toEqual([
      'SUCCESS_NOTICE_TOPIC_ARN is not an SNS topic ARN, or none',
    ]);
    const queue = 'arn:aws:sqs:eu-west-1:123456789012:not-a-topic';
    expect(configError({ ...REQUIRED, SUCCESS_NOTICE_TOPIC_ARN: queue }).problems).toEqual([
      `SUCCESS_NOTICE_TOPIC_ARN="${queue}" is not an SNS topic ARN, or none`,
    ]);
  });

  it('reports every missing required variable at once, by name', () => {
    const error = configError({});
    expect(error.problems).toHaveLength(5);
    expect(error.message).toContain('LEDGER_TABLE is not set');
    expect(error.message).toContain('STAGED_SECRET_ARN is not set');
    expect(error.message).toContain('MASTER_API_KEY_SECRET_ARN is not set');
    expect(error.message).toContain('SITES_PARAMETER is not set');
    expect(error.message).toContain('KEY_MODE is not set: expected one of live, test');
  });

  it.each([
    ['KEY_MODE', 'prod', 'KEY_MODE="prod" is not one of live, test'],
    ['WHEN_NOTHING_STAGED', 'skip', 'WHEN_NOTHING_STAGED="skip" is not one of repropagate, fail'],
    ['PUSH_CONCURRENCY', '0', 'PUSH_CONCURRENCY=0 is out of range (expected 1–256)'],
    ['PUSH_CONCURRENCY', '1e3', 'PUSH_CONCURRENCY="1e3" is not a whole number'],
    ['SITE_TIMEOUT_MS', '50', 'SITE_TIMEOUT_MS=50 is out of range (expected 100–120000)'],
    ['SITE_ATTEMPTS', '11', 'SITE_ATTEMPTS=11 is out of range (expected 1–10)'],
    ['CANARY_SITES', '-1', 'CANARY_SITES="-1" is not a whole number'],
    ['STRIPE_CHECK', 'yes', 'STRIPE_CHECK="yes" is not one of on, off'],
    ['STRIPE_API_BASE', 'http://api.stripe.com', 'STRIPE_API_BASE="http://api.stripe.com" must use https'],
    ['STRIPE_API_BASE', 'not a url', 'STRIPE_API_BASE="not a url" is not a URL'],
    ['SITES_PARAMETER', '/a b', 'SITES_PARAMETER="/a b" may hold only letters, digits, _ . - and /'],
    ['SITES_PARAMETER', '/aws/sites', 'SITES_PARAMETER="/aws/sites" must not start with "aws" or "ssm"'],
    ['SITES_PARAMETER', 'stripe/sites/', 'SITES_PARAMETER="stripe/sites/" must start and end with /'],
    ['LEDGER_TABLE', 'a b', 'LEDGER_TABLE="a b" is not a DynamoDB table name'],
  ])('rejects %s=%s with a message naming the variable', (name, value, message) => {
    expect(configError({ ...REQUIRED, [name]: value }).message).toContain(message);
  });
});
