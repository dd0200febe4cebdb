/** What the RotationLedger contract suites (ledger-contract.ts, ledger-fleet-contract.ts) record. */

import type { FleetSiteRecord, RotationStart } from '../../core/ports.js';
import { fingerprint, maskKey } from '../../core/rules/keys.js';
import { secret } from './secret-guard.js';

export const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/live/secret-key-AbC123';
export const OTHER_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/test/secret-key-XyZ789';
export const KEY = secret(`sk_live_51LedgerContract${'Qw7'.repeat(28)}Tail`);
export const NEXT_KEY = secret(`sk_live_51LedgerContractNext${'Zp4'.repeat(28)}Tail`);
/** Not in snapshot order on purpose: order must come from the snapshot, not from URLs. */
export const SITES = [
  'https://zeta-boutique.example.fr',
  'https://alpha.example.com/shop',
  'https://mid.example.net',
];
export const [ZETA = '', ALPHA = '', MID = ''] = SITES;

export function start(token: string, overrides: Partial<RotationStart> = {}): RotationStart {
  return {
    secretArn: ARN,
    token,
    trigger: 'staged',
    maskedKey: maskKey(KEY),
    keyFingerprint: fingerprint(KEY),
    sites: SITES,
    sources: ['/stripe/live/sites'],
    ...overrides,
  };
}

/** What `site` holds once it confirmed `key` of version `versionId`. */
export function holding(site: string, key: string, versionId: string, confirmedAt: string): FleetSiteRecord {
  return { site, maskedKey: maskKey(key), keyFingerprint: fingerprint(key), versionId, confirmedAt };
}

/** Ticks one second per reading: every timestamp is distinct and ordered. */
export function tickingClock(): () => Date {
  let at = Date.parse('2025-06-01T02:00:00.000Z');
  return () => {
    at += 1000;
    return new Date(at);
  };
}

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
