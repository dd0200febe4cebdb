import type { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRejectedError } from '../../core/errors.js';
import { createStripeAgent, StripeKeyChecker } from '../../core/stripe-check.js';
import { type StripeStub, startStripeStub } from '../../sim/stripe-stub.js';
import { createTestCa, type TestCertificateAuthority } from '../../sim/tls.js';
import { fakeKey } from '../support/rotation-fixtures.js';
import { rejection } from '../support/secret-guard.js';

const CURRENT = fakeKey('live', 'StripeCurrent');
const NEXT = fakeKey('live', 'StripeNext');
const OTHER_ACCOUNT = fakeKey('live', 'StripeOther');
const TEST_MODE = fakeKey('test', 'StripeTestMode');
const EXPIRED = fakeKey('live', 'StripeExpired');
const UNKNOWN = fakeKey('live', 'StripeUnknown');

let stub: StripeStub;
let checker: StripeKeyChecker;
let agent: Agent;
let ca: TestCertificateAuthority;

beforeAll(async () => {
  ca = await createTestCa();
  stub = await startStripeStub(await ca.issue({ ips: ['127.0.0.1'] }));
  stub.keys.set(CURRENT, { account: 'acct_1Current', livemode: true });
  stub.keys.set(NEXT, { account: 'acct_1Current', livemode: true });
  stub.keys.set(OTHER_ACCOUNT, { account: 'acct_9Other', livemode: true });
  stub.keys.set(TEST_MODE, { account: 'acct_1Current', livemode: false });
  stub.keys.set(EXPIRED, { expired: true });
  agent = createStripeAgent({ ca: ca.certPem });
  checker = new StripeKeyChecker({
    apiBase: stub.url,
    agent,
    logger: new Logger({ serviceName: 'stripe-check-test' }),
    backoff: { baseMs: 10, capMs: 40 },
  });
});

afterAll(async () => {
  agent.destroy();
  await stub.close();
});

