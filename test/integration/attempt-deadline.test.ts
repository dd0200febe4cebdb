/**
 * SITE_TIMEOUT_MS bounds a whole attempt — DNS, connect, TLS, headers and body — and the invocation deadline
 * holds with sites that accept TCP but never complete TLS.
 * Real TCP/TLS servers on loopback; the Lambda runtime builds its own fleet connector here.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptPut, endpointUrl, FleetConnector, sitePut } from '../../core/push/fleet-http.js';
import { createRotationHandler } from '../../lambda/runtime.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { slowBody } from '../../sim/site-behaviours.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { FakeSecretsManager } from '../support/fake-secrets-manager.js';
import { fakeKey, MASTER_API_KEY } from '../support/rotation-fixtures.js';
import { rejection } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'DeadlineCurrent');
const NEXT = fakeKey('test', 'DeadlineNext');
/** Timer and scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 400;

let fleet: TemplateFleet;

beforeAll(async () => {
  fleet = await startTemplateFleet({ size: 8, masterApiKey: MASTER_API_KEY, firstAddress: '127.0.13.2' });
});

afterAll(async () => {
  await fleet.close();
});

function endpoint(index: number): string {
  const url = endpointUrl(fleet.site(index).url);
  if (url === undefined) throw new Error('fleet URLs are https');
  return url;
}

describe('one attempt at a site', () => {
  it('ends within its timeout at a site that accepts TCP but never answers the ClientHello', async () => {
    await fleet.site(0).setConnectionMode('silent');
    const connector = new FleetConnector({ ca: fleet.caPem, connectTimeoutMs: 10_000 });
    const put = sitePut({ connector, key: NEXT, masterApiKey: MASTER_API_KEY, timeoutMs: 500 });
    try {
      const started = performance.now();
      const verdict = await attemptPut(endpoint(0), put);
      const elapsed = performance.now() - started;

      expect(verdict).toEqual({
        outcome: 'timeout',
        retryable: true,
        detail: 'timed out after 500 ms waiting for an answer',
      });
      expect(elapsed).toBeGreaterThanOrEqual(490);
      expect(elapsed).toBeLessThan(500 + SLACK_MS);
    } finally {
      await fleet.site(0).setConnectionMode('serve');
      connector.destroy();
    }
  });

  it('ends within its timeout when the headers came but the body trickles, and says which phase ran out', async () => {
    // 1 KiB, 16 bytes every 100 ms: the site never goes quiet for long, but the body needs 6.4 s.
    fleet.site(1).behave(slowBody(1024, 16, 100));
    const connector = new FleetConnector({ ca: fleet.caPem });
    const put = sitePut({ connector, key: NEXT, masterApiKey: MASTER_API_KEY, timeoutMs: 500 });
    try {
      const started = performance.now();
      const verdict = await attemptPut(endpoint(1), put);
      const elapsed = performance.now() - started;

      expect(verdict).toEqual({
        outcome: 'timeout',
        retryable: true,
        detail: "timed out after 500 ms reading the answer's body",
      });
      expect(elapsed).toBeLessThan(500 + SLACK_MS);
    } finally {
      fleet.site(1).restore();
      connector.destroy();
    }
  });
});

describe('setSecret through the Lambda runtime, with sites that never complete TLS', () => {
  it('returns well inside the invocation budget, naming each silent site with the timeout it hit or as not attempted', async () => {
    const silent = [0, 1, 2, 3, 4, 5];
    for (const index of silent) await fleet.site(index).setConnectionMode('silent');
    const sm = new FakeSecretsManager();
    const arn = sm.createSecret('stripe/test/secret-key', CURRENT);
    const ssm = new SSMClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const urls = silent.map((index) => fleet.site(index).url);
    mockClient(ssm)
      .on(GetParameterCommand)
      .resolves({ Parameter: { Name: '/sites', Type: 'String', Value: urls.join('\n') } });
    const handler = createRotationHandler(
      {
        STAGED_SECRET_ARN: sm.createSecret('stripe/test/staged', NEXT),
        MASTER_API_KEY_SECRET_ARN: sm.createSecret('stripe/test/master', MASTER_API_KEY),
        SITES_PARAMETER: '/sites',
        LEDGER_TABLE: 'deadline-ledger',
        KEY_MODE: 'test',
        STRIPE_CHECK: 'off',
        SITE_TIMEOUT_MS: '1000',
        SITE_ATTEMPTS: '2',
        PUSH_CONCURRENCY: '2',
        CANARY_SITES: '0',
      },
      {
        secretsManager: sm.client,
        ssm,
        ledger: new InMemoryLedger(),
        logger: new Logger({ logLevel: 'ERROR' }),
      },
    );
    // A 7 s invocation: the pusher launches nothing with less than SITE_TIMEOUT_MS + 2 s left.
    const budgetMs = 7000;
    const token = sm.startRotation(arn);
    try {
      await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: token }, budget(600_000));
      const started = performance.now();
      const clock = { getRemainingTimeInMillis: () => budgetMs - (performance.now() - started) };
      const error = await rejection(
        handler({ Step: 'setSecret', SecretId: arn, ClientRequestToken: token }, clock),
      );
      const elapsed = performance.now() - started;

      expect(elapsed).toBeLessThan(budgetMs - 1000);
      expect(error.name).toBe('PropagationError');
      // Each silent site is either named with the timeout it really hit, or listed as not attempted.
      const lines = error.message.split('\n');
      for (const url of urls) {
        const line = lines.find((text) => text.startsWith(`  - ${url}`));
        expect(line).toMatch(
          /^ {2}- \S+(: timeout \(timed out after 1000 ms waiting for an answer[;( ].*\))?$/,
        );
      }
      expect(sm.valueAt(arn, 'AWSCURRENT')).toBe(CURRENT);
    } finally {
      for (const index of silent) await fleet.site(index).setConnectionMode('serve');
    }
  });
});

const budget = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });
