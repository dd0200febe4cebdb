/**
 * The RotationLedger contract, as one suite every implementation runs (in memory: test/unit; DynamoDB on
 * moto: test/emulator). What the rotation relies on: an atomic first-wins snapshot, per-site results in
 * snapshot order, what each site holds, step marks, history, and never a secret value in storage.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { RotationStateError } from '../../core/errors.js';
import type { RotationId, RotationLedger, SiteRecord } from '../../core/ports.js';
import { describeKey, fingerprint, maskKey } from '../../core/rules/keys.js';
import { MAX_SITES } from '../../core/rules/site-list.js';
import {
  ALPHA,
  ARN,
  ISO,
  KEY,
  MID,
  NEXT_KEY,
  OTHER_ARN,
  SITES,
  start,
  tickingClock,
  ZETA,
} from './ledger-fixtures.js';
import { describeFleetContract } from './ledger-fleet-contract.js';
import { leakedSecrets, rejection } from './secret-guard.js';

export interface LedgerUnderTest {
  readonly ledger: RotationLedger;
  /** Everything the store holds as text, snapshots decoded (DynamoDB: a Scan of the whole table). */
  dump(): Promise<string>;
}

/** Builds an empty ledger whose timestamps come from `now`. */
export type LedgerFactory = (now: () => Date) => Promise<LedgerUnderTest>;

/** MAX_SITES realistic, distinct hostnames (hashed labels compress like real ones, not like a counter). */
export function largeFleet(count = MAX_SITES): string[] {
  return Array.from({ length: count }, (_, i) => {
    const label = fingerprint(`site-${i}`).slice(0, 8);
    return `https://boutique-${label}.${i % 3 === 0 ? 'example.fr' : 'shops.example.com'}${i % 5 === 0 ? '/fr' : ''}`;
  });
}

