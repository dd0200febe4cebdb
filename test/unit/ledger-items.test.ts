import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  encodeSnapshot,
  holdingFromItem,
  holdingItem,
  type Item,
  MAX_SITE_URL_BYTES,
  rotationFromItem,
  rotationItem,
  siteFromItem,
  siteItem,
} from '../../adapters/aws/ledger-items.js';
import { ConfigurationError } from '../../core/errors.js';
import {
  type FleetSiteRecord,
  ROTATION_OUTCOMES,
  ROTATION_TRIGGERS,
  type RotationRecord,
  SITE_OUTCOMES,
  SITE_STATUSES,
  type SiteRecord,
  STEP_STATUSES,
} from '../../core/ports.js';
import { ROTATION_STEPS } from '../../core/rotation/event.js';
import { fingerprint, maskKey } from '../../core/rules/keys.js';
import { secret } from '../support/secret-guard.js';

const TABLE = 'stripe-key-rotator-ledger';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/live/secret-key-Items1';
const KEY = secret(`sk_live_51LedgerItems${'Vb8'.repeat(28)}Tail`);
const ID = { secretArn: ARN, token: 'tok-items' };
const SITES = ['https://b.example.fr', 'https://a.example.com/shop'];
const EXPIRES = 1_780_000_000;

const RECORD: RotationRecord = {
  ...ID,
  trigger: 'staged',
  maskedKey: maskKey(KEY),
  keyFingerprint: fingerprint(KEY),
  sites: SITES,
  sources: ['/stripe/live/sites'],
  createdAt: '2025-06-01T02:00:00.000Z',
  updatedAt: '2025-06-01T02:00:00.000Z',
  outcome: 'in_progress',
  steps: {},
};

/** The META item as DynamoDB gives it back after `update` set marks, counts and finishedAt. */
function storedRotation(changes: Partial<RotationRecord> = {}, raw: Item = {}): Item {
  const record = { ...RECORD, ...changes };
  return { ...rotationItem(record, encodeSnapshot(record.sites, TABLE), EXPIRES), ...changes, ...raw };
}

describe('rotation items', () => {
  it('are keyed by secret and token, listed in the history index by creation time, with a TTL', () => {
    expect(rotationItem(RECORD, encodeSnapshot(SITES, TABLE), EXPIRES)).toMatchObject({
      pk: `ROTATION#${ARN}#tok-items`,
      sk: 'META',
      gsi1pk: `HISTORY#${ARN}`,
      gsi1sk: '2025-06-01T02:00:00.000Z#tok-items',
      expiresAt: EXPIRES,
      siteCount: 2,
    });
  });

  it('read back as the record they were written from, steps, counts and finishedAt included', () => {
    const finished: Partial<RotationRecord> = {
      outcome: 'finished',
      steps: {
        createSecret: {
          startedAt: '2025-06-01T02:00:01.000Z',
          endedAt: '2025-06-01T02:00:02.000Z',
          status: 'completed',
        },
        setSecret: {
          startedAt: '2025-06-01T02:01:00.000Z',
          status: 'failed',
          error: 'PropagationError: 1 of 2',
        },
      },
      counts: { confirmed: 2, failed: 0, pending: 0 },
      finishedAt: '2025-06-01T02:10:00.000Z',
    };
    expect(rotationFromItem(storedRotation(finished), TABLE)).toEqual({ ...RECORD, ...finished });
  });

  it.each([
    ['trigger', ROTATION_TRIGGERS],
    ['outcome', ROTATION_OUTCOMES],
  ] as const)('accept every %s the port defines', (attribute, values) => {
    for (const value of values) {
      expect(rotationFromItem(storedRotation({}, { [attribute]: value }), TABLE)[attribute]).toBe(value);
    }
  });

  it('accept every step and step status the port defines', () => {
    for (const name of ROTATION_STEPS) {
      for (const status of STEP_STATUSES) {
        const item = storedRotation({}, { steps: { [name]: { startedAt: RECORD.createdAt, status } } });
        expect(rotationFromItem(item, TABLE).steps[name]?.status).toBe(status);
      }
    }
  });

  it.each([
    ['trigger', { trigger: 'manual' }, 'attribute trigger has an unknown value "manual"'],
    ['outcome', { outcome: 'exploded' }, 'attribute outcome has an unknown value "exploded"'],
    [
      'step',
      { steps: { rollback: { startedAt: 'x', status: 'running' } } },
      'attribute steps unknown step rollback',
    ],
    ['step mark', { steps: { setSecret: 'running' } }, 'attribute steps.setSecret not a map'],
    ['site count', { siteCount: 3 }, 'attribute snapshot holds 2 sites, siteCount says 3'],
    ['missing key', { maskedKey: undefined }, 'attribute maskedKey is missing or not a string'],
  ] as const)('refuse a malformed %s, naming the table and the item', (_, raw, problem) => {
    expect(() => rotationFromItem(storedRotation({}, raw), TABLE)).toThrow(
      `Malformed ledger table ${TABLE}, item ROTATION#${ARN}#tok-items / META: ${problem}`,
    );
  });

  it('refuse a step mark with a status the port does not define', () => {
    const item = storedRotation({}, { steps: { setSecret: { startedAt: 'x', status: 'paused' } } });
    expect(() => rotationFromItem(item, TABLE)).toThrow('attribute status has an unknown value "paused"');
  });

  it('refuse a snapshot that is not a gzipped list of URLs', () => {
    expect(() =>
      rotationFromItem(storedRotation({}, { snapshot: new Uint8Array([1, 2, 3]) }), TABLE),
    ).toThrow('the site-list snapshot cannot be decoded');
    const notUrls = gzipSync(JSON.stringify({ sites: SITES }));
    expect(() => rotationFromItem(storedRotation({}, { snapshot: notUrls }), TABLE)).toThrow(
      'the site-list snapshot is not a list of URLs',
    );
  });
});

