/**
 * A step never overruns its deadline: a retry is launched only when, after its delay, a whole attempt still
 * fits before the invocation's end (the deadline margin), not merely when the delay does. Observed on the
 * site itself: how many requests it received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleetPusher, FleetConnector, type PushReport } from '../../core/index.js';
import { json } from '../../sim/site-behaviours.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { MASTER_API_KEY } from '../support/rotation-fixtures.js';
import { secret } from '../support/secret-guard.js';

const KEY = secret('sk_test_DeadlineMarginKey000000000000000000000001');
const SITE_TIMEOUT_MS = 500;
const MARGIN_MS = 3_000;
/** The site asks for this wait; with no jitter (random = 0) it is exactly the retry's delay. */
const RETRY_AFTER_S = 1;

let fleet: TemplateFleet;
let connector: FleetConnector;

beforeAll(async () => {
  fleet = await startTemplateFleet({ size: 1, masterApiKey: MASTER_API_KEY, firstAddress: '127.0.14.2' });
  connector = new FleetConnector({ ca: fleet.caPem, connectTimeoutMs: SITE_TIMEOUT_MS });
});

afterAll(async () => {
  connector.destroy();
  await fleet.close();
});

/** Pushes to a site that always answers 503 with Retry-After, with `remainingMs` left at every look. */
async function pushWithRemaining(remainingMs: number): Promise<{ report: PushReport; requests: number }> {
  const site = fleet.site(0);
  site.behave(() => json(503, { error: 'busy' }, { 'retry-after': String(RETRY_AFTER_S) }));
  fleet.resetStats();
  const pusher = createFleetPusher({
    connector,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    concurrency: 1,
    siteTimeoutMs: SITE_TIMEOUT_MS,
    attempts: 2,
    canaryCount: 0,
    deadlineMarginMs: MARGIN_MS,
    random: () => 0,
  });
  try {
    const report = await pusher.push({
      sites: [site.url],
      key: KEY,
      masterApiKey: MASTER_API_KEY,
      remainingTimeMs: () => remainingMs,
    });
    return { report, requests: site.requestCount };
  } finally {
    site.restore();
  }
}

describe('the deadline margin of a retry', () => {
  it('launches no retry whose delay fits the remaining time but whose attempt would not', async () => {
    const { report, requests } = await pushWithRemaining(MARGIN_MS + RETRY_AFTER_S * 1000 - 1);

    expect(requests).toBe(1);
    expect(report.results[0]?.detail).toContain('no time left to retry before the invocation deadline');
  });

  it('launches the retry when a whole attempt still fits after its delay', async () => {
    const { requests } = await pushWithRemaining(MARGIN_MS + RETRY_AFTER_S * 1000);

    expect(requests).toBe(2);
  });
});
