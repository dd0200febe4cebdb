/**
 * REQUIRES the moto AWS emulator (`moto_server` on PATH; `pip install 'moto[server]'`): the suite fails,
 * it does not skip, when it is missing. Run with `npm run test:emulator`.
 *
 * The real SDK clients talk to moto over HTTP on loopback; the handler pushes to real HTTPS template sites
 * and checks keys against a local Stripe stand-in. `RotateSecret` is called with a rotation Lambda ARN that
 * moto does not have: it answers an error but leaves the state AWS sets up before invoking the function
 * (rotation enabled, an empty AWSPENDING version under a new token), and the test then drives the four steps
 * the way Secrets Manager would.
 */
import { gunzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NOTHING_STAGED } from '../../core/contract.js';
import { fingerprint } from '../../core/rules/keys.js';
import { createRotationHandler, type RotationHandler } from '../../lambda/runtime.js';
import { TEMPLATE_ENDPOINT_PATH } from '../../sim/site-behaviours.js';
import { type StripeStub, startStripeStub } from '../../sim/stripe-stub.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import {
  createLedgerTable,
  currentSecretValue,
  type MotoServer,
  motoClientConfig,
  motoClients,
  secretStages,
  startMoto,
  startMotoRotation,
} from '../support/moto.js';
import { fakeKey, MASTER_API_KEY } from '../support/rotation-fixtures.js';
import { observeText, rejection, secret } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'MotoCurrent');
const NEXT = fakeKey('test', 'MotoNext');
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

let moto: MotoServer;
let fleet: TemplateFleet;
let stripe: StripeStub;
let sm: SecretsManagerClient;
let ssm: SSMClient;
let dynamodb: DynamoDBClient;
let sns: SNSClient;
let ledgerTable: string;
let runId = 0;

beforeAll(async () => {
  moto = await startMoto();
  ({ sm, ssm, dynamodb } = motoClients(moto));
  sns = new SNSClient(motoClientConfig(moto));
  ledgerTable = await createLedgerTable(dynamodb, 'stripe-key-rotator-emulator-ledger');
  fleet = await startTemplateFleet({ size: 25, masterApiKey: MASTER_API_KEY, firstAddress: '127.0.20.2' });
  stripe = await startStripeStub(await fleet.ca.issue({ ips: ['127.0.0.1'] }));
  stripe.keys.set(CURRENT, { account: 'acct_1Moto', livemode: false });
  stripe.keys.set(NEXT, { account: 'acct_1Moto', livemode: false });
});

