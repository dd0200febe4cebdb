import { describe, expect, it } from 'vitest';
import { SecretsManagerStore } from '../../adapters/aws/secrets-manager.js';
import { FUNCTION_TIMEOUT_MAX_MS } from '../../core/contract.js';
import { ConfigurationError } from '../../core/errors.js';
import { abortRotation } from '../../core/operations/abort.js';
import type { SecretAdmin } from '../../core/operations/ports.js';
import type { PushReport, PushRequest, SiteOutcome, SitePusher, SiteResult } from '../../core/ports.js';
import { rotate } from '../../core/rotation/steps.js';
import { keyIdentity } from '../../core/rules/keys.js';
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

/** The world's secrets, but for the operations `overrides` replaces. */
function secretsWith(world: RotationWorld, overrides: Partial<SecretAdmin>): SecretAdmin {
  const real = new SecretsManagerStore(world.sm.client);
  return new Proxy(real, {
    get: (target, name, receiver) => {
      const own = (overrides as Record<string | symbol, unknown>)[name];
      if (own !== undefined) return own;
      const value = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('abort: what it answers', () => {
  it('answers that nothing is stuck, and touches nothing, when no version carries AWSPENDING', async () => {
    const world = rotationWorld({ current: CURRENT });
    const fleet = new Fleet();

    const result = await abortRotation(abortDeps(world, fleet, new InMemoryLedger()), request(world));

    expect(result).toEqual({ outcome: 'no_stuck_rotation', secretArn: world.rotatedArn });
    expect(fleet.pushes).toEqual([]);
  });

  it('refuses a secret whose pending version has no AWSCURRENT beside it', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);
    const secrets = secretsWith(world, {
      describe: async () => ({
        arn: world.rotatedArn,
        rotationEnabled: true,
        versionIdsToStages: { [token]: ['AWSPENDING'] },
      }),
    });

    const error = await rejection(
      abortRotation({ ...abortDeps(world, fleet, ledger), secrets }, request(world)),
    );

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(`${world.rotatedArn} has no AWSCURRENT version`);
    expect(fleet.pushes).toHaveLength(1);
  });

  it('names the secret and the version it aborted, with no site when the ledger has no record', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);

    const warnings: string[] = [];

    const result = await abortRotation(abortDeps(world, new Fleet(), new InMemoryLedger()), request(world), {
      onLedgerWarning: (what) => warnings.push(what),
    });

    // No record, so no outcome to write either.
    expect(warnings).toEqual([]);
    expect(result).toEqual({
      outcome: 'aborted',
      secretArn: world.rotatedArn,
      pendingVersionId: token,
      sites: [],
      results: [],
      unknown: [],
    });
  });

  it('answers with every re-pushed site and its result once the label is removed', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);

    const result = await abortRotation(abortDeps(world, fleet, ledger), request(world));

    expect(result).toEqual({
      outcome: 'aborted',
      secretArn: world.rotatedArn,
      pendingVersionId: token,
      sites: [site('confirmed')],
      results: [{ site: site('confirmed'), outcome: 'confirmed', attempts: 1, durationMs: 1 }],
      unknown: [],
    });
  });

  it('answers which re-pushed site did not confirm when it keeps the label', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'timeout']);
    fleet.next.set(site('timeout'), 'server_error');

    const result = await abortRotation(abortDeps(world, fleet, ledger), request(world));

    expect(result).toMatchObject({
      outcome: 'sites_not_confirmed',
      secretArn: world.rotatedArn,
      pendingVersionId: token,
      sites: [site('confirmed'), site('timeout')],
      unknown: [],
    });
    expect(result.outcome === 'sites_not_confirmed' && result.results.map((r) => r.outcome)).toEqual([
      'confirmed',
      'server_error',
    ]);
  });

  it('answers interrupted, with the results received, when the operator interrupted it', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);

    const result = await abortRotation(abortDeps(world, fleet, ledger), request(world), {
      interrupted: () => 'SIGINT',
    });

    expect(result).toMatchObject({
      outcome: 'interrupted',
      secretArn: world.rotatedArn,
      pendingVersionId: token,
      sites: [site('confirmed')],
      results: [{ site: site('confirmed'), outcome: 'confirmed' }],
      unknown: [],
    });
  });

  it('answers declined, naming the pending version, when the operator declines', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);

    const result = await abortRotation(abortDeps(world, fleet, ledger), request(world), {
      confirm: async () => false,
    });

    expect(result).toEqual({ outcome: 'declined', secretArn: world.rotatedArn, pendingVersionId: token });
  });

  it('answers which step may still be running, and since when', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['timeout']);
    const startedAt = '2026-12-08T03:00:00.000Z';
    await ledger.update(
      { secretArn: world.rotatedArn, token },
      { step: { name: 'setSecret', mark: { startedAt, status: 'running' } } },
    );
    const justBefore = () => new Date(Date.parse(startedAt) + FUNCTION_TIMEOUT_MAX_MS - 1);

    const result = await abortRotation(abortDeps(world, fleet, ledger, justBefore), request(world));

    expect(result).toEqual({
      outcome: 'step_running',
      secretArn: world.rotatedArn,
      pendingVersionId: token,
      step: 'setSecret',
      startedAt,
    });
  });

  it('takes a step marked running exactly the longest invocation ago for dead', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['timeout']);
    const startedAt = '2026-12-08T03:00:00.000Z';
    await ledger.update(
      { secretArn: world.rotatedArn, token },
      { step: { name: 'setSecret', mark: { startedAt, status: 'running' } } },
    );
    const atTheLimit = () => new Date(Date.parse(startedAt) + FUNCTION_TIMEOUT_MAX_MS);

    const result = await abortRotation(abortDeps(world, fleet, ledger, atTheLimit), request(world));

    expect(result.outcome).toBe('aborted');
    expect(fleet.stored.get(site('timeout'))).toBe(CURRENT);
  });

  it("keeps AWSPENDING when a contacted site's answer never came back", async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'timeout']);
    // A pusher that sends to every site but loses the answer of the one that timed out before.
    const losing: SitePusher = {
      push: async (req) => {
        for (const s of req.sites) req.onStart?.(s);
        const report = await fleet.push(req);
        return { results: report.results.filter((r) => r.site !== site('timeout')) };
      },
    };

    const result = await abortRotation(
      { ...abortDeps(world, fleet, ledger), pusher: losing },
      request(world),
    );

    expect(result).toMatchObject({ outcome: 'sites_not_confirmed', unknown: [site('timeout')] });
    expect(result.outcome === 'sites_not_confirmed' && result.results.map((r) => r.site)).toEqual([
      site('confirmed'),
    ]);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token]).toContain('AWSPENDING');
  });
});

