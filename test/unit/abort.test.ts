import { describe, expect, it } from 'vitest';
import { SecretsManagerStore } from '../../adapters/aws/secrets-manager.js';
import { abortRotation } from '../../core/operations/abort.js';
import type { PushReport, PushRequest, SiteOutcome, SitePusher, SiteResult } from '../../core/ports.js';
import { rotate } from '../../core/rotation/steps.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import {
  clock,
  fakeKey,
  MASTER_API_KEY,
  type RotationWorld,
  rotationWorld,
} from '../support/rotation-fixtures.js';
import { rejection } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'Current');
const NEXT = fakeKey('test', 'Next');

/**
 * Outcomes whose request carried the key and whose site may have stored it before the answer was lost or
 * garbled; every other outcome is a refusal before the key was taken, or no contact at all.
 */
const STORES_THE_KEY: ReadonlySet<SiteOutcome> = new Set([
  'confirmed',
  'timeout',
  'connection_error',
  'server_error',
  'unexpected_body',
  'body_too_large',
]);

/** A fleet whose sites keep what they stored: the state abort must put right. */
class Fleet implements SitePusher {
  readonly stored = new Map<string, string>();
  /** The sites of each push, in order. */
  readonly pushes: string[][] = [];
  /** Per site, the outcome of the next push (default: confirmed). */
  next = new Map<string, SiteOutcome>();

  async push(request: PushRequest): Promise<PushReport> {
    this.pushes.push([...request.sites]);
    const results: SiteResult[] = [];
    for (const site of request.sites) {
      const outcome = this.next.get(site) ?? 'confirmed';
      if (STORES_THE_KEY.has(outcome)) this.stored.set(site, request.key);
      const result = { site, outcome, attempts: outcome === 'not_attempted' ? 0 : 1, durationMs: 1 };
      results.push(result);
      await request.onResult?.(result);
    }
    return { results };
  }
}

const site = (outcome: SiteOutcome) => `https://${outcome.replaceAll('_', '-')}.example`;

/** A rotation stuck after a failed setSecret: one site per outcome of its push. */
async function stuckRotation(outcomes: readonly SiteOutcome[], now = () => new Date()) {
  const sites = outcomes.map(site);
  const world = rotationWorld({ current: CURRENT, staged: NEXT, sites });
  const fleet = new Fleet();
  for (const s of sites) fleet.stored.set(s, CURRENT);
  fleet.next = new Map(outcomes.map((o) => [site(o), o]));
  const ledger = new InMemoryLedger({ now });
  const deps = { ...world.deps, pusher: fleet, ledger };
  const token = world.sm.startRotation(world.rotatedArn);
  const event = (Step: 'createSecret' | 'setSecret') => ({
    Step,
    SecretId: world.rotatedArn,
    ClientRequestToken: token,
  });
  await rotate(event('createSecret'), deps, clock());
  await rejection(rotate(event('setSecret'), deps, clock()));
  fleet.next = new Map();
  return { world, fleet, ledger, token, sites };
}

function abortDeps(world: RotationWorld, fleet: Fleet, ledger: InMemoryLedger, now?: () => Date) {
  return {
    secrets: new SecretsManagerStore(world.sm.client),
    ledger: { table: 'test-ledger', store: ledger },
    pusher: fleet,
    ...(now === undefined ? {} : { now }),
  };
}

const request = (world: RotationWorld) => ({
  secretId: world.rotatedArn,
  masterKeySecretId: world.masterArn,
});

const ALL_OUTCOMES: readonly SiteOutcome[] = [
  'confirmed',
  'unexpected_body',
  'invalid_api_key',
  'endpoint_missing',
  'redirect',
  'http_error',
  'throttled',
  'server_error',
  'timeout',
  'connection_error',
  'tls_error',
  'not_https',
  'body_too_large',
  'not_attempted',
];