afterAll(async () => {
  await stripe?.close();
  await fleet?.close();
  for (const client of [sm, ssm, dynamodb, sns]) client?.destroy();
  await moto?.stop();
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

interface Deployment {
  readonly arn: string;
  readonly stagedArn: string;
  readonly sitesParameter: string;
  readonly handler: RotationHandler;
}

/** Creates a fresh set of secrets and a site-list parameter in moto, and a handler configured for them. */
async function deploy(options: {
  staged: string;
  env?: Record<string, string>;
  sites?: (prefix: string) => Promise<string>;
}): Promise<Deployment> {
  runId += 1;
  const prefix = `/stripe/emulator-${runId}`;
  const create = async (name: string, value: string) =>
    (await sm.send(new CreateSecretCommand({ Name: `${prefix}/${name}`, SecretString: value }))).ARN ?? '';
  const arn = await create('secret-key', CURRENT);
  const stagedArn = await create('staged-key', options.staged);
  const masterArn = await create('master-api-key', MASTER_API_KEY);
  const sitesParameter = options.sites
    ? await options.sites(prefix)
    : await putParameter(`${prefix}/sites`, 'String', `# emulator fleet\n${fleet.urls.join('\n')}\n`);
  const handler = createRotationHandler(
    {
      STAGED_SECRET_ARN: stagedArn,
      MASTER_API_KEY_SECRET_ARN: masterArn,
      SITES_PARAMETER: sitesParameter,
      LEDGER_TABLE: ledgerTable,
      KEY_MODE: 'test',
      STRIPE_API_BASE: stripe.url,
      SITE_TIMEOUT_MS: '2000',
      ...options.env,
    },
    {
      ca: fleet.caPem,
      secretsManager: sm,
      ssm,
      dynamodb,
      sns,
      logger: new Logger({ serviceName: 'emulator-test' }),
    },
  );
  return { arn, stagedArn, sitesParameter, handler };
}

async function putParameter(name: string, type: 'String' | 'StringList' | 'SecureString', value: string) {
  await ssm.send(new PutParameterCommand({ Name: name, Type: type, Value: value, Overwrite: true }));
  return name;
}

async function versionCount(arn: string): Promise<number> {
  return (
    (await sm.send(new ListSecretVersionIdsCommand({ SecretId: arn, IncludeDeprecated: true }))).Versions
      ?.length ?? 0
  );
}

/**
 * Starts a rotation the way Secrets Manager tests a configuration (RotateImmediately=false): it fills the
 * pending version with the current value itself. Returns the token.
 */
async function configurationTest(d: Deployment): Promise<string> {
  const token = await startMotoRotation(sm, d.arn);
  await sm.send(
    new PutSecretValueCommand({
      SecretId: d.arn,
      ClientRequestToken: token,
      SecretString: CURRENT,
      VersionStages: ['AWSPENDING'],
    }),
  );
  return token;
}

const FULL_BUDGET = { getRemainingTimeInMillis: () => 600_000 };

async function run(
  d: Deployment,
  token: string,
  steps: readonly string[] = STEPS,
  clock: { getRemainingTimeInMillis(): number } = FULL_BUDGET,
): Promise<void> {
  for (const Step of steps) {
    await d.handler({ Step, SecretId: d.arn, ClientRequestToken: token }, clock);
  }
}

describe('a rotation against the moto emulator', () => {
  it('moves AWSCURRENT to the staged key once all 25 sites confirmed, each with exactly one correct PUT', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);

    await run(d, token);

    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
    expect(
      (await sm.send(new GetSecretValueCommand({ SecretId: d.arn, VersionStage: 'AWSPREVIOUS' })))
        .SecretString,
    ).toBe(CURRENT);
    for (const site of fleet.sites) {
      expect(site.requests).toHaveLength(1);
      expect(site.requests[0]?.path).toBe(TEMPLATE_ENDPOINT_PATH);
      expect(site.requests[0]?.headers['x-api-key']).toBe(MASTER_API_KEY);
      expect(site.requests[0]?.body).toEqual({ value: NEXT });
    }
  });

  it('publishes one success notice to SUCCESS_NOTICE_TOPIC_ARN once AWSCURRENT moved: masked key, site count, never a key', async () => {
    const topicArn =
      (await sns.send(new CreateTopicCommand({ Name: `notices-${runId + 1}` }))).TopicArn ?? '';
    const d = await deploy({ staged: NEXT, env: { SUCCESS_NOTICE_TOPIC_ARN: topicArn } });
    const token = await startMotoRotation(sm, d.arn);

    await run(d, token);
    await run(d, token, ['finishSecret']);

    // moto keeps what was published to a topic; its state is readable at /moto-api/data.json.
    const state = (await (await fetch(`${moto.endpoint}/moto-api/data.json`)).json()) as {
      sns: { Topic: { arn: string; sent_notifications: unknown[] }[] };
    };
    const sent = state.sns.Topic.find((topic) => topic.arn === topicArn)?.sent_notifications ?? [];
    expect(sent).toHaveLength(1);
    const text = JSON.stringify(sent);
    expect(text).toContain('Stripe key rotation finished (25 sites)');
    expect(text).toContain(`AWSCURRENT is now version ${token}`);
    expect(text).toContain(`(fp ${fingerprint(NEXT)})`);
    expect(text).not.toContain(NEXT);
    expect(text).not.toContain(MASTER_API_KEY);
  });

  it('resets the staged key secret to the nothing-staged value after finishSecret, once even when replayed', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);

    await run(d, token);
    await run(d, token, ['finishSecret']);

    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
    expect(await currentSecretValue(sm, d.stagedArn)).toBe(NOTHING_STAGED.placeholder);
    // The staged value and its one reset: the replay found nothing left to reset.
    expect(await versionCount(d.stagedArn)).toBe(2);
  });

  it('keeps a different key staged while the rotation ran', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);
    const later = fakeKey('test', 'MotoStagedMeanwhile');
    await run(d, token, ['createSecret', 'setSecret', 'testSecret']);
    await sm.send(new PutSecretValueCommand({ SecretId: d.stagedArn, SecretString: later }));

    await run(d, token, ['finishSecret']);

    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
    expect(await currentSecretValue(sm, d.stagedArn)).toBe(later);
  });

  it('leaves AWSCURRENT untouched when a site answers 401, and finishes on the retry after the fix', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);
    const wrong = fleet.site(12);
    wrong.masterApiKey = secret('site-12-has-another-master-key');

    await run(d, token, ['createSecret']);
    const error = await rejection(run(d, token, ['setSecret']));
    expect(error.message).toContain(`${wrong.url}: invalid_api_key`);
    expect(await currentSecretValue(sm, d.arn)).toBe(CURRENT);

    wrong.masterApiKey = MASTER_API_KEY;
    await run(d, token);
    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
  });

  it('leaves the new version labelled AWSCURRENT only after finishSecret, also when finishSecret is replayed', async () => {
    const d = await deploy({ staged: NEXT });
    const before = Object.keys(await secretStages(sm, d.arn))[0] ?? '';
    const token = await startMotoRotation(sm, d.arn);

    await run(d, token);
    // moto, like the UpdateSecretVersionStage API, leaves AWSPENDING where it was when AWSCURRENT moves.
    expect(await secretStages(sm, d.arn)).toEqual({ [token]: ['AWSCURRENT'], [before]: ['AWSPREVIOUS'] });

    await run(d, token, ['finishSecret']);
    expect(await secretStages(sm, d.arn)).toEqual({ [token]: ['AWSCURRENT'], [before]: ['AWSPREVIOUS'] });
  });

  it('reaches the same end state with every step invoked twice, and creates no extra versions', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);
    const versionsAfterRotateSecret = await versionCount(d.arn);

    for (const step of STEPS) await run(d, token, [step, step]);

    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
    expect(await versionCount(d.arn)).toBe(versionsAfterRotateSecret);
    expect(Object.keys(await secretStages(sm, d.arn))).toHaveLength(2);
  });

  it('re-propagates the current key when nothing is staged, and finishes', async () => {
    const d = await deploy({ staged: 'none' });
    const token = await startMotoRotation(sm, d.arn);

    await run(d, token);

    expect(await currentSecretValue(sm, d.arn)).toBe(CURRENT);
    expect((await secretStages(sm, d.arn))[token]).toContain('AWSCURRENT');
    expect(fleet.sites.every((site) => site.storedKey === CURRENT)).toBe(true);
  });

  it('fails createSecret with staging guidance when nothing is staged and WHEN_NOTHING_STAGED=fail', async () => {
    const d = await deploy({ staged: 'none', env: { WHEN_NOTHING_STAGED: 'fail' } });
    const token = await startMotoRotation(sm, d.arn);

    const error = await rejection(run(d, token, ['createSecret']));

    expect(error.message).toContain(`Nothing new is staged in ${d.stagedArn}`);
    expect(error.message).toContain('Retrieve secret value');
    expect(fleet.requestCount).toBe(0);
  });

  it('refuses a malformed staged key before Stripe or any site is contacted', async () => {
    const d = await deploy({ staged: secret('sk_test_not-a-valid-key!') });
    const token = await startMotoRotation(sm, d.arn);

    const error = await rejection(run(d, token, ['createSecret']));

    expect(error.name).toBe('KeyRejectedError');
    expect(stripe.requests).toHaveLength(0);
    expect(fleet.requestCount).toBe(0);
  });

  it('passes testSecret when pending equals current (RotateImmediately=false) and writes nothing', async () => {
    const d = await deploy({ staged: 'none' });
    const token = await configurationTest(d);
    const before = JSON.stringify(await secretStages(sm, d.arn));

    await run(d, token, ['testSecret']);

    expect(JSON.stringify(await secretStages(sm, d.arn))).toBe(before);
    expect(await currentSecretValue(sm, d.arn)).toBe(CURRENT);
    expect(fleet.requestCount).toBe(0);
  });

  it('fails the configuration test on an adopted ledger table without the history index, naming the table and the schema', async () => {
    const adopted = await createLedgerTable(dynamodb, `adopted-ledger-${runId + 1}`, { historyIndex: false });
    const d = await deploy({ staged: 'none', env: { LEDGER_TABLE: adopted } });
    const token = await configurationTest(d);
    const before = JSON.stringify(await secretStages(sm, d.arn));

    const error = await rejection(run(d, token, ['testSecret']));

    expect(error.message).toContain(`DynamoDB table ${adopted}`);
    expect(error.message).toContain('a global secondary index history on gsi1pk, gsi1sk');
    expect(JSON.stringify(await secretStages(sm, d.arn))).toBe(before);
    expect(fleet.requestCount).toBe(0);
  });

  it('reads a fleet split across a parameter path (String + StringList + SecureString), collapsing duplicates', async () => {
    const d = await deploy({
      staged: NEXT,
      sites: async (prefix) => {
        const path = `${prefix}/fleet/`;
        await putParameter(`${path}a`, 'String', fleet.urls.slice(0, 10).join('\n'));
        await putParameter(`${path}b`, 'StringList', fleet.urls.slice(10, 20).join(','));
        await putParameter(
          `${path}c`,
          'SecureString',
          `${fleet.urls.slice(19).join('\n')}\n${fleet.urls[0]}/`,
        );
        return path;
      },
    });
    const token = await startMotoRotation(sm, d.arn);

    await run(d, token);

    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
    expect(fleet.sites.every((site) => site.requestCount === 1)).toBe(true);
  });

  it('reports every invalid site-list line with its parameter and line number', async () => {
    const d = await deploy({
      staged: NEXT,
      sites: (prefix) =>
        putParameter(`${prefix}/sites`, 'String', `${fleet.urls[0]}\nhttp://plain.example\n\nnot a url\n`),
    });
    const token = await startMotoRotation(sm, d.arn);

    // createSecret takes the snapshot, so a bad list stops the rotation before the pending key is written.
    const error = await rejection(run(d, token, ['createSecret']));

    expect(error.message).toContain('/sites line 2: http URL refused, https required');
    expect(error.message).toContain('/sites line 4:');
    expect(fleet.requestCount).toBe(0);
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: d.arn, VersionId: token, VersionStage: 'AWSPENDING' })),
    ).rejects.toThrow(/can't find the specified secret value/);
  });
});

