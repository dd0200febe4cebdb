/**
 * The fleet pusher against real HTTPS template sites on loopback, trusted through a throwaway CA.
 * Every expectation is about outcomes: the report, and what each site received and stores.
 */
import type { AddressInfo } from 'node:net';
import tls, { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RotationLogger } from '../../core/log.js';
import type { PushRequest, SiteResult } from '../../core/ports.js';
import { createFleetPusher, type FleetPusherOptions } from '../../core/push/engine.js';
import {
  attemptPut,
  endpointUrl,
  FleetConnector,
  SITE_ENDPOINT_PATH,
  sitePut,
} from '../../core/push/fleet-http.js';
import { unusedLoopbackUrl } from '../../sim/loopback.js';
import {
  always,
  delayed,
  hang,
  hugeBody,
  json,
  redirect,
  reset,
  sequence,
  TEMPLATE_ENDPOINT_PATH,
  templateEndpoint,
} from '../../sim/site-behaviours.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { createTestCa, type TestCertificateAuthority } from '../../sim/tls.js';
import { observeText, rejection, secret } from '../support/secret-guard.js';

const KEY = secret('sk_test_PushIntegrationNewKey0000000001');
const MASTER_API_KEY = secret('template-master-key-push-integration-5f1c');
const OTHER_MASTER_API_KEY = secret('template-master-key-of-another-deployment');

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