describe('abort', () => {
  it('leaves no site holding the pending key, whatever its answer was, then removes AWSPENDING', async () => {
    const { world, fleet, ledger, token, sites } = await stuckRotation(ALL_OUTCOMES);
    expect([...fleet.stored.values()]).toContain(NEXT);

    await abortRotation(abortDeps(world, fleet, ledger), request(world));

    for (const s of sites) expect(fleet.stored.get(s), s).toBe(CURRENT);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token] ?? []).not.toContain('AWSPENDING');
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
  });

  it('re-pushes exactly the sites that may hold the key: the refusals and never-stored ones are left alone', async () => {
    const { world, fleet, ledger } = await stuckRotation(ALL_OUTCOMES);

    await abortRotation(abortDeps(world, fleet, ledger), request(world));

    // A site never contacted stays pending in the ledger: the push may have been cut off on its way.
    const mayHold = [...STORES_THE_KEY, 'not_attempted' as const].map(site).sort();
    expect(fleet.pushes[1]?.slice().sort()).toEqual(mayHold);
    expect(fleet.pushes).toHaveLength(2);
  });

  it('re-pushes the AWSCURRENT key with the master API key', async () => {
    const { world, fleet, ledger } = await stuckRotation(['confirmed', 'invalid_api_key']);
    const seen: PushRequest[] = [];
    const recording: SitePusher = {
      push: (req) => {
        seen.push(req);
        return fleet.push(req);
      },
    };

    await abortRotation({ ...abortDeps(world, fleet, ledger), pusher: recording }, request(world));

    expect(seen.map((r) => [r.key === CURRENT, r.masterApiKey === MASTER_API_KEY])).toEqual([[true, true]]);
  });

  it('keeps AWSPENDING while a re-pushed site has not confirmed, and a later abort finishes the job', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'timeout']);
    fleet.next.set(site('timeout'), 'server_error');
    const stored = () => fleet.stored.get(site('timeout'));

    await abortRotation(abortDeps(world, fleet, ledger), request(world));

    expect(world.sm.stagesByVersion(world.rotatedArn)[token]).toContain('AWSPENDING');
    fleet.next = new Map([[site('timeout'), 'invalid_api_key']]);
    fleet.stored.set(site('timeout'), NEXT);
    await abortRotation(abortDeps(world, fleet, ledger), request(world));
    expect(stored()).toBe(NEXT);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token]).toContain('AWSPENDING');

    fleet.next = new Map();
    await abortRotation(abortDeps(world, fleet, ledger), request(world));
    expect(stored()).toBe(CURRENT);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token] ?? []).not.toContain('AWSPENDING');
  });

  it('contacts no site and keeps AWSPENDING while a step of the rotation may still be running', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['timeout']);
    const mark = await ledger.get({ secretArn: world.rotatedArn, token });
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    await ledger.update(
      { secretArn: world.rotatedArn, token },
      { step: { name: 'setSecret', mark: { startedAt, status: 'running' } } },
    );
    expect(mark).toBeDefined();

    await abortRotation(abortDeps(world, fleet, ledger), request(world));

    expect(fleet.pushes).toHaveLength(1);
    expect(fleet.stored.get(site('timeout'))).toBe(NEXT);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token]).toContain('AWSPENDING');

    // A step marked running longer ago than any invocation lasts has died with its invocation.
    const later = () => new Date(Date.parse(startedAt) + 16 * 60_000);
    await abortRotation(abortDeps(world, fleet, ledger, later), request(world));
    expect(fleet.stored.get(site('timeout'))).toBe(CURRENT);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token] ?? []).not.toContain('AWSPENDING');
  });

  it('changes nothing when the operator declines', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);

    await abortRotation(abortDeps(world, fleet, ledger), request(world), { confirm: async () => false });

    expect(fleet.stored.get(site('confirmed'))).toBe(NEXT);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token]).toContain('AWSPENDING');
  });

  it('keeps AWSPENDING when interrupted, even after every re-pushed site confirmed', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);

    await abortRotation(abortDeps(world, fleet, ledger), request(world), { interrupted: () => 'SIGINT' });

    expect(world.sm.stagesByVersion(world.rotatedArn)[token]).toContain('AWSPENDING');
  });

  it('removes AWSPENDING without any push when the ledger has no record of the rotation', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await rotate(
      { Step: 'createSecret', SecretId: world.rotatedArn, ClientRequestToken: token },
      world.deps,
      clock(),
    );
    const fleet = new Fleet();

    await abortRotation(abortDeps(world, fleet, new InMemoryLedger()), request(world));

    expect(fleet.pushes).toEqual([]);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token] ?? []).not.toContain('AWSPENDING');
  });
});
