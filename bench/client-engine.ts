/**
 * Measured case (a): the real push engine as the Lambda's setSecret runs it — `createFleetPusher` with a
 * canary, retries and per-site timeouts on, a Powertools logger writing every site's line to stdout (the
 * orchestrator counts, then discards them), and every result recorded in a ledger the way the setSecret step
 * does (core/rotation/steps.ts), through a fleet connector as core/services.ts builds it.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SiteRecord, SiteResult } from '../core/index.js';
import { createFleetPusher, FleetConnector, fingerprint, maskKey } from '../core/index.js';
import { InMemoryLedger } from '../sim/memory-ledger.js';
import { sitesLookup } from '../sim/sites-resolver.js';
import { serveClient } from './client-harness.js';

/** The Lambda's longest timeout: the deadline guard runs before every launch, as in production. */
const INVOCATION_MS = 900_000;

/**
 * core/rotation/ledger.ts's `siteRecord` for a first run (no earlier attempts to add), without the whole
 * RotationDeps that one takes for its clock.
 */
function siteRecord(result: SiteResult): SiteRecord {
  const at = new Date().toISOString();
  const status =
    result.outcome === 'confirmed'
      ? 'confirmed'
      : result.outcome === 'not_attempted'
        ? 'not_attempted'
        : 'failed';
  return {
    site: result.site,
    status,
    outcome: result.outcome,
    ...(result.httpStatus === undefined ? {} : { httpStatus: result.httpStatus }),
    ...(result.detail === undefined ? {} : { detail: result.detail }),
    attempts: result.attempts,
    latencyMs: result.durationMs,
    ...(status === 'confirmed' ? { confirmedAt: at } : {}),
    updatedAt: at,
  };
}

serveClient(async (job) => {
  const logger = new Logger({ serviceName: 'stripe-key-rotator-bench' });
  const pusher = createFleetPusher({
    connector: new FleetConnector({
      ca: job.caPem,
      ...(job.addresses === undefined ? {} : { lookup: sitesLookup(job.addresses) }),
    }),
    logger,
    concurrency: job.concurrency,
    siteTimeoutMs: 10_000,
    attempts: 3,
    canaryCount: 1,
  });
  const ledger = new InMemoryLedger();
  const id = {
    secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-AbCdEf',
    token: randomUUID(),
  };
  const keyFingerprint = fingerprint(job.key);
  const maskedKey = maskKey(job.key);
  // createSecret's snapshot: another invocation in production, so not timed.
  await ledger.begin({
    ...id,
    trigger: 'staged',
    maskedKey,
    keyFingerprint,
    sites: job.urls,
    sources: ['/bench/sites'],
  });
  const deadline = Date.now() + INVOCATION_MS;

  return async () => {
    const report = await pusher.push({
      sites: job.urls,
      key: job.key,
      masterApiKey: job.masterApiKey,
      remainingTimeMs: () => deadline - Date.now(),
      onResult: (result) => {
        const record = siteRecord(result);
        return ledger.saveSite(
          id,
          record,
          record.confirmedAt === undefined
            ? undefined
            : {
                site: record.site,
                maskedKey,
                keyFingerprint,
                versionId: id.token,
                confirmedAt: record.confirmedAt,
              },
        );
      },
    });
    await ledger.flush();
    let confirmed = 0;
    const failures: Record<string, number> = {};
    for (const result of report.results) {
      if (result.outcome === 'confirmed') confirmed += 1;
      else failures[result.outcome] = (failures[result.outcome] ?? 0) + 1;
    }
    return { confirmed, failures };
  };
});