/** Keeps log lines for assertions and hands them to the leak guard. */
function memoryLogger(): RotationLogger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, attributes: Record<string, unknown> = {}): void => {
      lines.push({ level, message, attributes });
      observeText(JSON.stringify({ level, message, ...attributes }));
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The sites the `sites confirmed` lines name, in the order logged. */
function confirmedInLog(lines: readonly LogLine[]) {
  return lines
    .filter((line) => line.message === 'sites confirmed')
    .flatMap(
      (line) => line.attributes.confirmedSites as { site: string; attempts: number; durationMs: number }[],
    );
}

let ca: TestCertificateAuthority;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ca = await createTestCa();
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function fleetOf(size: number, latencyMs = 0): Promise<TemplateFleet> {
  const fleet = await startTemplateFleet({ size, masterApiKey: MASTER_API_KEY, ca, latencyMs });
  cleanups.push(() => fleet.close());
  return fleet;
}

type Overrides = Partial<Omit<FleetPusherOptions, 'connector' | 'logger'>>;

function pusher(overrides: Overrides = {}, connector = new FleetConnector({ ca: ca.certPem })) {
  cleanups.push(async () => connector.destroy());
  const logger = memoryLogger();
  const instance = createFleetPusher({
    connector,
    logger,
    concurrency: 5,
    siteTimeoutMs: 2000,
    attempts: 3,
    canaryCount: 1,
    backoff: { baseMs: 10, capMs: 40 },
    ...overrides,
  });
  return { push: instance.push.bind(instance), logger };
}

function request(sites: readonly string[], overrides: Partial<PushRequest> = {}) {
  const reported: SiteResult[] = [];
  const pushRequest: PushRequest = {
    sites,
    key: KEY,
    masterApiKey: MASTER_API_KEY,
    remainingTimeMs: () => 60_000,
    onResult: (result) => {
      reported.push(result);
    },
    ...overrides,
  };
  return { pushRequest, reported };
}

/** One template site on 127.0.0.1 with a certificate for `localhost`, and its URL by that name. */
async function siteNamedLocalhost() {
  const fleet = await startTemplateFleet({
    size: 1,
    masterApiKey: MASTER_API_KEY,
    ca,
    firstAddress: '127.0.0.1',
  });
  cleanups.push(() => fleet.close());
  const site = fleet.site(0);
  site.useCredentials(await ca.issue({ dnsNames: ['localhost'], ips: ['127.0.0.1'] }));
  return { site, byName: site.url.replace('127.0.0.1', 'localhost') };
}

describe('the fleet connections (shared TLS context, no keep-alive)', { timeout: 5000 }, () => {
  it('confirms every site, closing each connection after its answer', async () => {
    const fleet = await fleetOf(6);
    const { push } = pusher({}, new FleetConnector({ ca: ca.certPem }));
    const { pushRequest } = request(fleet.urls);

    const report = await push(pushRequest);

    expect(report.results.map((result) => result.outcome)).toEqual(fleet.urls.map(() => 'confirmed'));
    expect(fleet.sites.every((site) => site.requests[0]?.headers.connection === 'close')).toBe(true);
  });

  it('looks up a site named by host name (through its lookup queue) and confirms it', async () => {
    const { site, byName } = await siteNamedLocalhost();
    const { push } = pusher({ canaryCount: 0 }, new FleetConnector({ ca: ca.certPem }));

    const report = await push(request([byName]).pushRequest);

    expect(report.results.map((result) => [result.site, result.outcome])).toEqual([[byName, 'confirmed']]);
    expect(site.storedKey).toBe(KEY);
  });

  it("hands Node's host-name check the leaf certificate alone, and the check still refuses another name", async () => {
    const { site, byName } = await siteNamedLocalhost();
    const identityCheck = vi.spyOn(tls, 'checkServerIdentity');
    cleanups.push(async () => identityCheck.mockRestore());
    const { push } = pusher({ canaryCount: 0 }, new FleetConnector({ ca: ca.certPem }));

    const confirmed = await push(request([byName]).pushRequest);

    expect(confirmed.results[0]?.outcome).toBe('confirmed');
    expect(identityCheck).toHaveBeenCalledTimes(1);
    const [host, certificate] = identityCheck.mock.calls[0] ?? [];
    expect(host).toBe('localhost');
    expect(certificate?.subjectaltname).toContain('DNS:localhost');
    expect(certificate).not.toHaveProperty('issuerCertificate');

    site.useCredentials(await ca.issue({ dnsNames: ['shop.example'], ips: ['127.0.0.1'] }));
    const refused = await push(request([byName]).pushRequest);

    expect(refused.results[0]).toMatchObject({
      outcome: 'tls_error',
      detail: 'certificate rejected: ERR_TLS_CERT_ALTNAME_INVALID',
    });
    expect(site.requestCount).toBe(1);
  });

  it('still verifies every certificate against the trusted CA', async () => {
    const fleet = await fleetOf(2);
    fleet.site(1).useCredentials(await (await createTestCa('rogue CA')).issue({ ips: [fleet.site(1).host] }));
    const { push } = pusher({ canaryCount: 0 }, new FleetConnector({ ca: ca.certPem }));

    const report = await push(request(fleet.urls).pushRequest);

    expect(report.results.map((result) => result.outcome)).toEqual(['confirmed', 'tls_error']);
    expect(fleet.site(1).requestCount).toBe(0);
  });
});

/**
 * A TLS server trusted through the test CA that answers with whatever `answer` writes: bytes no template
 * site would send. Returns the endpoint URL; the server and its connections close after the test.
 */
async function rawTlsSite(answer: (socket: TLSSocket) => void): Promise<string> {
  const connections = new Set<TLSSocket>();
  const server = createTlsServer({ ...(await ca.issue({ ips: ['127.0.0.1'] })) }, (socket) => {
    connections.add(socket);
    answer(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const connection of connections) connection.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return `https://127.0.0.1:${port}${SITE_ENDPOINT_PATH}`;
}

describe('one attempt through the fleet connector', { timeout: 5000 }, () => {
  it('ends at once as a connection error when the connector is destroyed mid-attempt (an interrupted CLI push)', async () => {
    const fleet = await fleetOf(1);
    fleet.site(0).behave(hang());
    const connector = new FleetConnector({ ca: ca.certPem });
    const put = sitePut({ connector, key: KEY, masterApiKey: MASTER_API_KEY, timeoutMs: 4000 });
    const url = endpointUrl(fleet.urls[0] ?? '') ?? '';
    const attempt = attemptPut(url, put);
    while (fleet.site(0).requestCount === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();

    connector.destroy();
    const verdict = await attempt;

    expect(verdict).toMatchObject({ outcome: 'connection_error', retryable: true });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('retries an answer that is not HTTP at all, naming the parser error and nothing the site sent', async () => {
    const url = await rawTlsSite((socket) =>
      socket.end('ICY 200 OK sk_live_NeverEchoedFromAnAnswer\r\n\r\n'),
    );
    const put = sitePut({
      connector: new FleetConnector({ ca: ca.certPem }),
      key: KEY,
      masterApiKey: MASTER_API_KEY,
      timeoutMs: 2000,
    });

    const verdict = await attemptPut(url, put);

    expect(verdict.outcome).toBe('connection_error');
    expect(verdict.retryable).toBe(true);
    expect(verdict.detail).toMatch(/^connection failed: HPE_[A-Z_]+$/);
  });

  it('ends at once on a 101 Switching Protocols, which is no answer to a PUT', async () => {
    const url = await rawTlsSite((socket) =>
      socket.once('data', () =>
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
      ),
    );
    const put = sitePut({
      connector: new FleetConnector({ ca: ca.certPem }),
      key: KEY,
      masterApiKey: MASTER_API_KEY,
      timeoutMs: 3000,
    });
    const started = performance.now();

    const verdict = await attemptPut(url, put);

    expect(verdict).toMatchObject({ outcome: 'http_error', httpStatus: 101, retryable: false });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('reads a chunked answer the site streams (no Content-Length) to the end', async () => {
    const fleet = await fleetOf(1);
    fleet.site(0).behave(() => ({ kind: 'stream', status: 500, bytes: 40_000, declareLength: false }));
    const put = sitePut({
      connector: new FleetConnector({ ca: ca.certPem }),
      key: KEY,
      masterApiKey: MASTER_API_KEY,
      timeoutMs: 2000,
    });

    const verdict = await attemptPut(endpointUrl(fleet.urls[0] ?? '') ?? '', put);

    expect(verdict).toMatchObject({ outcome: 'server_error', httpStatus: 500, retryable: true });
  });
});

describe('the fleet pusher, against real HTTPS template sites', { timeout: 5000 }, () => {
  it('confirms every site with exactly one correct PUT each, never exceeding the concurrency', async () => {
    const fleet = await fleetOf(25, 30);
    const { push, logger } = pusher({ concurrency: 5 });
    const { pushRequest, reported } = request(fleet.urls);

    const report = await push(pushRequest);

    expect(report.stoppedBecause).toBeUndefined();
    expect(report.results.map((r) => r.site)).toEqual(fleet.urls);
    for (const result of report.results) {
      expect(result).toMatchObject({ outcome: 'confirmed', httpStatus: 200, attempts: 1 });
    }
    for (const site of fleet.sites) {
      expect(site.requests).toHaveLength(1);
      const [received] = site.requests;
      expect(received?.method).toBe('PUT');
      expect(received?.path).toBe(TEMPLATE_ENDPOINT_PATH);
      expect(received?.headers['x-api-key']).toBe(MASTER_API_KEY);
      expect(received?.headers['content-type']).toBe('application/json');
      expect(received?.headers['user-agent']).toMatch(/^stripe-key-rotator\//);
      expect(received?.body).toEqual({ value: KEY });
      expect(site.storedKey).toBe(KEY);
    }
    expect(fleet.maxInFlight).toBeLessThanOrEqual(5);
    expect(fleet.maxInFlight).toBeGreaterThan(1);
    expect(reported.map((r) => r.site).sort()).toEqual([...fleet.urls].sort());
    const batches = logger.lines.filter((line) => line.message === 'sites confirmed');
    expect(batches.map((line) => line.attributes.count)).toEqual([25]);
    const logged = confirmedInLog(logger.lines);
    expect(logged.map((entry) => entry.site).sort()).toEqual([...fleet.urls].sort());
    expect(logged.every((entry) => entry.attempts === 1 && entry.durationMs >= 0)).toBe(true);
  });

  it('retries a site answering 503 twice and honours Retry-After before the third attempt', async () => {
    const fleet = await fleetOf(1);
    fleet
      .site(0)
      .behave(sequence([json(503, { error: 'busy' }), json(503, { error: 'busy' }, { 'retry-after': '1' })]));
    const { push, logger } = pusher();

    const report = await push(request(fleet.urls).pushRequest);

    expect(report.results[0]).toMatchObject({ outcome: 'confirmed', httpStatus: 200, attempts: 3 });
    const [, second, third] = fleet.site(0).requests;
    expect((third?.receivedAt ?? 0) - (second?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(fleet.site(0).storedKey).toBe(KEY);
    const retries = logger.lines.filter((line) => line.message === 'retrying site');
    expect(retries.map((line) => line.attributes.attempt)).toEqual([1, 2]);
    expect(retries[1]?.attributes.delayMs).toBeGreaterThanOrEqual(1000);
  });

  it('fails a site whose master key differs after one attempt, without affecting the others', async () => {
    const fleet = await fleetOf(3);
    fleet.site(1).masterApiKey = OTHER_MASTER_API_KEY;
    const { push } = pusher();

    const report = await push(request(fleet.urls).pushRequest);

    expect(report.stoppedBecause).toBeUndefined();
    expect(report.results.map((r) => r.outcome)).toEqual(['confirmed', 'invalid_api_key', 'confirmed']);
    expect(report.results[1]).toMatchObject({
      httpStatus: 401,
      attempts: 1,
      detail: 'answered 401 invalid_api_key',
    });
    expect(fleet.site(1).requests).toHaveLength(1);
    expect(fleet.site(1).storedKey).toBeUndefined();
    expect([fleet.site(0).storedKey, fleet.site(2).storedKey]).toEqual([KEY, KEY]);
  });

  describe('canary sites', () => {
    it('stops everything as key_rejected when the canary refuses the key format, and nobody else is contacted', async () => {
      // The site judged the key itself: every other site would refuse it too, and the fix is a new key,
      // not a site, which is what key_rejected (rather than canary_failed) tells the operator.
      const fleet = await fleetOf(4);
      const malformed = secret('sk_test_Has-A-Dash-The-Sites-Refuse');
      const { push } = pusher({ canaryCount: 1 });
      const { pushRequest, reported } = request(fleet.urls, { key: malformed });

      const report = await push(pushRequest);

      expect(report.stoppedBecause).toBe('key_rejected');
      expect(report.results[0]).toMatchObject({
        outcome: 'invalid_secret_format',
        httpStatus: 400,
        attempts: 1,
      });
      for (const result of report.results.slice(1)) {
        expect(result).toMatchObject({ outcome: 'not_attempted', attempts: 0 });
        expect(result.detail).toContain('invalid_secret_format');
      }
      expect(fleet.sites.slice(1).map((site) => site.requestCount)).toEqual([0, 0, 0]);
      expect(reported).toHaveLength(4);
    });

    it('stops everything as canary_failed when a canary rejects the master key', async () => {
      const fleet = await fleetOf(4);
      fleet.site(0).masterApiKey = OTHER_MASTER_API_KEY;
      const { push } = pusher({ canaryCount: 1 });

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.stoppedBecause).toBe('canary_failed');
      expect(report.results.map((r) => r.outcome)).toEqual([
        'invalid_api_key',
        'not_attempted',
        'not_attempted',
        'not_attempted',
      ]);
      expect(report.results[1]?.detail).toContain(`canary ${fleet.urls[0]} did not confirm`);
      expect(fleet.sites.slice(1).map((site) => site.requestCount)).toEqual([0, 0, 0]);
    });

    it('pushes canaries one at a time in order and stops at the first that does not confirm', async () => {
      const fleet = await fleetOf(5);
      fleet.site(1).behave(always(json(200, { success: true, message: 'saved' })));
      const { push } = pusher({ canaryCount: 3 });

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.stoppedBecause).toBe('canary_failed');
      expect(report.results.map((r) => r.outcome)).toEqual([
        'confirmed',
        'unexpected_body',
        'not_attempted',
        'not_attempted',
        'not_attempted',
      ]);
      expect(fleet.site(0).storedKey).toBe(KEY);
      expect(fleet.sites.slice(2).map((site) => site.requestCount)).toEqual([0, 0, 0]);
      expect(fleet.maxInFlight).toBe(1);
    });
  });

  it('stops launching as key_rejected when a non-canary site refuses the key format', async () => {
    const fleet = await fleetOf(6);
    fleet.site(2).behave(always(json(400, { success: false, error: 'invalid_secret_format' })));
    const { push } = pusher({ canaryCount: 0, concurrency: 1 });

    const report = await push(request(fleet.urls).pushRequest);

    expect(report.stoppedBecause).toBe('key_rejected');
    expect(report.results.map((r) => r.outcome)).toEqual([
      'confirmed',
      'confirmed',
      'invalid_secret_format',
      'not_attempted',
      'not_attempted',
      'not_attempted',
    ]);
    expect(fleet.sites.slice(3).map((site) => site.requestCount)).toEqual([0, 0, 0]);
  });

  it('refuses a redirect to another site: the target receives nothing', async () => {
    const fleet = await fleetOf(2);
    const target = `${fleet.urls[1]}${SITE_ENDPOINT_PATH}`;
    fleet.site(0).behave(redirect(target, 307));
    const { push } = pusher();

    const report = await push(request([fleet.urls[0] ?? '']).pushRequest);

    expect(report.results[0]).toMatchObject({ outcome: 'redirect', httpStatus: 307, attempts: 1 });
    expect(report.results[0]?.detail).toBe(`answered 307 redirect to ${target} refused (not followed)`);
    expect(fleet.site(1).requestCount).toBe(0);
    expect(fleet.site(0).storedKey).toBeUndefined();
  });

  describe('time', () => {
    it('gives up on a site that never answers after attempts × siteTimeoutMs', async () => {
      const fleet = await fleetOf(1);
      fleet.site(0).behave(hang());
      const { push } = pusher({ siteTimeoutMs: 300, attempts: 2 });

      const started = performance.now();
      const report = await push(request(fleet.urls).pushRequest);
      const elapsed = performance.now() - started;

      expect(report.results[0]).toMatchObject({
        outcome: 'timeout',
        attempts: 2,
        detail: 'timed out after 300 ms waiting for an answer (2 attempts)',
      });
      expect(report.results[0]?.httpStatus).toBeUndefined();
      expect(fleet.site(0).requestCount).toBe(2);
      expect(elapsed).toBeGreaterThanOrEqual(590);
      expect(elapsed).toBeLessThan(1500);
    });

    it('launches nothing when the remaining time is already below the margin', async () => {
      const fleet = await fleetOf(3);
      const { push } = pusher({ siteTimeoutMs: 2000 });
      const { pushRequest, reported } = request(fleet.urls, { remainingTimeMs: () => 3000 });

      const report = await push(pushRequest);

      expect(report.stoppedBecause).toBe('deadline');
      for (const result of report.results) {
        expect(result).toMatchObject({ outcome: 'not_attempted', attempts: 0 });
        expect(result.detail).toContain('less than 4000 ms of invocation time');
      }
      expect(fleet.requestCount).toBe(0);
      expect(reported).toHaveLength(3);
    });

    it('stops launching when the budget runs out midway; in-flight sites finish', async () => {
      const fleet = await fleetOf(6);
      let remainingMs = 60_000;
      // The third site's answer is when the invocation's time runs short.
      fleet.site(2).behave((received, site) => {
        remainingMs = 1000;
        return templateEndpoint(received, site);
      });
      const { push } = pusher({ canaryCount: 1, concurrency: 1 });
      const { pushRequest, reported } = request(fleet.urls, { remainingTimeMs: () => remainingMs });

      const report = await push(pushRequest);

      expect(report.stoppedBecause).toBe('deadline');
      expect(report.results.map((r) => r.outcome)).toEqual([
        'confirmed',
        'confirmed',
        'confirmed',
        'not_attempted',
        'not_attempted',
        'not_attempted',
      ]);
      expect(fleet.sites.map((site) => site.requestCount)).toEqual([1, 1, 1, 0, 0, 0]);
      expect(reported.map((r) => r.outcome).filter((o) => o === 'not_attempted')).toHaveLength(3);
    });

    it('does not retry when the Retry-After wait would cross the deadline margin', async () => {
      const fleet = await fleetOf(1);
      fleet.site(0).behave(always(json(503, { error: 'busy' }, { 'retry-after': '5' })));
      const { push } = pusher({ deadlineMarginMs: 1000 });

      const report = await push(request(fleet.urls, { remainingTimeMs: () => 4000 }).pushRequest);

      expect(report.results[0]).toMatchObject({ outcome: 'server_error', httpStatus: 503, attempts: 1 });
      expect(report.results[0]?.detail).toContain('no time left to retry');
      expect(fleet.site(0).requestCount).toBe(1);
    });

    it('gives up when Retry-After asks for longer than maxRetryAfterMs', async () => {
      const fleet = await fleetOf(1);
      fleet.site(0).behave(always(json(429, { error: 'slow_down' }, { 'retry-after': '120' })));
      const { push } = pusher({ maxRetryAfterMs: 30_000 });

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.results[0]).toMatchObject({ outcome: 'throttled', httpStatus: 429, attempts: 1 });
      expect(report.results[0]?.detail).toContain('Retry-After of 120000 ms exceeds the 30000 ms limit');
    });
  });

  describe('answers that fail a site', () => {
    it('does not retry a 200 whose body is not secret_saved', async () => {
      const fleet = await fleetOf(1);
      fleet.site(0).behave(always(json(200, { success: true, message: 'saved' })));
      const { push } = pusher();

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.results[0]).toMatchObject({ outcome: 'unexpected_body', httpStatus: 200, attempts: 1 });
      expect(fleet.site(0).requestCount).toBe(1);
    });

    it('does not retry a 404 from a site without the endpoint', async () => {
      const fleet = await fleetOf(1);
      const { push } = pusher();

      // The template serves the endpoint only at the root: under a path prefix it answers 404.
      const report = await push(request([`${fleet.urls[0]}/shop`]).pushRequest);

      expect(report.results[0]).toMatchObject({ outcome: 'endpoint_missing', httpStatus: 404, attempts: 1 });
      expect(fleet.site(0).requests.map((r) => r.path)).toEqual([`/shop${TEMPLATE_ENDPOINT_PATH}`]);
    });

    it.each([
      ['signed by another CA', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      ['issued for another IP', 'ERR_TLS_CERT_ALTNAME_INVALID'],
      ['expired', 'CERT_HAS_EXPIRED'],
    ])('refuses a certificate %s without retrying and without sending anything', async (kind, code) => {
      const fleet = await fleetOf(1);
      const host = fleet.site(0).host;
      const hour = 3_600_000;
      const credentials =
        kind === 'signed by another CA'
          ? await (await createTestCa('rogue CA')).issue({ ips: [host] })
          : kind === 'issued for another IP'
            ? await ca.issue({ ips: ['127.99.0.1'] })
            : await ca.issue({
                ips: [host],
                notBefore: new Date(Date.now() - 2 * hour),
                notAfter: new Date(Date.now() - hour),
              });
      fleet.site(0).useCredentials(credentials);
      const { push } = pusher();

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.results[0]).toMatchObject({
        outcome: 'tls_error',
        attempts: 1,
        detail: `certificate rejected: ${code}`,
      });
      expect(fleet.site(0).requestCount).toBe(0);
    });

    it('retries a refused connection and reports connection_error after all attempts', async () => {
      const nobody = await unusedLoopbackUrl();
      const { push } = pusher({ attempts: 3 });

      const report = await push(request([nobody]).pushRequest);

      expect(report.results[0]).toMatchObject({
        outcome: 'connection_error',
        attempts: 3,
        detail: 'connection failed: ECONNREFUSED (3 attempts)',
      });
    });

    it('retries a site that drops the connection without answering', async () => {
      const fleet = await fleetOf(1);
      fleet.site(0).behave(reset());
      const { push } = pusher({ attempts: 2 });

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.results[0]).toMatchObject({ outcome: 'connection_error', attempts: 2 });
      expect(fleet.site(0).requestCount).toBe(2);
    });

    it.each([
      ['announced by Content-Length', true],
      ['streamed without a length', false],
    ])('fails fast on a 10 MB body %s, and leaves no connection behind', async (_how, declareLength) => {
      const fleet = await fleetOf(1);
      fleet.site(0).behave(hugeBody(10 * 1024 * 1024, { declareLength }));
      const { push } = pusher();

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.results[0]).toMatchObject({ outcome: 'body_too_large', httpStatus: 200, attempts: 1 });
      expect(report.results[0]?.durationMs).toBeLessThan(1000);
      await vi.waitFor(() => expect(fleet.inFlight).toBe(0), { timeout: 1000 });
    });

    it.each([
      [401, 'invalid_api_key'],
      [404, 'endpoint_missing'],
    ] as const)(
      'classifies a %i with a 10 MB body by its status, reading no further than the cap',
      async (status, outcome) => {
        const fleet = await fleetOf(1);
        fleet.site(0).behave(hugeBody(10 * 1024 * 1024, { status, declareLength: status === 401 }));
        const { push } = pusher();

        const report = await push(request(fleet.urls).pushRequest);

        expect(report.results[0]).toMatchObject({ outcome, httpStatus: status, attempts: 1 });
        expect(report.results[0]?.durationMs).toBeLessThan(1000);
        await vi.waitFor(() => expect(fleet.inFlight).toBe(0), { timeout: 1000 });
      },
    );

    it('refuses a non-https site without sending anything', async () => {
      const fleet = await fleetOf(1);
      const { push } = pusher();

      const report = await push(request([fleet.urls[0]?.replace('https:', 'http:') ?? '']).pushRequest);

      expect(report.results[0]).toMatchObject({ outcome: 'not_https', attempts: 0 });
      expect(report.results[0]?.detail).toContain('not an https URL');
      expect(fleet.site(0).requestCount).toBe(0);
    });

    it('reports throttled after every attempt was answered 429', async () => {
      const fleet = await fleetOf(1);
      fleet.site(0).behave(always(json(429, { error: 'rate_limited' })));
      const { push } = pusher({ attempts: 3 });

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.results[0]).toMatchObject({ outcome: 'throttled', httpStatus: 429, attempts: 3 });
      expect(fleet.site(0).requestCount).toBe(3);
    });

    it('reports server_error after every attempt was answered 5xx', async () => {
      const fleet = await fleetOf(1);
      fleet.site(0).behave(always(json(502, { error: 'bad_gateway' })));
      const { push } = pusher({ attempts: 2 });

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.results[0]).toMatchObject({ outcome: 'server_error', httpStatus: 502, attempts: 2 });
    });

    it('never echoes the key a hostile site puts in its answer', async () => {
      const fleet = await fleetOf(1);
      fleet
        .site(0)
        .behave(redirect(`https://127.0.0.1/steal?k=${KEY}&m=${encodeURIComponent(MASTER_API_KEY)}`));
      const { push } = pusher();

      const report = await push(request(fleet.urls).pushRequest);

      expect(report.results[0]?.outcome).toBe('redirect');
      expect(report.results[0]?.detail).toContain('k=[redacted]&m=[redacted]');
    });
  });

  it('surfaces an onResult failure after stopping new launches, having logged what was confirmed', async () => {
    const fleet = await fleetOf(4);
    const { push, logger } = pusher({ canaryCount: 0, concurrency: 1 });
    const ledgerDown = new Error('ledger unavailable');
    let calls = 0;

    const outcome = push(
      request(fleet.urls, {
        onResult: () => {
          calls += 1;
          if (calls === 2) throw ledgerDown;
        },
      }).pushRequest,
    );

    expect(await rejection(outcome)).toBe(ledgerDown);
    expect(fleet.sites.map((site) => site.requestCount)).toEqual([1, 1, 0, 0]);
    expect(confirmedInLog(logger.lines).map((entry) => entry.site)).toEqual(fleet.urls.slice(0, 2));
  });
});

describe('the log of confirmed sites', { timeout: 5000 }, () => {
  it('names every confirmed site once, a batch per `size` sites, the rest before the summary', async () => {
    const fleet = await fleetOf(5);
    const { push, logger } = pusher({
      canaryCount: 0,
      concurrency: 1,
      confirmationBatch: { size: 2, maxWaitMs: 60_000 },
    });

    await push(request(fleet.urls).pushRequest);

    expect(
      logger.lines.map((line) =>
        line.message === 'sites confirmed' ? `${line.message} ${line.attributes.count}` : line.message,
      ),
    ).toEqual(['sites confirmed 2', 'sites confirmed 2', 'sites confirmed 1', 'fleet push finished']);
    expect(confirmedInLog(logger.lines).map((entry) => entry.site)).toEqual(fleet.urls);
  });

  it('logs a batch once its first site waited `maxWaitMs`, even while no other site is confirmed', async () => {
    const fleet = await fleetOf(3);
    fleet.site(1).behave(delayed(400, always(json(401, { success: false, error: 'invalid_api_key' }))));
    const { push, logger } = pusher({
      canaryCount: 0,
      concurrency: 1,
      confirmationBatch: { size: 100, maxWaitMs: 100 },
    });

    await push(request(fleet.urls).pushRequest);

    expect(logger.lines.map((line) => [line.message, line.attributes.site ?? line.attributes.count])).toEqual(
      [
        ['sites confirmed', 1],
        ['site not confirmed', fleet.urls[1]],
        ['sites confirmed', 1],
        ['fleet push finished', undefined],
      ],
    );
    expect(confirmedInLog(logger.lines).map((entry) => entry.site)).toEqual([fleet.urls[0], fleet.urls[2]]);
  });

  it('warns about a site that is not confirmed at once, on its own line', async () => {
    const fleet = await fleetOf(3);
    fleet.site(1).behave(always(json(401, { success: false, error: 'invalid_api_key' })));
    const { push, logger } = pusher({ canaryCount: 0, concurrency: 1 });

    await push(request(fleet.urls).pushRequest);

    expect(logger.lines.map((line) => [line.level, line.message, line.attributes.site])).toEqual([
      ['warn', 'site not confirmed', fleet.urls[1]],
      ['info', 'sites confirmed', undefined],
      ['info', 'fleet push finished', undefined],
    ]);
    expect(confirmedInLog(logger.lines).map((entry) => entry.site)).toEqual([fleet.urls[0], fleet.urls[2]]);
  });
});
