/**
 * What a failed setSecret says on a retry (same token): the real pusher over real HTTPS sites, so the canary
 * of the retry is the first site still unconfirmed, while earlier runs already confirmed others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleetPusher } from '../../core/push/engine.js';
import { FleetConnector } from '../../core/push/fleet-http.js';
import { rotate } from '../../core/rotation/steps.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { clock, fakeKey, MASTER_API_KEY, rotationWorld } from '../support/rotation-fixtures.js';
import { rejection, secret } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'RetryCurrent');
const NEXT = fakeKey('test', 'RetryNext');

let fleet: TemplateFleet;

beforeAll(async () => {
  fleet = await startTemplateFleet({ size: 5, masterApiKey: MASTER_API_KEY, firstAddress: '127.0.14.2' });
});

afterAll(async () => {
  await fleet.close();
});

describe('a retried setSecret whose canary still fails', () => {
  it('counts the sites confirmed by the earlier run and does not claim no other site was contacted', async () => {
    const w = rotationWorld({ current: CURRENT, staged: NEXT, sites: [...fleet.urls] });
    const deps = {
      ...w.deps,
      pusher: createFleetPusher({
        connector: new FleetConnector({ ca: fleet.caPem }),
        logger: w.deps.logger,
        concurrency: 2,
        siteTimeoutMs: 2000,
        attempts: 1,
        canaryCount: 1,
      }),
    };
    const wrongKey = secret('a-master-key-the-rotation-does-not-have');
    fleet.site(2).masterApiKey = wrongKey;
    fleet.site(3).masterApiKey = wrongKey;
    const token = w.sm.startRotation(w.rotatedArn);
    const step = (Step: 'createSecret' | 'setSecret') =>
      rotate({ Step, SecretId: w.rotatedArn, ClientRequestToken: token }, deps, clock());

    await step('createSecret');
    const first = await rejection(step('setSecret'));
    expect(first.message).toContain('confirmed by 3 of 5 sites; AWSCURRENT was not moved.');

    const retry = await rejection(step('setSecret'));

    expect(retry.message).toContain(
      'confirmed by 3 of 5 sites (3 of them in an earlier run of this rotation); AWSCURRENT was not moved.',
    );
    expect(retry.message).not.toContain('no other site was contacted');
    expect(retry.message).toContain(
      'A canary site did not confirm, so the push stopped before contacting any other unconfirmed site.',
    );
    // Site 3 was not contacted again: it keeps the failure the first run recorded.
    expect(retry.message).toContain(`Failed (2):\n  - ${fleet.site(2).url}: invalid_api_key`);
    expect(retry.message).toContain(`  - ${fleet.site(3).url}: invalid_api_key`);
    expect(fleet.site(3).requestCount).toBe(1);
    expect(w.sm.valueAt(w.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
  });
});