describe('abort: the re-push', () => {
  it('pushes with no deadline, and with none left once interrupted', async () => {
    const { world, fleet, ledger } = await stuckRotation(['confirmed', 'invalid_api_key']);
    const remaining: number[] = [];
    let interrupted: string | undefined;
    const recording: SitePusher = {
      push: (req) => {
        remaining.push(req.remainingTimeMs());
        interrupted = 'SIGTERM';
        remaining.push(req.remainingTimeMs());
        return fleet.push(req);
      },
    };

    await abortRotation({ ...abortDeps(world, fleet, ledger), pusher: recording }, request(world), {
      interrupted: () => interrupted,
    });

    expect(remaining).toEqual([Number.POSITIVE_INFINITY, 0]);
  });

  it("tells the caller every re-pushed site's result as it comes", async () => {
    const { world, fleet, ledger } = await stuckRotation(['confirmed', 'timeout']);
    const told: string[] = [];

    await abortRotation(abortDeps(world, fleet, ledger), request(world), {
      onResult: (r) => told.push(`${r.site} ${r.outcome}`),
    });

    expect(told).toEqual([`${site('confirmed')} confirmed`, `${site('timeout')} confirmed`]);
  });

  it('records in the ledger that the confirmed sites hold the AWSCURRENT version again, and the rotation aborted', async () => {
    const now = () => new Date('2026-12-08T04:00:00.000Z');
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'timeout']);
    fleet.next.set(site('timeout'), 'server_error');
    const currentId = world.sm.versionIdAt(world.rotatedArn, 'AWSCURRENT');

    await abortRotation(abortDeps(world, fleet, ledger, now), request(world));
    const holdings = await ledger.fleet(world.rotatedArn);

    expect(holdings.find((h) => h.site === site('confirmed'))).toEqual({
      site: site('confirmed'),
      ...keyIdentity(CURRENT),
      versionId: currentId,
      confirmedAt: '2026-12-08T04:00:00.000Z',
    });
    expect(holdings.find((h) => h.site === site('timeout'))?.versionId).not.toBe(currentId);
    expect((await ledger.get({ secretArn: world.rotatedArn, token }))?.outcome).not.toBe('aborted');

    fleet.next = new Map();
    await abortRotation(abortDeps(world, fleet, ledger, now), request(world));
    const record = await ledger.get({ secretArn: world.rotatedArn, token });
    expect([record?.outcome, record?.finishedAt]).toEqual(['aborted', '2026-12-08T04:00:00.000Z']);
  });

  it('still removes AWSPENDING when the ledger cannot take the holdings or the outcome, and says so', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);
    const down = new Error('ledger unavailable');
    ledger.recordHoldings = async () => {
      throw down;
    };
    ledger.update = async () => {
      throw down;
    };
    const warnings: [string, unknown][] = [];

    const result = await abortRotation(abortDeps(world, fleet, ledger), request(world), {
      onLedgerWarning: (what, error) => warnings.push([what, error]),
    });

    expect(result.outcome).toBe('aborted');
    expect(world.sm.stagesByVersion(world.rotatedArn)[token] ?? []).not.toContain('AWSPENDING');
    expect(warnings).toEqual([
      ['holdings', down],
      ['outcome', down],
    ]);
  });
  it('still removes AWSPENDING when the ledger is down and nobody listens for warnings', async () => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);
    ledger.recordHoldings = async () => {
      throw new Error('ledger unavailable');
    };
    ledger.update = async () => {
      throw new Error('ledger unavailable');
    };

    const result = await abortRotation(abortDeps(world, fleet, ledger), request(world));

    expect(result.outcome).toBe('aborted');
    expect(world.sm.stagesByVersion(world.rotatedArn)[token] ?? []).not.toContain('AWSPENDING');
  });

  it('pushes with no deadline when the caller cannot be interrupted', async () => {
    const { world, fleet, ledger } = await stuckRotation(['confirmed', 'invalid_api_key']);
    const remaining: number[] = [];
    const recording: SitePusher = {
      push: (req) => {
        remaining.push(req.remainingTimeMs());
        return fleet.push(req);
      },
    };

    await abortRotation({ ...abortDeps(world, fleet, ledger), pusher: recording }, request(world));

    expect(remaining).toEqual([Number.POSITIVE_INFINITY]);
  });
});

