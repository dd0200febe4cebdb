import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../core/errors.js';
import { readEnvironments } from '../../lib/config.js';
import { SiteListParameter, siteListChoice } from '../../lib/site-list.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key-AbC123';
const KEY_ARN = 'arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function refusal(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigurationError');
}

describe('the environments of the CDK app (cdk.json context)', () => {
  it('ships a test and a live environment, each rotating keys of its own mode', () => {
    const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      context: Record<string, unknown>;
    };
    expect(readEnvironments(cdkJson.context.environments)).toEqual([
      { name: 'test', keyMode: 'test' },
      {
        name: 'live',
        keyMode: 'live',
        account: '123456789012',
        region: 'eu-west-3',
        // A placeholder of the example account: a live rotation refuses to synthesize without an operator.
        operatorPrincipals: ['arn:aws:iam::123456789012:role/stripe-key-rotator-operators'],
      },
    ]);
  });

  it('refuses a live environment that names no account or no region, naming the setting', () => {
    expect(refusal(() => readEnvironments({ live: { keyMode: 'live' } })).split('\n')).toEqual([
      'cdk.json context "environments" is invalid:',
      '  - environments.live.account is required for a live environment (keyMode "live"): name the 12-digit account id the stack must deploy to',
      '  - environments.live.region is required for a live environment (keyMode "live"): name the region the stack must deploy to',
    ]);
    expect(refusal(() => readEnvironments({ prod: { keyMode: 'live', account: '123456789012' } }))).toContain(
      'environments.prod.region is required for a live environment',
    );
    expect(readEnvironments({ staging: { keyMode: 'test' } })).toEqual([
      { name: 'staging', keyMode: 'test' },
    ]);
  });

  it('keeps only the environment selected with -c environment=<name>', () => {
    const environments = {
      test: { keyMode: 'test' },
      live: { keyMode: 'live', account: '123456789012', region: 'eu-west-3' },
    };
    expect(readEnvironments(environments, 'live').map((e) => e.name)).toEqual(['live']);
    expect(refusal(() => readEnvironments(environments, 'prod'))).toBe(
      'context environment="prod" is not one of test, live',
    );
  });

  it('reads existing resources and tuning settings', () => {
    const [live] = readEnvironments({
      live: {
        keyMode: 'live',
        account: '123456789012',
        region: 'eu-west-3',
        rotatedSecret: { arn: SECRET_ARN, kmsKeyArn: KEY_ARN },
        stagedKeySecret: { arn: SECRET_ARN },
        masterApiKeySecret: { arn: SECRET_ARN },
        siteList: { path: '/stripe/live/sites/', kmsKeyArn: KEY_ARN },
        encryptionKey: 'create',
        schedule: 'cron(0 3 ? * MON *)',
        scheduleWindowHours: 2,
        pushConcurrency: 20,
        stripeCheck: false,
        notificationEmails: ['ops@example.com'],
      },
    });
    expect(live).toMatchObject({
      rotatedSecret: { arn: SECRET_ARN, kmsKeyArn: KEY_ARN },
      stagedKeySecret: { arn: SECRET_ARN },
      masterApiKeySecret: { arn: SECRET_ARN },
      siteList: { path: '/stripe/live/sites/', kmsKeyArn: KEY_ARN },
      scheduleWindowHours: 2,
      stripeCheck: false,
    });
  });

  it('names the context path and the value of every problem at once', () => {
    const message = refusal(() =>
      readEnvironments({
        live: {
          keyMode: 'production',
          pushConcurrency: '10',
          rotatedSecret: { arn: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key' },
          siteList: { name: '/a', path: '/b/' },
          schedule: 'cron(0 3 ? * MON *)',
          colour: 'blue',
        },
        'bad name': { keyMode: 'test' },
      }),
    );
    expect(message).toContain('environments.live.keyMode: expected one of live, test, got "production"');
    expect(message).toContain('environments.live.pushConcurrency: expected a number, got "10"');
    expect(message).toContain(
      'environments.live.rotatedSecret.arn: expected a complete secret ARN (ending in -XXXXXX)',
    );
    expect(message).toContain('environments.live.siteList: expected exactly one of');
    expect(message).toContain('environments.live.scheduleWindowHours is required with a cron(...) schedule');
    expect(message).toContain('environments.live.colour is not a known setting');
    expect(message).toContain('environments.bad name: the name must start with a letter');
  });

  it('reads the environments from JSON text, as `-c environments=...` passes them', () => {
    expect(readEnvironments('{"staging": {"keyMode": "test", "canarySites": 2}}')).toEqual([
      { name: 'staging', keyMode: 'test', canarySites: 2 },
    ]);
  });

  it('refuses a missing or empty environments context', () => {
    expect(refusal(() => readEnvironments('{"test": '))).toMatch(
      /context "environments" must map environment names/,
    );
    expect(refusal(() => readEnvironments(undefined))).toMatch(
      /context "environments" must map environment names/,
    );
    expect(refusal(() => readEnvironments({}))).toMatch(/context "environments" must map environment names/);
  });
});

describe('the site list choices', () => {
  it('accepts a parameter name and a path ending in /', () => {
    expect(siteListChoice(SiteListParameter.fromName('/stripe/live/sites'))).toMatchObject({ kind: 'name' });
    expect(siteListChoice(SiteListParameter.fromName('sites'))).toMatchObject({ kind: 'name' });
    expect(siteListChoice(SiteListParameter.fromPath('/stripe/live/sites/'))).toMatchObject({ kind: 'path' });
  });

  it('refuses names SSM would refuse, or a path where a name belongs and the reverse', () => {
    expect(refusal(() => SiteListParameter.fromName('/stripe/sites/'))).toBe(
      'siteList: SiteListParameter.fromName("/stripe/sites/") ends with /: that names a path, not a parameter',
    );
    expect(refusal(() => SiteListParameter.fromPath('/stripe/sites'))).toMatch(
      /fromPath\("\/stripe\/sites"\) must start and end with \//,
    );
    expect(refusal(() => SiteListParameter.fromName('stripe/sites'))).toMatch(
      /must start with \/ when it contains \//,
    );
    expect(refusal(() => SiteListParameter.fromName('/aws/sites'))).toMatch(/reserved by SSM/);
    expect(refusal(() => SiteListParameter.fromName('/stripe sites'))).toMatch(/may hold only letters/);
    expect(refusal(() => SiteListParameter.create({ parameterName: '/a//b' }))).toMatch(/empty path segment/);
  });
});