export function describeLedgerContract(name: string, makeLedger: LedgerFactory): void {
  describe(`${name} (RotationLedger contract)`, () => {
    let ledger: RotationLedger;
    let dump: () => Promise<string>;

    beforeEach(async () => {
      const made = await makeLedger(tickingClock());
      ledger = made.ledger;
      dump = () => made.dump();
    });

    describe('begin', () => {
      it('creates a record in progress holding the site-list snapshot', async () => {
        const record = await ledger.begin(start('tok-begin'));
        expect(record).toEqual({
          ...start('tok-begin'),
          createdAt: expect.stringMatching(ISO),
          updatedAt: record.createdAt,
          outcome: 'in_progress',
          steps: {},
        });
        await expect(ledger.get({ secretArn: ARN, token: 'tok-begin' })).resolves.toEqual(record);
      });

      it('returns the first record unchanged when called again, even with other sites or another key', async () => {
        const first = await ledger.begin(start('tok-twice'));
        const again = await ledger.begin(
          start('tok-twice', {
            sites: ['https://other.example.org'],
            maskedKey: maskKey(NEXT_KEY),
            keyFingerprint: fingerprint(NEXT_KEY),
            trigger: 'repropagation',
          }),
        );
        expect(again).toEqual(first);
        expect((await ledger.sites({ secretArn: ARN, token: 'tok-twice' })).map((s) => s.site)).toEqual(
          SITES,
        );
      });

      it('keeps its own copy: changing the caller’s arrays or a returned record changes nothing stored', async () => {
        const sites = [...SITES];
        const record = await ledger.begin(start('tok-copy', { sites }));
        sites.push('https://added-later.example.com');
        (record.sites as string[]).pop();
        const got = await ledger.get({ secretArn: ARN, token: 'tok-copy' });
        expect(got?.sites).toEqual(SITES);
        (got?.sources as string[] | undefined)?.push('/tampered');
        expect((await ledger.get({ secretArn: ARN, token: 'tok-copy' }))?.sources).toEqual([
          '/stripe/live/sites',
        ]);
      });
    });

    it('answers undefined for a rotation it has never seen', async () => {
      await expect(ledger.get({ secretArn: ARN, token: 'tok-never' })).resolves.toBeUndefined();
    });

    describe('sites and saveSite', () => {
      const id: RotationId = { secretArn: ARN, token: 'tok-sites' };

      it('lists every snapshot site as pending, in snapshot order, before any result', async () => {
        await ledger.begin(start(id.token));
        await expect(ledger.sites(id)).resolves.toEqual(
          SITES.map((site) => ({ site, status: 'pending', attempts: 0 })),
        );
      });

      it('shows saved results with every field after flush, the latest result of a site winning', async () => {
        await ledger.begin(start(id.token));
        const failedOnce: SiteRecord = {
          site: ALPHA,
          status: 'failed',
          outcome: 'server_error',
          httpStatus: 503,
          detail: 'answered 503 three times',
          attempts: 3,
          latencyMs: 2400,
          updatedAt: '2025-06-01T02:05:00.000Z',
        };
        const confirmed: SiteRecord = {
          site: ZETA,
          status: 'confirmed',
          outcome: 'confirmed',
          httpStatus: 200,
          attempts: 1,
          latencyMs: 180,
          confirmedAt: '2025-06-01T02:05:01.000Z',
          updatedAt: '2025-06-01T02:05:01.000Z',
        };
        await ledger.saveSite(id, failedOnce);
        await ledger.saveSite(id, confirmed);
        await ledger.flush();
        expect(await ledger.sites(id)).toEqual([
          confirmed,
          failedOnce,
          { site: MID, status: 'pending', attempts: 0 },
        ]);

        const retried: SiteRecord = {
          site: ALPHA,
          status: 'confirmed',
          outcome: 'confirmed',
          httpStatus: 200,
          attempts: 4,
          latencyMs: 95,
          confirmedAt: '2025-06-01T02:20:00.000Z',
          updatedAt: '2025-06-01T02:20:00.000Z',
        };
        await ledger.saveSite(id, retried);
        await ledger.flush();
        expect((await ledger.sites(id))[1]).toEqual(retried);
      });

      it('shows results saved but not yet flushed (reads see the ledger’s own writes)', async () => {
        await ledger.begin(start(id.token));
        await ledger.saveSite(id, {
          site: MID,
          status: 'not_attempted',
          outcome: 'not_attempted',
          attempts: 0,
        });
        expect((await ledger.sites(id))[2]).toMatchObject({
          site: MID,
          status: 'not_attempted',
          attempts: 0,
        });
      });

      it('stamps updatedAt on a result saved without one', async () => {
        await ledger.begin(start(id.token));
        await ledger.saveSite(id, { site: MID, status: 'failed', outcome: 'tls_error', attempts: 1 });
        await ledger.flush();
        expect((await ledger.sites(id))[2]?.updatedAt).toMatch(ISO);
      });

      it('refuses a result for a site outside the snapshot, naming it, and records nothing', async () => {
        await ledger.begin(start(id.token));
        const error = await rejection(
          ledger.saveSite(id, { site: 'https://intruder.example.org', status: 'confirmed', attempts: 1 }),
        );
        expect(error).toBeInstanceOf(RotationStateError);
        expect(error.message).toContain('https://intruder.example.org');
        await ledger.flush();
        expect((await ledger.sites(id)).map((s) => s.status)).toEqual(['pending', 'pending', 'pending']);
      });

      it('refuses results and site listings for a rotation that was never begun', async () => {
        const unknown: RotationId = { secretArn: ARN, token: 'tok-unknown' };
        const save = await rejection(
          ledger.saveSite(unknown, { site: ZETA, status: 'confirmed', attempts: 1 }),
        );
        expect(save).toBeInstanceOf(RotationStateError);
        expect(save.message).toContain('tok-unknown');
        // An empty list would read as "every site confirmed" to the finish gate.
        expect(await rejection(ledger.sites(unknown))).toBeInstanceOf(RotationStateError);
      });
    });

    describeFleetContract(() => ledger);

    describe('update', () => {
      const id: RotationId = { secretArn: ARN, token: 'tok-update' };

      it('sets step marks, outcome, counts and finishedAt without losing other fields', async () => {
        const begun = await ledger.begin(start(id.token));
        const createMark = {
          startedAt: '2025-06-01T02:00:01.000Z',
          endedAt: '2025-06-01T02:00:02.000Z',
          status: 'completed' as const,
        };
        await ledger.update(id, { step: { name: 'createSecret', mark: createMark } });
        await ledger.update(id, {
          step: { name: 'setSecret', mark: { startedAt: '2025-06-01T02:01:00.000Z', status: 'running' } },
        });
        await ledger.saveSite(id, { site: ZETA, status: 'confirmed', outcome: 'confirmed', attempts: 1 });
        const setMark = {
          startedAt: '2025-06-01T02:01:00.000Z',
          endedAt: '2025-06-01T02:03:00.000Z',
          status: 'failed' as const,
          error: 'PropagationError: 1 of 3 sites confirmed',
        };
        await ledger.update(id, {
          step: { name: 'setSecret', mark: setMark },
          outcome: 'failed',
          counts: { confirmed: 1, failed: 0, pending: 2 },
        });

        const record = await ledger.get(id);
        expect(record).toEqual({
          ...begun,
          updatedAt: expect.stringMatching(ISO),
          outcome: 'failed',
          steps: { createSecret: createMark, setSecret: setMark },
          counts: { confirmed: 1, failed: 0, pending: 2 },
        });
        expect(Date.parse(record?.updatedAt ?? '')).toBeGreaterThan(Date.parse(begun.createdAt));
        // update writes buffered results first: the step mark never describes results that are not stored.
        expect((await ledger.sites(id))[0]?.status).toBe('confirmed');

        await ledger.update(id, { outcome: 'finished', finishedAt: '2025-06-01T02:10:00.000Z' });
        expect(await ledger.get(id)).toMatchObject({
          outcome: 'finished',
          finishedAt: '2025-06-01T02:10:00.000Z',
          counts: { confirmed: 1, failed: 0, pending: 2 },
          steps: { createSecret: createMark, setSecret: setMark },
          sites: SITES,
        });

        await ledger.update(id, { stripeAccount: 'acct_1Verified' });
        expect(await ledger.get(id)).toMatchObject({ stripeAccount: 'acct_1Verified', outcome: 'finished' });
        expect((await ledger.history(ARN, 10)).find((r) => r.token === id.token)?.stripeAccount).toBe(
          'acct_1Verified',
        );
      });

      it('refuses to update a rotation that was never begun (it does not create a partial one)', async () => {
        const unknown: RotationId = { secretArn: ARN, token: 'tok-update-unknown' };
        expect(await rejection(ledger.update(unknown, { outcome: 'failed' }))).toBeInstanceOf(
          RotationStateError,
        );
        await expect(ledger.get(unknown)).resolves.toBeUndefined();
      });
    });

    describe('history', () => {
      it('lists a secret’s rotations newest first, limited, without another secret’s', async () => {
        await ledger.begin(start('tok-h1'));
        await ledger.begin(start('tok-o1', { secretArn: OTHER_ARN }));
        await ledger.begin(start('tok-h2', { trigger: 'repropagation' }));
        await ledger.update({ secretArn: ARN, token: 'tok-h1' }, { outcome: 'finished' });
        await ledger.begin(start('tok-h3'));
        await ledger.begin(start('tok-o2', { secretArn: OTHER_ARN }));

        const latestTwo = await ledger.history(ARN, 2);
        expect(latestTwo.map((r) => r.token)).toEqual(['tok-h3', 'tok-h2']);
        expect(latestTwo[1]).toEqual(await ledger.get({ secretArn: ARN, token: 'tok-h2' }));
        expect((await ledger.history(ARN, 10)).map((r) => r.token)).toEqual(['tok-h3', 'tok-h2', 'tok-h1']);
        expect((await ledger.history(ARN, 10))[2]?.outcome).toBe('finished');
        expect((await ledger.history(OTHER_ARN, 10)).map((r) => r.token)).toEqual(['tok-o2', 'tok-o1']);
        await expect(
          ledger.history('arn:aws:secretsmanager:eu-west-1:123456789012:secret:none', 5),
        ).resolves.toEqual([]);
      });
    });

    it(`round-trips a ${MAX_SITES}-site snapshot (the cap), in order, with results for its last site`, async () => {
      const sites = largeFleet();
      const id: RotationId = { secretArn: ARN, token: 'tok-large' };
      await ledger.begin(start(id.token, { sites }));
      expect((await ledger.get(id))?.sites).toEqual(sites);
      const last = sites[sites.length - 1] ?? '';
      await ledger.saveSite(id, { site: last, status: 'confirmed', outcome: 'confirmed', attempts: 1 });
      const listed = await ledger.sites(id);
      expect(listed).toHaveLength(MAX_SITES);
      expect(listed.map((s) => s.site)).toEqual(sites);
      expect(listed[MAX_SITES - 1]).toMatchObject({ site: last, status: 'confirmed' });
      expect(listed.filter((s) => s.status === 'pending')).toHaveLength(MAX_SITES - 1);
    });

    it('never stores a secret value: a full rotation through every method leaves only masked keys', async () => {
      const id: RotationId = { secretArn: ARN, token: 'tok-leak' };
      const at = '2025-06-01T04:00:00.000Z';
      const holds = { maskedKey: maskKey(KEY), keyFingerprint: fingerprint(KEY), versionId: id.token };
      await ledger.begin(start(id.token));
      await ledger.update(id, {
        step: { name: 'createSecret', mark: { startedAt: at, endedAt: at, status: 'completed' } },
      });
      await ledger.saveSite(
        id,
        {
          site: ZETA,
          status: 'confirmed',
          outcome: 'confirmed',
          httpStatus: 200,
          attempts: 1,
          latencyMs: 120,
          confirmedAt: at,
          updatedAt: at,
        },
        { site: ZETA, ...holds, confirmedAt: at },
      );
      await ledger.saveSite(id, {
        site: ALPHA,
        status: 'failed',
        outcome: 'invalid_api_key',
        httpStatus: 401,
        detail: 'answered 401 invalid_api_key',
        attempts: 1,
        latencyMs: 80,
        updatedAt: at,
      });
      await ledger.saveSite(id, {
        site: MID,
        status: 'not_attempted',
        outcome: 'not_attempted',
        attempts: 0,
      });
      await ledger.flush();
      await ledger.update(id, {
        step: {
          name: 'setSecret',
          mark: {
            startedAt: at,
            endedAt: at,
            status: 'failed',
            error: `PropagationError: the key ${describeKey(KEY)} was confirmed by 1 of 3 sites`,
          },
        },
        outcome: 'failed',
        counts: { confirmed: 1, failed: 1, pending: 1 },
      });
      await ledger.recordHoldings(ARN, [{ site: ALPHA, ...holds, confirmedAt: at }]);
      await ledger.sites(id);
      await ledger.history(ARN, 5);
      await ledger.fleet(ARN);

      const stored = await dump();
      // The dump is real: it holds the masked key, the fingerprint and the decoded snapshot.
      expect(stored).toContain(maskKey(KEY));
      expect(stored).toContain(fingerprint(KEY));
      expect(stored).toContain(MID);
      expect(stored).toContain('invalid_api_key');
      expect(leakedSecrets([stored])).toEqual([]);
      expect(stored).not.toContain(KEY);
      expect(stored).not.toContain(NEXT_KEY);
    });
  });
}