describe('abort: failures', () => {
  const cases: [string, (world: RotationWorld, token: string) => string, Partial<SecretAdmin>][] = [
    ['describing the secret', (w) => `Describing the secret ${w.rotatedArn}`, { describe: fail }],
    [
      'reading the AWSCURRENT value',
      (w) => `Reading the AWSCURRENT value of ${w.rotatedArn}`,
      { getValue: fail },
    ],
    [
      'reading the master API key',
      (w) => `Reading the master API key secret ${w.masterArn}`,
      { readCurrent: fail },
    ],
    [
      'removing the label',
      (w, token) => `Removing AWSPENDING from version ${token} of ${w.rotatedArn}`,
      { removeStage: fail },
    ],
  ];
  async function fail(): Promise<never> {
    throw new Error('AccessDenied');
  }

  it.each(cases)('says what it was doing when %s failed', async (_, doing, overrides) => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);
    const explain = (error: unknown, what: string) => new ConfigurationError(`${what}: ${String(error)}`);

    const error = await rejection(
      abortRotation(
        { ...abortDeps(world, fleet, ledger), secrets: secretsWith(world, overrides), explain },
        request(world),
      ),
    );

    expect(error.message).toBe(`${doing(world, token)}: Error: AccessDenied`);
  });

  it('says which ledger table it could not read', async () => {
    const { world, fleet, ledger } = await stuckRotation(['confirmed', 'invalid_api_key']);
    ledger.get = fail;
    const explain = (_: unknown, what: string) => new ConfigurationError(what);

    const error = await rejection(
      abortRotation({ ...abortDeps(world, fleet, ledger), explain }, request(world)),
    );

    expect(error.message).toBe('Reading the ledger table test-ledger');
  });

  const unusable: [
    string,
    (world: RotationWorld) => Partial<SecretAdmin>,
    (world: RotationWorld) => string,
  ][] = [
    [
      'an AWSCURRENT version holding no value',
      () => ({ getValue: async () => undefined }),
      (w) => `The AWSCURRENT version of ${w.rotatedArn} holds no value`,
    ],
    [
      'a master API key secret holding no value',
      () => ({ readCurrent: async () => undefined }),
      (w) => `The master API key in ${w.masterArn} holds no value`,
    ],
    [
      'an empty master API key',
      () => ({ readCurrent: async () => '' }),
      (w) => `The master API key in ${w.masterArn} is empty`,
    ],
    [
      'a master API key with spaces',
      () => ({ readCurrent: async () => 'not a key' }),
      (w) =>
        `The master API key in ${w.masterArn} contains spaces or non-printable characters (9 chars); it cannot be sent as X-API-Key`,
    ],
  ];

  it.each(unusable)('contacts no site and keeps AWSPENDING given %s', async (_, overrides, message) => {
    const { world, fleet, ledger, token } = await stuckRotation(['confirmed', 'invalid_api_key']);

    const error = await rejection(
      abortRotation(
        { ...abortDeps(world, fleet, ledger), secrets: secretsWith(world, overrides(world)) },
        request(world),
      ),
    );

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(message(world));
    expect(fleet.pushes).toHaveLength(1);
    expect(fleet.stored.get(site('confirmed'))).toBe(NEXT);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token]).toContain('AWSPENDING');
  });
});
