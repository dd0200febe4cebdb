/**
 * REQUIRES the moto AWS emulator (`moto_server` on PATH; `pip install 'moto[server]'`): the suite fails,
 * it does not skip, when it is missing. Run with `npm run test:emulator`.
 *
 * The ledger contract on the real DynamoDB adapter and SDK, against moto over loopback HTTP. Every ledger
 * gets a fresh table created from the same key schema the CDK construct uses (core/rules/ledger-schema.ts).
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger.js';
import { fingerprint, maskKey } from '../../core/rules/keys.js';
import { LEDGER_TABLE_SCHEMA as SCHEMA } from '../../core/rules/ledger-schema.js';
import { MAX_SITES } from '../../core/rules/site-list.js';
import { describeLedgerContract, largeFleet } from '../support/ledger-contract.js';
import {
  createLedgerTable as createTable,
  type MotoServer,
  motoClients,
  startMoto,
} from '../support/moto.js';
import { rejection, secret } from '../support/secret-guard.js';

type Item = Record<string, NativeAttributeValue>;

let moto: MotoServer;
let dynamodb: DynamoDBClient;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  moto = await startMoto();
  ({ dynamodb } = motoClients(moto));
  documents = DynamoDBDocumentClient.from(dynamodb);
});

afterAll(async () => {
  documents?.destroy();
  await moto?.stop();
});

async function createLedgerTable(): Promise<string> {
  return createTable(dynamodb, `ledger-${randomUUID()}`);
}

async function scanAll(tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const out = await documents.send(
      new ScanCommand({ TableName: tableName, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Every item as JSON, the gzipped snapshot decoded so a key hidden in it would show. */
function dumpItems(items: readonly Item[]): string {
  return items
    .map((item) =>
      JSON.stringify(item, (_, value: unknown) =>
        value instanceof Uint8Array ? gunzipSync(value).toString('utf8') : value,
      ),
    )
    .join('\n');
}

/**
 * An item's size as DynamoDB counts it (attribute names + values; numbers counted generously), enough to
 * show a snapshot fits the 400 KB item limit with room to spare.
 */
function itemBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return 21;
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, entry) => sum + 1 + itemBytes(entry), 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value).reduce(
        (sum, [name, entry]) => sum + 1 + Buffer.byteLength(name, 'utf8') + itemBytes(entry),
        0,
      )
    );
  }
  return 0;
}

describeLedgerContract('DynamoDbLedger on moto', async (now) => {
  const tableName = await createLedgerTable();
  return {
    ledger: new DynamoDbLedger({ client: documents, tableName, now }),
    dump: async () => dumpItems(await scanAll(tableName)),
  };
});

describe('DynamoDbLedger storage on moto', () => {
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/live/secret-key-Size01';
  const key = secret(`sk_live_51LedgerEmulator${'Hn3'.repeat(28)}Tail`);

  it(`stores a ${MAX_SITES}-site snapshot (the cap) in one META item well under 400 KB, with TTL and history keys`, async () => {
    const tableName = await createLedgerTable();
    const ledger = new DynamoDbLedger({
      client: documents,
      tableName,
      retentionDays: 30,
      now: () => new Date('2025-06-01T02:00:00.000Z'),
    });
    const sites = largeFleet();
    await ledger.begin({
      secretArn: arn,
      token: 'tok-size',
      trigger: 'staged',
      maskedKey: maskKey(key),
      keyFingerprint: fingerprint(key),
      sites,
      sources: ['/stripe/live/sites/'],
    });
    const { Item: meta } = await documents.send(
      new GetCommand({
        TableName: tableName,
        Key: { [SCHEMA.partitionKey]: `ROTATION#${arn}#tok-size`, [SCHEMA.sortKey]: 'META' },
      }),
    );
    expect(meta).toBeDefined();
    expect(meta?.siteCount).toBe(MAX_SITES);
    expect(meta?.snapshot).toBeInstanceOf(Uint8Array);
    expect(itemBytes(meta)).toBeLessThan(200 * 1024);
    expect(meta?.[SCHEMA.timeToLiveAttribute]).toBe(Date.parse('2025-07-01T02:00:00.000Z') / 1000);
    expect(meta?.[SCHEMA.historyIndex.partitionKey]).toBe(`HISTORY#${arn}`);
    expect(meta?.[SCHEMA.historyIndex.sortKey]).toBe('2025-06-01T02:00:00.000Z#tok-size');
    // Exactly one item: the snapshot is not spread over several.
    expect(await scanAll(tableName)).toHaveLength(1);
  });

  it('writes a full fleet of results in batches and keeps TTL off what sites hold', async () => {
    const tableName = await createLedgerTable();
    const ledger = new DynamoDbLedger({ client: documents, tableName, maxBufferMs: 60_000 });
    const id = { secretArn: arn, token: 'tok-batches' };
    const sites = largeFleet(120);
    await ledger.begin({
      ...id,
      trigger: 'staged',
      maskedKey: maskKey(key),
      keyFingerprint: fingerprint(key),
      sites,
      sources: ['/stripe/live/sites'],
    });
    const confirmedAt = '2025-06-01T02:30:00.000Z';
    await Promise.all(
      sites.map((site) =>
        ledger.saveSite(
          id,
          { site, status: 'confirmed', outcome: 'confirmed', attempts: 1, confirmedAt },
          {
            site,
            maskedKey: maskKey(key),
            keyFingerprint: fingerprint(key),
            versionId: id.token,
            confirmedAt,
          },
        ),
      ),
    );
    await ledger.flush();
    expect((await ledger.sites(id)).every((s) => s.status === 'confirmed')).toBe(true);
    expect(await ledger.fleet(arn)).toHaveLength(120);
    const items = await scanAll(tableName);
    const fleetItems = items.filter((item) => item[SCHEMA.partitionKey] === `FLEET#${arn}`);
    const siteItems = items.filter((item) => item[SCHEMA.partitionKey] === `ROTATION#${arn}#tok-batches`);
    expect(fleetItems).toHaveLength(120);
    expect(fleetItems.some((item) => SCHEMA.timeToLiveAttribute in item)).toBe(false);
    expect(siteItems).toHaveLength(121);
    expect(siteItems.every((item) => typeof item[SCHEMA.timeToLiveAttribute] === 'number')).toBe(true);
  });

  it('fails loudly, naming the table, when the table does not exist', async () => {
    const ledger = new DynamoDbLedger({ client: documents, tableName: 'ledger-missing-table' });
    const error = await rejection(ledger.get({ secretArn: arn, token: 'tok-missing' }));
    expect(error.message).toMatch(/ledger-missing-table.*ResourceNotFoundException/);
    expect(error.cause).toHaveProperty('name', 'ResourceNotFoundException');
  });
});