describe('the read-only Stripe key check', () => {
  it('accepts a key Stripe knows, of the deployment mode, on the same account as the current key', async () => {
    stub.requests.length = 0;
    await checker.check(NEXT, 'live', CURRENT);
    expect(stub.requests.sort()).toEqual(['/v1/account', '/v1/account', '/v1/balance']);
  });

  it('refuses a key Stripe answers 401 for: revoked, expired or mistyped', async () => {
    const error = await rejection(checker.check(UNKNOWN, 'live', CURRENT));
    expect(error).toBeInstanceOf(KeyRejectedError);
    expect(error.message).toContain('revoked, expired or mistyped (401)');
    expect(error.message).toContain('sk_live_…');
  });

  it('says so when Stripe reports the key expired', async () => {
    const error = await rejection(checker.check(EXPIRED, 'live', CURRENT));
    expect(error.message).toContain('has expired (401 api_key_expired)');
  });

  it('refuses a key whose livemode does not match KEY_MODE', async () => {
    const error = await rejection(checker.check(TEST_MODE, 'live', CURRENT));
    expect(error.message).toContain('Stripe reports the new key');
    expect(error.message).toContain('as test but this deployment rotates live keys');
  });

  it('refuses a valid key of another Stripe account', async () => {
    const error = await rejection(checker.check(OTHER_ACCOUNT, 'live', CURRENT));
    expect(error.message).toContain('belongs to Stripe account acct_9Other, not to the current key');
  });

  it('fails closed when Stripe refuses the current key and no account is on record, saying how to proceed', async () => {
    const error = await rejection(checker.check(NEXT, 'live', EXPIRED));
    expect(error).toBeInstanceOf(KeyRejectedError);
    expect(error.message).toContain('Stripe refused the current key');
    expect(error.message).toContain('no account is on record for the current key');
    expect(error.message).toContain('set STRIPE_ACCOUNT=acct_1Current on the rotation function');
  });

  it('accepts a key of the account on record when Stripe refuses the current key, and reports that account', async () => {
    await expect(checker.check(NEXT, 'live', EXPIRED, 'acct_1Current')).resolves.toBe('acct_1Current');
  });

  it('refuses a key of another account than the one on record when Stripe refuses the current key', async () => {
    const error = await rejection(checker.check(OTHER_ACCOUNT, 'live', EXPIRED, 'acct_1Current'));
    expect(error).toBeInstanceOf(KeyRejectedError);
    expect(error.message).toContain('belongs to Stripe account acct_9Other, not to acct_1Current');
  });

  it('reports the account of a key it verified against the current key', async () => {
    await expect(checker.check(NEXT, 'live', CURRENT)).resolves.toBe('acct_1Current');
  });

  it('retries a Stripe outage and succeeds when it clears', async () => {
    stub.failNext(2);
    await checker.check(NEXT, 'live', CURRENT);
  });

  it('waits as long as a throttling Stripe asks in Retry-After before trying again', async () => {
    stub.requests.length = 0;
    stub.failNext(1, { status: 429, retryAfter: '1' });
    const started = performance.now();

    await checker.check(NEXT, 'live', CURRENT);

    // The policy alone would have waited at most 10 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(stub.requests.filter((path) => path === '/v1/balance')).toHaveLength(2);
  });

  it('gives up at once, saying why, when Stripe asks to wait longer than the limit', async () => {
    stub.requests.length = 0;
    stub.failNext(1, { status: 503, retryAfter: '120' });

    const error = await rejection(checker.check(NEXT, 'live', CURRENT));

    expect(error).not.toBeInstanceOf(KeyRejectedError);
    expect(error.message).toContain(
      'Stripe could not be reached for the key check (1 attempt on /v1/balance): it asked to retry after ' +
        '120000 ms, more than the 30000 ms limit',
    );
    expect(stub.requests).toEqual(['/v1/balance']);
  });

  it('fails with a plain error, not a key refusal, when Stripe stays unreachable', async () => {
    stub.failNext(10);
    const error = await rejection(checker.check(NEXT, 'live', CURRENT));
    stub.failNext(0);
    expect(error).not.toBeInstanceOf(KeyRejectedError);
    expect(error.message).toContain(
      'Stripe could not be reached for the key check (3 attempts on /v1/balance)',
    );
  });

  it('leaves nothing running once the check failed: the other account call ends before the check does', async () => {
    const waitsTooLong = fakeKey('live', 'StripeAccountRetryAfter');
    const keepsFailing = fakeKey('live', 'StripeAccountOutage');
    stub.keys.set(waitsTooLong, {
      account: 'acct_1Current',
      livemode: true,
      accountUnavailable: { retryAfter: '120' },
    });
    stub.keys.set(keepsFailing, { account: 'acct_1Current', livemode: true, accountUnavailable: {} });
    const checker3 = new StripeKeyChecker({
      apiBase: stub.url,
      agent,
      logger: new Logger({ serviceName: 'stripe-check-test' }),
      backoff: { baseMs: 150, capMs: 150 },
      random: () => 0.99,
    });
    stub.requests.length = 0;

    // The current key's call gives up at once (Retry-After over the limit); the new key's retries twice.
    const error = await rejection(checker3.check(keepsFailing, 'live', waitsTooLong));
    const sentByThen = stub.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(error.message).toContain('Stripe could not be reached for the key check');
    expect(stub.requests.filter((path) => path === '/v1/account')).toHaveLength(1 + 3);
    expect(stub.requests.length).toBe(sentByThen);
  });

  it('bounds each Stripe request by its timeout, connection and answer included, and says so', async () => {
    // Accepts TLS, reads the request, never answers.
    const connections = new Set<TLSSocket>();
    const silent = createTlsServer({ ...(await ca.issue({ ips: ['127.0.0.1'] })) }, (socket) => {
      connections.add(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const hanging = new StripeKeyChecker({
      apiBase: `https://127.0.0.1:${port}`,
      agent: createStripeAgent({ ca: ca.certPem }),
      logger: new Logger({ serviceName: 'stripe-check-test' }),
      timeoutMs: 200,
      attempts: 1,
    });
    try {
      const started = performance.now();
      const error = await rejection(hanging.check(NEXT, 'live', CURRENT));

      expect(performance.now() - started).toBeLessThan(1000);
      expect(error.message).toContain(
        'Stripe could not be reached for the key check (1 attempt on /v1/balance)',
      );
      expect((error.cause as { code?: string }).code).toBe('ETIMEDOUT');
    } finally {
      for (const socket of connections) socket.destroy();
      silent.close();
    }
  });

  it('does not trust a Stripe endpoint whose certificate is not from a trusted CA', async () => {
    const untrusted = new StripeKeyChecker({
      apiBase: stub.url,
      agent: createStripeAgent(),
      logger: new Logger({ serviceName: 'stripe-check-test' }),
      attempts: 1,
    });
    const error = await rejection(untrusted.check(NEXT, 'live', CURRENT));
    expect(error.message).toContain('could not be reached');
    expect(String((error.cause as Error).message)).toMatch(/certificate/i);
  });
});
