/**
 * The whole Lambda handler (real config parsing, real pusher, real Stripe checker, real HTTPS template sites
 * and Stripe stand-in on loopback), with Secrets Manager and SSM replaced at the transport by
 * aws-sdk-client-mock. The emulator suite runs the same rotations against moto.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRotationHandler, type RotationHandler } from '../../lambda/runtime.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { json, TEMPLATE_ENDPOINT_PATH } from '../../sim/site-behaviours.js';
import { type StripeStub, startStripeStub } from '../../sim/stripe-stub.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { FakeSecretsManager } from '../support/fake-secrets-manager.js';
import { fakeKey, MASTER_API_KEY } from '../support/rotation-fixtures.js';
import { capturedText, rejection, secret } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'HandlerCurrent');
const NEXT = fakeKey('test', 'HandlerNext');
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

let fleet: TemplateFleet;
let stripe: StripeStub;

beforeAll(async () => {
  fleet = await startTemplateFleet({ size: 25, masterApiKey: MASTER_API_KEY, firstAddress: '127.0.10.2' });
  stripe = await startStripeStub(await fleet.ca.issue({ ips: ['127.0.0.1'] }));
  stripe.keys.set(CURRENT, { account: 'acct_1Handler', livemode: false });
  stripe.keys.set(NEXT, { account: 'acct_1Handler', livemode: false });
});

afterAll(async () => {
  await stripe.close();
  await fleet.close();
});

beforeEach(() => {
  for (const site of fleet.sites) {
    site.restore();
    site.masterApiKey = MASTER_API_KEY;
    site.storedKey = undefined;
  }
  fleet.resetStats();
  stripe.requests.length = 0;
});

interface World {
  readonly sm: FakeSecretsManager;
  readonly arn: string;
  readonly handler: RotationHandler;
}

function world(options: { staged: string; env?: Record<string, string> }): World {
  const sm = new FakeSecretsManager();
  const arn = sm.createSecret('stripe/test/secret-key', CURRENT);
  const staged = sm.createSecret('stripe/test/staged-key', options.staged);
  const master = sm.createSecret('stripe/test/master-api-key', MASTER_API_KEY);
  const ssm = new SSMClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  mockClient(ssm)
    .on(GetParameterCommand, { Name: '/stripe/test/sites' })
    .resolves({
      Parameter: { Name: '/stripe/test/sites', Type: 'String', Value: `# fleet\n${fleet.urls.join('\n')}\n` },
    });
  const handler = createRotationHandler(
    {
      STAGED_SECRET_ARN: staged,
      MASTER_API_KEY_SECRET_ARN: master,
      SITES_PARAMETER: '/stripe/test/sites',
      LEDGER_TABLE: 'handler-test-ledger',
      KEY_MODE: 'test',
      STRIPE_API_BASE: stripe.url,
      SITE_TIMEOUT_MS: '1500',
      PUSH_CONCURRENCY: '8',
      ...options.env,
    },
    {
      ca: fleet.caPem,
      secretsManager: sm.client,
      ssm,
      ledger: new InMemoryLedger(),
      logger: new Logger({ serviceName: 'handler-test' }),
    },
  );
  return { sm, arn, handler };
}

const budget = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });

async function runSteps(w: World, token: string, steps: readonly string[] = STEPS): Promise<void> {
  for (const Step of steps) {
    await w.handler({ Step, SecretId: w.arn, ClientRequestToken: token }, budget(600_000));
  }
}

describe('the rotation handler over real HTTPS sites', () => {
  it('rotates to the staged key once all 25 sites confirmed; each site got exactly one correct PUT', async () => {
    const w = world({ staged: NEXT });
    const token = w.sm.startRotation(w.arn);

    await runSteps(w, token);

    expect(w.sm.valueAt(w.arn, 'AWSCURRENT')).toBe(NEXT);
    expect(w.sm.valueAt(w.arn, 'AWSPREVIOUS')).toBe(CURRENT);
    for (const site of fleet.sites) {
      expect(site.requests).toHaveLength(1);
      const [request] = site.requests;
      expect(request?.method).toBe('PUT');
      expect(request?.path).toBe(TEMPLATE_ENDPOINT_PATH);
      expect(request?.headers['x-api-key']).toBe(MASTER_API_KEY);
      expect(request?.body).toEqual({ value: NEXT });
      expect(site.storedKey).toBe(NEXT);
    }
    expect(stripe.requests).toContain('/v1/balance');
    expect(capturedText()).toContain('"message":"Rotation finished: AWSCURRENT moved"');
  });

  it('fails setSecret naming the site whose master key differs, then finishes once it is fixed', async () => {
    const w = world({ staged: NEXT });
    const token = w.sm.startRotation(w.arn);
    const wrong = fleet.site(7);
    wrong.masterApiKey = secret('a-different-master-key-on-site-7');

    await runSteps(w, token, ['createSecret']);
    const error = await rejection(runSteps(w, token, ['setSecret']));

    expect(error.name).toBe('PropagationError');
    expect(error.message).toContain(`${wrong.url}: invalid_api_key`);
    expect(error.message).toContain('confirmed by 24 of 25 sites');
    expect(w.sm.valueAt(w.arn, 'AWSCURRENT')).toBe(CURRENT);

    wrong.masterApiKey = MASTER_API_KEY;
    await runSteps(w, token, ['setSecret', 'testSecret', 'finishSecret']);

    expect(w.sm.valueAt(w.arn, 'AWSCURRENT')).toBe(NEXT);
    expect(wrong.storedKey).toBe(NEXT);
  });

  it('stops at the canary when it rejects the key format: no other site is contacted', async () => {
    const w = world({ staged: NEXT });
    const token = w.sm.startRotation(w.arn);
    fleet.site(0).behave(() => json(400, { success: false, error: 'invalid_secret_format' }));

    await runSteps(w, token, ['createSecret']);
    const error = await rejection(runSteps(w, token, ['setSecret']));

    expect(error.message).toContain(`${fleet.urls[0]}: invalid_secret_format`);
    expect(error.message).toContain('Not attempted (24)');
    expect(fleet.sites.slice(1).every((site) => site.requestCount === 0)).toBe(true);
    expect(w.sm.valueAt(w.arn, 'AWSCURRENT')).toBe(CURRENT);
  });

  it('with a short remaining-time budget stops launching and names the sites not attempted', async () => {
    const w = world({ staged: NEXT });
    const token = w.sm.startRotation(w.arn);
    await runSteps(w, token, ['createSecret']);

    const error = await rejection(
      w.handler({ Step: 'setSecret', SecretId: w.arn, ClientRequestToken: token }, budget(2_000)),
    );

    expect(error.message).toContain('running out of time');
    expect(error.message).toContain('Not attempted (25)');
    for (const url of fleet.urls) expect(error.message).toContain(url);
    expect(fleet.requestCount).toBe(0);
  });

  it('refuses a staged key Stripe does not know before any site is contacted', async () => {
    const unknown = fakeKey('test', 'HandlerUnknownToStripe');
    const w = world({ staged: unknown });
    const token = w.sm.startRotation(w.arn);

    await runSteps(w, token, ['createSecret']);
    const error = await rejection(runSteps(w, token, ['setSecret']));

    expect(error.name).toBe('KeyRejectedError');
    expect(error.message).toContain('revoked, expired or mistyped');
    expect(fleet.requestCount).toBe(0);
  });

  it('re-propagates the current key when nothing is staged, and finishes', async () => {
    const w = world({ staged: 'none' });
    const token = w.sm.startRotation(w.arn);

    await runSteps(w, token);

    expect(w.sm.versionIdAt(w.arn, 'AWSCURRENT')).toBe(token);
    expect(w.sm.valueAt(w.arn, 'AWSCURRENT')).toBe(CURRENT);
    expect(fleet.sites.every((site) => site.storedKey === CURRENT)).toBe(true);
    expect(stripe.requests).toHaveLength(0);
  });

  it('rejects an unknown step without touching anything', async () => {
    const w = world({ staged: NEXT });
    const token = w.sm.startRotation(w.arn);
    const error = await rejection(
      w.handler({ Step: 'deleteSecret', SecretId: w.arn, ClientRequestToken: token }, budget(600_000)),
    );
    expect(error.message).toContain('Step "deleteSecret": expected one of');
    expect(w.sm.writeCalls()).toBe(0);
  });

  it('fails at cold start naming a misconfigured variable', () => {
    expect(() => createRotationHandler({ KEY_MODE: 'prod' })).toThrow(
      /KEY_MODE="prod" is not one of live, test/,
    );
  });
});