describe('the propagation ledger in DynamoDB (moto)', () => {
  it('resumes a rotation interrupted after half the fleet: the retry contacts only the rest', async () => {
    const d = await deploy({ staged: NEXT, env: { PUSH_CONCURRENCY: '1' } });
    const token = await startMotoRotation(sm, d.arn);
    await run(d, token, ['createSecret']);
    // The invocation "runs out of time" once 12 sites were contacted.
    const shortBudget = { getRemainingTimeInMillis: () => (fleet.requestCount >= 12 ? 1_000 : 600_000) };

    const error = await rejection(run(d, token, ['setSecret'], shortBudget));
    expect(error.message).toContain('confirmed by 12 of 25 sites');
    expect(error.message).toContain('Not attempted (13)');

    await run(d, token);

    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
    expect(fleet.sites.map((site) => site.requestCount)).toEqual(fleet.sites.map(() => 1));
  });

  it('keeps the createSecret snapshot when the site-list parameter changes before setSecret', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);
    await run(d, token, ['createSecret']);
    await putParameter(
      d.sitesParameter,
      'String',
      `${fleet.urls.slice(0, 5).join('\n')}\nhttps://127.3.0.9:1\n`,
    );

    await run(d, token, ['setSecret', 'testSecret', 'finishSecret']);

    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
    expect(fleet.sites.every((site) => site.requestCount === 1)).toBe(true);
  });

  it('keeps the first snapshot when createSecret is replayed after the site list changed', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);
    await run(d, token, ['createSecret']);
    await putParameter(d.sitesParameter, 'String', `${fleet.urls.slice(0, 3).join('\n')}\n`);

    // Secrets Manager may invoke any step again with the same token.
    await run(d, token, ['createSecret', 'setSecret', 'testSecret', 'finishSecret']);

    expect(await currentSecretValue(sm, d.arn)).toBe(NEXT);
    expect(fleet.sites.filter((site) => site.storedKey === NEXT)).toHaveLength(fleet.sites.length);
  });

  it('refuses finishSecret invoked straight after createSecret, every snapshot site still pending', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);
    await run(d, token, ['createSecret']);

    const error = await rejection(run(d, token, ['finishSecret']));

    expect(error.name).toBe('PropagationError');
    expect(error.message).toContain('Refusing to move AWSCURRENT: the ledger shows 0 of 25 sites confirmed');
    expect(await currentSecretValue(sm, d.arn)).toBe(CURRENT);
    expect(fleet.requestCount).toBe(0);
  });

  it('refuses finishSecret while one snapshot site is unconfirmed, leaving AWSCURRENT', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);
    const wrong = fleet.site(3);
    wrong.masterApiKey = secret('site-3-master-key-differs-here');
    await run(d, token, ['createSecret']);
    await rejection(run(d, token, ['setSecret']));

    const error = await rejection(run(d, token, ['finishSecret']));

    expect(error.name).toBe('PropagationError');
    expect(error.message).toContain('Refusing to move AWSCURRENT: the ledger shows 24 of 25 sites confirmed');
    expect(error.message).toContain(`${wrong.url}: invalid_api_key`);
    expect(await currentSecretValue(sm, d.arn)).toBe(CURRENT);
  });

  it('never stores a key or the master API key: every item of the table, snapshot decoded, is clean', async () => {
    const d = await deploy({ staged: NEXT });
    const token = await startMotoRotation(sm, d.arn);
    fleet.site(9).masterApiKey = secret('site-9-master-key-differs-here');
    await run(d, token, ['createSecret']);
    await rejection(run(d, token, ['setSecret']));
    fleet.site(9).masterApiKey = MASTER_API_KEY;
    await run(d, token);

    const items = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamodb.send(
        new ScanCommand({
          TableName: ledgerTable,
          ...(startKey ? { ExclusiveStartKey: startKey as never } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const dump = items
      .map((item) =>
        JSON.stringify(item, (_, value: unknown) =>
          value instanceof Uint8Array ? gunzipSync(value).toString('utf8') : value,
        ),
      )
      .join('\n');
    observeText(dump);

    expect(items.length).toBeGreaterThan(25);
    expect(dump).toContain(fleet.urls[0]);
    for (const value of [NEXT, CURRENT, MASTER_API_KEY]) expect(dump).not.toContain(value);
  });
});
