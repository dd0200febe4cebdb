import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../core/errors.js';
import { createFleetPusher } from '../../core/push/engine.js';
import { FleetConnector } from '../../core/push/fleet-http.js';
import { rejection } from '../support/secret-guard.js';

describe('fleet pusher options', () => {
  it('reports an empty fleet as done, not as stopped', async () => {
    const connector = new FleetConnector();
    const noop = (): void => undefined;
    const pusher = createFleetPusher({
      connector,
      logger: { debug: noop, info: noop, warn: noop, error: noop },
      concurrency: 2,
      siteTimeoutMs: 1000,
      attempts: 1,
      canaryCount: 1,
    });
    const report = await pusher.push({
      sites: [],
      key: 'sk_test_x',
      masterApiKey: 'm',
      remainingTimeMs: () => 0,
    });
    expect(report).toEqual({ results: [] });
  });

  it('refuses nonsensical limits, naming each option', async () => {
    const connector = new FleetConnector();
    const noop = (): void => undefined;
    const error = await rejection(
      Promise.resolve().then(() =>
        createFleetPusher({
          connector,
          logger: { debug: noop, info: noop, warn: noop, error: noop },
          concurrency: 0,
          siteTimeoutMs: 1.5,
          attempts: 3,
          canaryCount: -1,
          confirmationBatch: { size: 0, maxWaitMs: -1 },
        }),
      ),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      'concurrency=0 must be a whole number ≥ 1',
      'siteTimeoutMs=1.5 must be a whole number ≥ 1',
      'canaryCount=-1 must be a whole number ≥ 0',
      'deadlineMarginMs=2001.5 must be a whole number ≥ 0',
      'confirmationBatch.size=0 must be a whole number ≥ 1',
      'confirmationBatch.maxWaitMs=-1 must be a whole number ≥ 0',
    ]);
  });
});
