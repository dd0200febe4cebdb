import { describe, expect, it } from 'vitest';
import { ConfigurationError, RotationStateError } from '../../core/errors.js';
import type { RotationLogger } from '../../core/log.js';
import type { RotationPatch, SiteResult } from '../../core/ports.js';
import { rotationStart, siteRecord } from '../../core/rotation/ledger.js';
import { rotate } from '../../core/rotation/steps.js';
import { describeKey, fingerprint } from '../../core/rules/keys.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { clock, fakeKey, rotationWorld } from '../support/rotation-fixtures.js';
import { rejection } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'LedgerCurrent');
const NEXT = fakeKey('test', 'LedgerNext');
const OTHER = fakeKey('test', 'LedgerOther');
const SITES = ['https://a.example', 'https://b.example'];

/** Keeps every error line: what the operator would find in the logs. */
function recordingLogger(): RotationLogger & { errors: [string, Record<string, unknown>][] } {
  const errors: [string, Record<string, unknown>][] = [];
  return {
    errors,
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (message, ...attributes) => errors.push([message, Object.assign({}, ...attributes)]),
  };
}

function world() {
  const w = rotationWorld({ current: CURRENT, staged: NEXT, sites: SITES });
  const token = w.sm.startRotation(w.rotatedArn);
  const event = (Step: 'createSecret' | 'setSecret' | 'finishSecret') => ({
    Step,
    SecretId: w.rotatedArn,
    ClientRequestToken: token,
  });
  return { ...w, token, event, id: { secretArn: w.rotatedArn, token } };
}

describe('the rotation record a step requires', () => {
  it('refuses setSecret for a rotation the ledger has no record of, before any site is contacted', async () => {
    const w = world();
    await rotate(w.event('createSecret'), w.deps, clock());

    const error = await rejection(
      rotate(w.event('setSecret'), { ...w.deps, ledger: new InMemoryLedger() }, clock()),
    );

    expect(error).toBeInstanceOf(RotationStateError);
    expect(error.message).toBe(
      `The ledger has no record of rotation ${w.token} of ${w.rotatedArn}: createSecret has not run for it`,
    );
    expect(w.pusher.requests).toEqual([]);
  });

  it('refuses setSecret when the pending key is not the one the rotation started with', async () => {
    const w = world();
    await rotate(w.event('createSecret'), w.deps, clock());
    const other = new InMemoryLedger();
    await other.begin(await rotationStart(w.id, OTHER, 'staged', w.deps));

    const error = await rejection(rotate(w.event('setSecret'), { ...w.deps, ledger: other }, clock()));

    expect(error).toBeInstanceOf(RotationStateError);
    expect(error.message).toBe(
      `The pending version of ${w.rotatedArn} (${describeKey(NEXT)}) is not the key this rotation started with (fp ${fingerprint(OTHER)})`,
    );
    expect(w.pusher.requests).toEqual([]);
  });
});

describe('the failure and completion marks', () => {
  it('a createSecret failing before its record exists writes nothing and logs no ledger error', async () => {
    const w = world();
    const logger = recordingLogger();
    w.siteList.load = async () => {
      throw new ConfigurationError('the site list is unreadable');
    };

    await rejection(rotate(w.event('createSecret'), { ...w.deps, logger }, clock()));

    expect(await w.ledger.get(w.id)).toBeUndefined();
    expect(logger.errors).toEqual([]);
  });

  it('a failed step whose failure the ledger cannot take fails with its own error, and logs the ledger one', async () => {
    const w = world();
    await rotate(w.event('createSecret'), w.deps, clock());
    w.pusher.outcomes.set(SITES[1] as string, {
      outcome: 'server_error',
      httpStatus: 500,
      attempts: 3,
      durationMs: 9,
    });
    const down = new Error('ledger unavailable');
    const update = w.ledger.update.bind(w.ledger);
    w.ledger.update = async (id, patch: RotationPatch) => {
      if (patch.outcome === 'failed') throw down;
      return update(id, patch);
    };
    const logger = recordingLogger();

    const error = await rejection(rotate(w.event('setSecret'), { ...w.deps, logger }, clock()));

    expect(error).not.toBe(down);
    expect(logger.errors).toContainEqual([
      'Could not record the step failure in the ledger',
      expect.objectContaining({ error: down }),
    ]);
  });

  it('a completed step whose completion mark the ledger cannot take still completes, and logs why', async () => {
    const w = world();
    await rotate(w.event('createSecret'), w.deps, clock());
    const down = new Error('ledger unavailable');
    const update = w.ledger.update.bind(w.ledger);
    w.ledger.update = async (id, patch: RotationPatch) => {
      if (patch.step?.mark.status === 'completed') throw down;
      return update(id, patch);
    };
    const logger = recordingLogger();

    await rotate(w.event('setSecret'), { ...w.deps, logger }, clock());

    expect(logger.errors).toContainEqual([
      'Could not record the step completion in the ledger',
      expect.objectContaining({ error: down }),
    ]);
  });
});

describe("a site's ledger record", () => {
  const deps = {
    ...rotationWorld({ current: CURRENT }).deps,
    now: () => new Date('2026-12-08T04:00:00.000Z'),
  };
  const result = (r: Omit<SiteResult, 'site'>): SiteResult => ({ site: 'https://a.example', ...r });

  it('a confirmed site: confirmed, when, and the attempts so far added up', () => {
    const earlier = siteRecord(result({ outcome: 'timeout', attempts: 2, durationMs: 5 }), undefined, deps);

    expect(
      siteRecord(
        result({ outcome: 'confirmed', httpStatus: 200, attempts: 1, durationMs: 7 }),
        earlier,
        deps,
      ),
    ).toStrictEqual({
      site: 'https://a.example',
      status: 'confirmed',
      outcome: 'confirmed',
      httpStatus: 200,
      attempts: 3,
      latencyMs: 7,
      confirmedAt: '2026-12-08T04:00:00.000Z',
      updatedAt: '2026-12-08T04:00:00.000Z',
    });
  });

  it('a first answer counts its own attempts only, and keeps no status or detail it did not get', () => {
    expect(
      siteRecord(result({ outcome: 'timeout', attempts: 2, durationMs: 5 }), undefined, deps),
    ).toStrictEqual({
      site: 'https://a.example',
      status: 'failed',
      outcome: 'timeout',
      attempts: 2,
      latencyMs: 5,
      updatedAt: '2026-12-08T04:00:00.000Z',
    });
  });

  it('a refusal keeps its HTTP status and detail; a site never attempted is not a failure', () => {
    const refused = siteRecord(
      result({ outcome: 'invalid_api_key', httpStatus: 401, detail: 'bad key', attempts: 1, durationMs: 4 }),
      undefined,
      deps,
    );
    const skipped = siteRecord(
      result({ outcome: 'not_attempted', attempts: 0, durationMs: 0 }),
      undefined,
      deps,
    );

    expect([refused.status, refused.httpStatus, refused.detail]).toEqual(['failed', 401, 'bad key']);
    expect(skipped.status).toBe('not_attempted');
  });
});
