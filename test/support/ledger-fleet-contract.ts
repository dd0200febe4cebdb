/**
 * The RotationLedger contract on what sites hold (part of describeLedgerContract, ledger-contract.ts): the
 * last key each site confirmed in a rotation, and what `recordHoldings` records outside one (`abort`).
 */
import { describe, expect, it } from 'vitest';
import type { RotationId, RotationLedger, SiteRecord } from '../../core/ports.js';
import { fingerprint, maskKey } from '../../core/rules/keys.js';
import { ALPHA, ARN, holding, KEY, MID, NEXT_KEY, OTHER_ARN, start, ZETA } from './ledger-fixtures.js';
import { rejection } from './secret-guard.js';

/** `ledger` answers the ledger under test, built afresh for each test. */
export function describeFleetContract(ledger: () => RotationLedger): void {
  describe('fleet', () => {
    it('lists what each site last confirmed, by site URL, the latest confirmation overwriting', async () => {
      const first: RotationId = { secretArn: ARN, token: 'tok-fleet-1' };
      const second: RotationId = { secretArn: ARN, token: 'tok-fleet-2' };
      await ledger().begin(start(first.token));
      for (const site of [ZETA, ALPHA]) {
        await ledger().saveSite(
          first,
          {
            site,
            status: 'confirmed',
            outcome: 'confirmed',
            attempts: 1,
            confirmedAt: '2025-06-01T03:00:00.000Z',
          },
          {
            site,
            maskedKey: maskKey(KEY),
            keyFingerprint: fingerprint(KEY),
            versionId: first.token,
            confirmedAt: '2025-06-01T03:00:00.000Z',
          },
        );
      }
      await ledger().flush();
      await ledger().begin(
        start(second.token, { maskedKey: maskKey(NEXT_KEY), keyFingerprint: fingerprint(NEXT_KEY) }),
      );
      await ledger().saveSite(
        second,
        {
          site: ZETA,
          status: 'confirmed',
          outcome: 'confirmed',
          attempts: 2,
          confirmedAt: '2025-06-02T03:00:00.000Z',
        },
        {
          site: ZETA,
          maskedKey: maskKey(NEXT_KEY),
          keyFingerprint: fingerprint(NEXT_KEY),
          versionId: second.token,
          confirmedAt: '2025-06-02T03:00:00.000Z',
        },
      );
      await ledger().flush();

      expect(await ledger().fleet(ARN)).toEqual([
        {
          site: ALPHA,
          maskedKey: maskKey(KEY),
          keyFingerprint: fingerprint(KEY),
          versionId: first.token,
          confirmedAt: '2025-06-01T03:00:00.000Z',
        },
        {
          site: ZETA,
          maskedKey: maskKey(NEXT_KEY),
          keyFingerprint: fingerprint(NEXT_KEY),
          versionId: second.token,
          confirmedAt: '2025-06-02T03:00:00.000Z',
        },
      ]);
      await expect(ledger().fleet(OTHER_ARN)).resolves.toEqual([]);
    });

    it('refuses what a site holds when it is given for another site', async () => {
      const id: RotationId = { secretArn: ARN, token: 'tok-fleet-mix' };
      await ledger().begin(start(id.token));
      const error = await rejection(
        ledger().saveSite(
          id,
          { site: ZETA, status: 'confirmed', attempts: 1 },
          {
            site: ALPHA,
            maskedKey: maskKey(KEY),
            keyFingerprint: fingerprint(KEY),
            versionId: id.token,
            confirmedAt: '2025-06-01T03:00:00.000Z',
          },
        ),
      );
      expect(error.message).toContain(ALPHA);
      await expect(ledger().fleet(ARN)).resolves.toEqual([]);
    });
  });

  describe('recordHoldings', () => {
    const pending: RotationId = { secretArn: ARN, token: 'tok-pending' };
    const took = (site: string): SiteRecord => ({
      site,
      status: 'confirmed',
      outcome: 'confirmed',
      httpStatus: 200,
      attempts: 1,
      latencyMs: 90,
      confirmedAt: '2025-06-01T03:00:00.000Z',
      updatedAt: '2025-06-01T03:00:00.000Z',
    });

    it('records what sites hold again outside a push, leaving the rotation’s results as they were', async () => {
      await ledger().begin(
        start(pending.token, { maskedKey: maskKey(NEXT_KEY), keyFingerprint: fingerprint(NEXT_KEY) }),
      );
      for (const site of [ZETA, ALPHA]) {
        await ledger().saveSite(
          pending,
          took(site),
          holding(site, NEXT_KEY, pending.token, '2025-06-01T03:00:00.000Z'),
        );
      }
      await ledger().flush();
      const resultsBefore = await ledger().sites(pending);

      const restored = [ZETA, ALPHA].map((site) =>
        holding(site, KEY, 'tok-current', '2025-06-01T04:00:00.000Z'),
      );
      await ledger().recordHoldings(ARN, restored);

      expect(await ledger().fleet(ARN)).toEqual([restored[1], restored[0]]);
      expect(await ledger().sites(pending)).toEqual(resultsBefore);
      await expect(ledger().fleet(OTHER_ARN)).resolves.toEqual([]);
    });

    it('records holdings of a secret the ledger has no rotation for, keeping its own copy', async () => {
      const holdings = [holding(MID, KEY, 'tok-current', '2025-06-01T04:00:00.000Z')];
      await ledger().recordHoldings(OTHER_ARN, holdings);
      holdings.push(holding(ZETA, KEY, 'tok-current', '2025-06-01T04:00:00.000Z'));
      await expect(ledger().fleet(OTHER_ARN)).resolves.toEqual([holdings[0]]);
      await expect(ledger().fleet(ARN)).resolves.toEqual([]);
    });

    it('lets a later confirmation in a rotation replace what was recorded, and the reverse', async () => {
      await ledger().recordHoldings(ARN, [holding(ZETA, KEY, 'tok-current', '2025-06-01T04:00:00.000Z')]);
      await ledger().begin(
        start(pending.token, { maskedKey: maskKey(NEXT_KEY), keyFingerprint: fingerprint(NEXT_KEY) }),
      );
      const confirmedNext = holding(ZETA, NEXT_KEY, pending.token, '2025-06-01T05:00:00.000Z');
      await ledger().saveSite(pending, took(ZETA), confirmedNext);
      await expect(ledger().fleet(ARN)).resolves.toEqual([confirmedNext]);

      const restored = holding(ZETA, KEY, 'tok-current', '2025-06-01T06:00:00.000Z');
      await ledger().recordHoldings(ARN, [restored]);
      await expect(ledger().fleet(ARN)).resolves.toEqual([restored]);
    });

    it('records nothing for an empty list', async () => {
      await ledger().recordHoldings(ARN, []);
      await expect(ledger().fleet(ARN)).resolves.toEqual([]);
    });
  });
}
