import { describe, expect, it } from 'vitest';
import { configEnvironment, type DeployedConfig, loadConfig } from '../../core/config.js';
import {
  METRICS,
  NOTHING_STAGED,
  POWERTOOLS_SETTINGS,
  range,
  readStripeApiBase,
  SETTINGS,
  settingSummary,
  sitesParameterProblem,
} from '../../core/contract.js';

describe('the deployment contract', () => {
  it('names every setting once, each with its own environment variable and a meaning', () => {
    const variables = [...Object.values(SETTINGS), ...Object.values(POWERTOOLS_SETTINGS)].map(
      (setting) => setting.variable,
    );
    expect(new Set(variables).size).toBe(variables.length);
    for (const setting of [...Object.values(SETTINGS), ...Object.values(POWERTOOLS_SETTINGS)]) {
      expect(setting.variable).toMatch(/^[A-Z][A-Z_]+$/);
      expect(setting.meaning.length).toBeGreaterThan(10);
    }
  });

  it('gives every whole-number setting a default within its bounds', () => {
    for (const setting of [
      SETTINGS.pushConcurrency,
      SETTINGS.siteTimeoutMs,
      SETTINGS.siteAttempts,
      SETTINGS.canarySites,
    ]) {
      expect(setting.default).toBeGreaterThanOrEqual(setting.min);
      expect(setting.default).toBeLessThanOrEqual(setting.max);
    }
    expect(range(SETTINGS.pushConcurrency)).toBe('1–256');
  });

  it('summarizes a setting for help text: its values and default, or that it is required', () => {
    expect(settingSummary(SETTINGS.pushConcurrency)).toBe('1–256 sites, default 10');
    expect(settingSummary(SETTINGS.whenNothingStaged)).toBe('repropagate | fail, default repropagate');
    expect(settingSummary(SETTINGS.keyMode)).toBe('live | test, required');
    expect(settingSummary(SETTINGS.ledgerTable)).toBe('required');
  });

  it('publishes RotationStepFailed and the site counts as counts, PushDuration in milliseconds', () => {
    expect(Object.entries(METRICS.names).map(([name, { unit }]) => [name, unit])).toEqual([
      ['RotationSucceeded', 'Count'],
      ['RotationStepFailed', 'Count'],
      ['SitesConfirmed', 'Count'],
      ['SitesFailed', 'Count'],
      ['SitesNotAttempted', 'Count'],
      ['PushDuration', 'Milliseconds'],
      ['StagedKeyResetFailed', 'Count'],
    ]);
    expect(POWERTOOLS_SETTINGS.metricsNamespace.default).toBe('StripeKeyRotator');
  });
});

describe('the "nothing staged" rule', () => {
  it.each(['', '   ', 'none', 'NONE', ' None\n'])('reads %j as nothing staged', (value) => {
    expect(NOTHING_STAGED.test(value)).toBe(true);
  });

  it.each(['sk_test_abc', 'nothing', 'none none'])('reads %j as something staged', (value) => {
    expect(NOTHING_STAGED.test(value)).toBe(false);
  });

  it('writes the placeholder it reads as nothing staged', () => {
    expect(NOTHING_STAGED.placeholder).toBe('none');
    expect(NOTHING_STAGED.test(NOTHING_STAGED.placeholder)).toBe(true);
  });
});

describe('the site-list parameter name rule', () => {
  it.each([
    ['', undefined, 'is empty'],
    ['/stripe sites', undefined, 'may hold only letters'],
    ['/aws/sites', undefined, 'reserved by SSM'],
    ['ssm-sites', undefined, 'reserved by SSM'],
    ['/', undefined, 'empty path segment'],
    ['/a//b', undefined, 'empty path segment'],
    ['stripe/sites', undefined, 'must start with / when it contains /'],
    ['stripe/sites/', undefined, 'must start and end with /'],
    ['/stripe/sites', 'path', 'must start and end with /'],
    ['/stripe/sites/', 'name', 'ends with /: that names a path'],
  ] as const)('refuses %j (expected: %s)', (value, kind, problem) => {
    expect(sitesParameterProblem(value, kind)).toContain(problem);
  });

  it('allows the 1011 characters of an SSM name, not one more', () => {
    expect(sitesParameterProblem(`/${'a'.repeat(1010)}`)).toBeUndefined();
    expect(sitesParameterProblem(`/${'a'.repeat(1011)}`)).toContain('longer than the 1011 characters');
  });

  it.each([
    ['sites', 'name'],
    ['/stripe/live/sites', 'name'],
    ['/stripe/live/sites/', 'path'],
  ] as const)('accepts %j as a %s', (value, kind) => {
    expect(sitesParameterProblem(value)).toBeUndefined();
    expect(sitesParameterProblem(value, kind)).toBeUndefined();
  });
});

describe('the STRIPE_API_BASE rule', () => {
  it('defaults to the Stripe API and drops trailing slashes', () => {
    expect(readStripeApiBase(undefined)).toEqual({ value: 'https://api.stripe.com', problems: [] });
    expect(readStripeApiBase(' https://127.0.0.1:8443/v1/ ')).toEqual({
      value: 'https://127.0.0.1:8443/v1',
      problems: [],
    });
  });

  it.each([
    ['http://api.stripe.com', 'STRIPE_API_BASE="http://api.stripe.com" must use https'],
    ['not a url', 'STRIPE_API_BASE="not a url" is not a URL'],
    ['https://user:pw@api.stripe.com', 'must not carry credentials, a query or a fragment'],
    ['https://api.stripe.com/?x=1', 'must not carry credentials, a query or a fragment'],
  ])('refuses %j', (raw, problem) => {
    expect(readStripeApiBase(raw).problems.join('\n')).toContain(problem);
  });

  it('never repeats the credentials of a URL it refuses', () => {
    for (const raw of ['https://user:pw@api.stripe.com', 'http://user:pw@api.stripe.com']) {
      const { problems } = readStripeApiBase(raw);
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.join('\n')).not.toMatch(/user|pw/);
    }
  });
});

describe('the environment a deployment gives the function', () => {
  it('loads back as exactly the configuration it was built from', () => {
    const deployed: DeployedConfig = {
      stagedSecretId: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:staged-AbCdEf',
      masterApiKeySecretId: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:master-AbCdEf',
      sitesParameter: '/stripe/test/sites/',
      ledgerTable: 'ledger-table',
      keyMode: 'test',
      whenNothingStaged: 'fail',
      pushConcurrency: 32,
      siteTimeoutMs: 2_500,
      siteAttempts: 5,
      canarySites: 0,
      stripeCheck: false,
    };
    expect(loadConfig(configEnvironment(deployed))).toEqual({
      ...deployed,
      stripeApiBase: SETTINGS.stripeApiBase.default,
    });
  });
});