describe('snapshots', () => {
  it('refuse a site URL longer than a DynamoDB sort key can hold', () => {
    const long = `https://long.example.com/${'p'.repeat(MAX_SITE_URL_BYTES)}`;
    expect(() => encodeSnapshot([...SITES, long], TABLE)).toThrow(ConfigurationError);
    expect(() =>
      encodeSnapshot([`https://x.example/${'p'.repeat(MAX_SITE_URL_BYTES - 18)}`], TABLE),
    ).not.toThrow();
  });
});

describe('site items', () => {
  const full: SiteRecord = {
    site: SITES[0] ?? '',
    status: 'failed',
    outcome: 'server_error',
    httpStatus: 503,
    detail: 'answered 503 three times',
    attempts: 3,
    latencyMs: 2400,
    updatedAt: '2025-06-01T02:05:00.000Z',
  };

  it('are keyed by rotation and site URL, with a TTL, and read back unchanged', () => {
    const item = siteItem(ID, full, '2025-06-01T09:00:00.000Z', EXPIRES);
    expect(item).toMatchObject({
      pk: `ROTATION#${ARN}#tok-items`,
      sk: `SITE#${full.site}`,
      expiresAt: EXPIRES,
    });
    expect(siteFromItem(item, TABLE)).toEqual(full);
  });

  it('hold no undefined attribute (DynamoDB refuses them) and are stamped when saved without updatedAt', () => {
    const item = siteItem(
      ID,
      { site: full.site, status: 'pending', attempts: 0 },
      '2025-06-01T09:00:00.000Z',
      1,
    );
    expect(Object.values(item)).not.toContain(undefined);
    expect(siteFromItem(item, TABLE)).toEqual({
      site: full.site,
      status: 'pending',
      attempts: 0,
      updatedAt: '2025-06-01T09:00:00.000Z',
    });
  });

  it('accept every status and outcome the port defines, and refuse any other', () => {
    for (const status of SITE_STATUSES) {
      for (const outcome of SITE_OUTCOMES) {
        const item = siteItem(ID, { ...full, status, outcome }, full.updatedAt ?? '', EXPIRES);
        expect(siteFromItem(item, TABLE)).toMatchObject({ status, outcome });
      }
    }
    const item = siteItem(ID, full, '', EXPIRES);
    expect(() => siteFromItem({ ...item, status: 'done' }, TABLE)).toThrow(
      'attribute status has an unknown value',
    );
    expect(() => siteFromItem({ ...item, outcome: 'gone' }, TABLE)).toThrow(
      'attribute outcome has an unknown value',
    );
  });
});

describe('holding items', () => {
  const holding: FleetSiteRecord = {
    site: SITES[1] ?? '',
    maskedKey: maskKey(KEY),
    keyFingerprint: fingerprint(KEY),
    versionId: ID.token,
    confirmedAt: '2025-06-01T02:05:01.000Z',
  };

  it('are keyed by secret and site URL, never expire, and read back unchanged', () => {
    const item = holdingItem(ARN, holding);
    expect(item).toMatchObject({ pk: `FLEET#${ARN}`, sk: `SITE#${holding.site}` });
    expect(item).not.toHaveProperty('expiresAt');
    expect(holdingFromItem(item, TABLE)).toEqual(holding);
  });

  it('refuse an item missing what the site holds', () => {
    expect(() => holdingFromItem({ ...holdingItem(ARN, holding), versionId: 7 }, TABLE)).toThrow(
      'attribute versionId is missing or not a string',
    );
  });
});
