import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbLedger, type DynamoDbLedgerOptions } from '../../adapters/aws/dynamodb-ledger.js';
import { MAX_SITE_URL_BYTES } from '../../adapters/aws/ledger-items.js';
import { ConfigurationError, RotationStateError } from '../../core/errors.js';
import type { RotationId, RotationStart } from '../../core/ports.js';
import { fingerprint, maskKey } from '../../core/rules/keys.js';
import { rejection, secret } from '../support/secret-guard.js';

type Item = Record<string, NativeAttributeValue>;

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const TABLE = 'stripe-key-rotator-ledger';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/live/secret-key-Unit01';
const KEY = secret(`sk_live_51LedgerUnit${'Rt5'.repeat(28)}Tail`);
const ID: RotationId = { secretArn: ARN, token: 'tok-unit' };
const NOW = new Date('2025-06-01T02:00:00.000Z');

beforeEach(() => {
  ddb.reset();
  ddb.on(PutCommand).resolves({});
  ddb.on(BatchWriteCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
});
afterAll(() => ddb.restore());

function fleetOf(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `https://site-${String(i).padStart(3, '0')}.example.fr`);
}

function start(sites: readonly string[], overrides: Partial<RotationStart> = {}): RotationStart {
  return {
    ...ID,
    trigger: 'staged',
    maskedKey: maskKey(KEY),
    keyFingerprint: fingerprint(KEY),
    sites,
    sources: ['/stripe/live/sites'],
    ...overrides,
  };
}

function ledgerWith(options: Partial<DynamoDbLedgerOptions> = {}): DynamoDbLedger {
  return new DynamoDbLedger({ client, tableName: TABLE, now: () => NOW, ...options });
}

/** A ledger that has begun ID over `sites` (so it knows the snapshot), with the mock's history cleared. */
async function begun(sites: readonly string[], options: Partial<DynamoDbLedgerOptions> = {}) {
  const ledger = ledgerWith(options);
  await ledger.begin(start(sites));
  const meta = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
  ddb.resetHistory();
  return { ledger, meta };
}

function confirmed(site: string) {
  return { site, status: 'confirmed' as const, outcome: 'confirmed' as const, attempts: 1 };
}

function holds(site: string) {
  return {
    site,
    maskedKey: maskKey(KEY),
    keyFingerprint: fingerprint(KEY),
    versionId: ID.token,
    confirmedAt: '2025-06-01T02:01:00.000Z',
  };
}

function batchSizes(): number[] {
  return ddb
    .commandCalls(BatchWriteCommand)
    .map((call) => call.args[0].input.RequestItems?.[TABLE]?.length ?? 0);
}

/** A request DynamoDB refuses as invalid (a key or index the table lacks, an item too large). */
function invalid(message: string): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: 'ValidationException',
    message,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

function throttled(): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: 'ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

describe('DynamoDbLedger.begin', () => {
  it('is one conditional PutItem holding the gzipped snapshot, its size, the TTL and the history keys', async () => {
    const sites = fleetOf(3);
    const record = await ledgerWith({ retentionDays: 10 }).begin(start(sites));
    expect(record).toMatchObject({ sites, outcome: 'in_progress', createdAt: NOW.toISOString() });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    const input = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe('attribute_not_exists(#pk)');
    expect(input?.Item).toMatchObject({
      pk: `ROTATION#${ARN}#tok-unit`,
      sk: 'META',
      gsi1pk: `HISTORY#${ARN}`,
      gsi1sk: `${NOW.toISOString()}#tok-unit`,
      expiresAt: NOW.getTime() / 1000 + 10 * 86_400,
      siteCount: 3,
      maskedKey: maskKey(KEY),
      steps: {},
    });
    const snapshot = input?.Item?.snapshot;
    expect(snapshot).toBeInstanceOf(Uint8Array);
    expect(JSON.parse(gunzipSync(snapshot).toString('utf8'))).toEqual(sites);
    expect(input?.Item).not.toHaveProperty('sites');
  });

  it('returns the stored record when the conditional put finds one: the first snapshot wins', async () => {
    const { meta } = await begun(fleetOf(3));
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    ddb.on(GetCommand).resolves({ Item: meta });
    const again = await ledgerWith().begin(
      start(['https://other.example.org'], { trigger: 'repropagation' }),
    );
    expect(again.sites).toEqual(fleetOf(3));
    expect(again.trigger).toBe('staged');
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { ConsistentRead: true });
  });

  it('refuses a snapshot too large for one item, before writing anything', async () => {
    // Random paths barely compress: 10 000 of them cannot fit in 400 KB.
    const sites = Array.from(
      { length: 10_000 },
      (_, i) => `https://s${i}.example.com/${randomBytes(48).toString('hex')}`,
    );
    const error = await rejection(ledgerWith().begin(start(sites)));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(/snapshot of 10000 sites compresses to \d+ bytes/);
    expect(error.message).toContain(TABLE);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });

  it('refuses a site URL longer than a DynamoDB sort key can hold', async () => {
    const long = `https://long.example.com/${'p'.repeat(MAX_SITE_URL_BYTES)}`;
    const error = await rejection(ledgerWith().begin(start([...fleetOf(2), long])));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('https://long.example.com/ppp');
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });

  it('names the table and keeps the SDK error as cause when the put fails', async () => {
    ddb.on(PutCommand).rejects(throttled());
    const error = await rejection(ledgerWith().begin(start(fleetOf(2))));
    expect(error.message).toContain(TABLE);
    expect(error.message).toContain('ProvisionedThroughputExceededException');
    expect(error.cause).toBeInstanceOf(DynamoDBServiceException);
  });
});

describe('DynamoDbLedger writing site results', () => {
  it('buffers results and writes them with one BatchWriteItem once batchSize items wait', async () => {
    const sites = fleetOf(30);
    const { ledger } = await begun(sites, { maxBufferMs: 60_000 });
    for (const site of sites.slice(0, 24)) await ledger.saveSite(ID, confirmed(site));
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    await ledger.saveSite(ID, confirmed(sites[24] ?? ''));
    expect(batchSizes()).toEqual([25]);
    for (const site of sites.slice(25)) await ledger.saveSite(ID, confirmed(site));
    await ledger.flush();
    expect(batchSizes()).toEqual([25, 5]);
  });

  it('splits what is buffered into BatchWriteItem calls of at most 25 put requests', async () => {
    const sites = fleetOf(30);
    const { ledger } = await begun(sites, { batchSize: 100, maxBufferMs: 60_000 });
    // A confirmed result with what the site now holds is two items: 60 in all.
    for (const site of sites) await ledger.saveSite(ID, confirmed(site), holds(site));
    await ledger.flush();
    expect(batchSizes()).toEqual([25, 25, 10]);
    const written = ddb
      .commandCalls(BatchWriteCommand)
      .flatMap((call) => call.args[0].input.RequestItems?.[TABLE] ?? [])
      .map((request) => `${request.PutRequest?.Item?.pk} ${request.PutRequest?.Item?.sk}`);
    expect(written).toContain(`FLEET#${ARN} SITE#${sites[7]}`);
    expect(written).toContain(`ROTATION#${ARN}#tok-unit SITE#${sites[7]}`);
  });

  it('writes buffered results after maxBufferMs without waiting for a flush', async () => {
    const { ledger } = await begun(fleetOf(3), { maxBufferMs: 20 });
    await ledger.saveSite(ID, confirmed(fleetOf(1)[0] ?? ''));
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    await vi.waitFor(() => expect(batchSizes()).toEqual([1]), { timeout: 2000, interval: 10 });
  });

  it('writes a site saved twice before a flush once, with its latest result', async () => {
    const [site = ''] = fleetOf(1);
    const { ledger } = await begun([site], { maxBufferMs: 60_000 });
    await ledger.saveSite(ID, { site, status: 'failed', outcome: 'timeout', attempts: 2 });
    await ledger.saveSite(ID, { site, status: 'confirmed', outcome: 'confirmed', attempts: 3 });
    await ledger.flush();
    const requests = ddb.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.[TABLE];
    expect(requests).toHaveLength(1);
    expect(requests?.[0]?.PutRequest?.Item).toMatchObject({ status: 'confirmed', attempts: 3 });
  });

  it('re-sends UnprocessedItems with backoff until DynamoDB has written them all', async () => {
    const sites = fleetOf(5);
    const { ledger } = await begun(sites, { maxBufferMs: 60_000, retryBaseMs: 5 });
    let calls = 0;
    ddb.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => {
      calls += 1;
      const requests = input.RequestItems?.[TABLE] ?? [];
      // Two throttled rounds, each leaving the last two requests unprocessed.
      return calls <= 2 ? { UnprocessedItems: { [TABLE]: requests.slice(-2) } } : {};
    });
    for (const site of sites) await ledger.saveSite(ID, confirmed(site));
    await ledger.flush();
    expect(batchSizes()).toEqual([5, 2, 2]);
    const lastItems = ddb.commandCalls(BatchWriteCommand)[2]?.args[0].input.RequestItems?.[TABLE];
    expect(lastItems?.map((request) => request.PutRequest?.Item?.site)).toEqual(sites.slice(-2));
  });

  it('gives up after maxWriteAttempts with an error naming the table and how many items were not written', async () => {
    const sites = fleetOf(4);
    const { ledger } = await begun(sites, { maxBufferMs: 60_000, maxWriteAttempts: 3, retryBaseMs: 1 });
    ddb.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => ({
      UnprocessedItems: { [TABLE]: (input.RequestItems?.[TABLE] ?? []).slice(-3) },
    }));
    for (const site of sites) await ledger.saveSite(ID, confirmed(site));
    const error = await rejection(ledger.flush());
    expect(error.message).toContain(TABLE);
    expect(error.message).toContain('could not store 3 site result item(s)');
    expect(error.message).toContain('after 3 attempts');
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, 3);
  });

  it('surfaces a failed BatchWriteItem from flush, counting every item of the flush, with the SDK error as cause', async () => {
    const sites = fleetOf(30);
    const { ledger } = await begun(sites, { batchSize: 100, maxBufferMs: 60_000 });
    ddb.on(BatchWriteCommand).rejects(throttled());
    for (const site of sites) await ledger.saveSite(ID, confirmed(site));
    const error = await rejection(ledger.flush());
    expect(error.message).toContain(`DynamoDB table ${TABLE}`);
    expect(error.message).toContain('could not store 30 site result item(s)');
    expect(error.cause).toBeInstanceOf(DynamoDBServiceException);
    // The writer stops at the first failed chunk instead of hammering a table that refuses writes.
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, 1);
  });

  it('surfaces a failed write from the saveSite whose result filled the batch', async () => {
    const sites = fleetOf(2);
    const { ledger } = await begun(sites, { batchSize: 2, maxBufferMs: 60_000 });
    ddb.on(BatchWriteCommand).rejects(throttled());
    await ledger.saveSite(ID, confirmed(sites[0] ?? ''));
    const error = await rejection(ledger.saveSite(ID, confirmed(sites[1] ?? '')));
    expect(error.message).toContain('could not store 2 site result item(s)');
  });

  it('reports a failed timer-triggered write from the next call, once', async () => {
    const sites = fleetOf(2);
    const { ledger } = await begun(sites, { maxBufferMs: 10 });
    ddb.on(BatchWriteCommand).rejectsOnce(throttled()).resolves({});
    await ledger.saveSite(ID, confirmed(sites[0] ?? ''));
    await vi.waitFor(() => expect(batchSizes()).toEqual([1]), { timeout: 2000, interval: 5 });
    const error = await rejection(ledger.flush());
    expect(error.message).toContain('could not store 1 site result item(s)');
    await expect(ledger.flush()).resolves.toBeUndefined();
  });

  it('reads the snapshot once to check results of a rotation this instance did not begin', async () => {
    const sites = fleetOf(3);
    const { meta } = await begun(sites);
    ddb.on(GetCommand).resolves({ Item: meta });
    const other = ledgerWith({ maxBufferMs: 60_000 });
    for (const site of sites) await other.saveSite(ID, confirmed(site));
    const error = await rejection(other.saveSite(ID, confirmed('https://outside.example.org')));
    expect(error).toBeInstanceOf(RotationStateError);
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });
});

describe('DynamoDbLedger.recordHoldings', () => {
  it('writes what the sites hold before resolving, without a rotation and without TTL', async () => {
    const ledger = ledgerWith({ maxBufferMs: 60_000 });
    await ledger.recordHoldings(ARN, fleetOf(30).map(holds));
    expect(batchSizes()).toEqual([25, 5]);
    const items = ddb
      .commandCalls(BatchWriteCommand)
      .flatMap((call) => call.args[0].input.RequestItems?.[TABLE] ?? [])
      .map((request) => request.PutRequest?.Item);
    expect(items.every((item) => item?.pk === `FLEET#${ARN}` && !('expiresAt' in item))).toBe(true);
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
  });

  it('throws when the write fails, naming the table', async () => {
    ddb.on(BatchWriteCommand).rejects(throttled());
    const error = await rejection(ledgerWith().recordHoldings(ARN, fleetOf(2).map(holds)));
    expect(error.message).toContain(`DynamoDB table ${TABLE}`);
    expect(error.cause).toBeInstanceOf(DynamoDBServiceException);
  });
});

describe('DynamoDbLedger.update', () => {
  it('writes buffered results first, then one UpdateItem on the META item', async () => {
    const sites = fleetOf(2);
    const { ledger } = await begun(sites, { maxBufferMs: 60_000 });
    await ledger.saveSite(ID, confirmed(sites[0] ?? ''));
    await ledger.update(ID, {
      step: { name: 'setSecret', mark: { startedAt: NOW.toISOString(), status: 'running' } },
      outcome: 'in_progress',
    });
    expect(ddb.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'BatchWriteCommand',
      'UpdateCommand',
    ]);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: { pk: `ROTATION#${ARN}#tok-unit`, sk: 'META' },
      UpdateExpression: 'SET #updatedAt = :updatedAt, #steps.#step = :mark, #outcome = :outcome',
      ConditionExpression: 'attribute_exists(#pk)',
    });
  });

  it('does not update when buffered results could not be written', async () => {
    const sites = fleetOf(2);
    const { ledger } = await begun(sites, { maxBufferMs: 60_000 });
    ddb.on(BatchWriteCommand).rejects(throttled());
    await ledger.saveSite(ID, confirmed(sites[0] ?? ''));
    await rejection(ledger.update(ID, { counts: { confirmed: 1, failed: 0, pending: 1 } }));
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });
});

describe('DynamoDbLedger reads', () => {
  it('pages through the history index, newest first, and stops reading once it has the limit', async () => {
    const { meta } = await begun(fleetOf(2));
    const older: Item = { ...meta, token: 'tok-older', gsi1sk: '2025-05-01T00:00:00.000Z#tok-older' };
    const pages = [
      { Items: [meta ?? {}], LastEvaluatedKey: { pk: 'page-1' } },
      { Items: [older], LastEvaluatedKey: { pk: 'page-2' } },
    ];
    // The SDK paginator sends one input object, changed between pages: copy it as each page is asked for.
    const inputs: QueryCommandInput[] = [];
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      inputs.push(structuredClone(input));
      return pages[inputs.length - 1] ?? {};
    });
    const history = await ledgerWith().history(ARN, 2);
    expect(history.map((record) => record.token)).toEqual(['tok-unit', 'tok-older']);
    expect(history[0]?.sites).toEqual(fleetOf(2));
    // Two records read: page-2's LastEvaluatedKey is not followed.
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).toMatchObject({ IndexName: 'history', ScanIndexForward: false, Limit: 2 });
    expect(inputs[0]?.ExclusiveStartKey).toBeUndefined();
    expect(inputs[1]).toMatchObject({ IndexName: 'history', ExclusiveStartKey: { pk: 'page-1' } });
  });

  it('says which schema the ledger needs when DynamoDB refuses a read as invalid (an adopted table without the history index)', async () => {
    ddb.on(QueryCommand).rejects(invalid('The table does not have the specified index: history'));
    const error = await rejection(ledgerWith().history(ARN, 1));
    expect(error.message).toBe(
      `The ledger (DynamoDB table ${TABLE}) failed reading the rotation history of ${ARN}: ValidationException: ` +
        'The table does not have the specified index: history (the ledger needs a table with string keys pk and sk and a ' +
        'global secondary index history on gsi1pk, gsi1sk, projection ALL)',
    );
    expect(error.cause).toBeInstanceOf(DynamoDBServiceException);
  });

  it('adds no schema hint to a write refused as invalid: a write has other reasons to be', async () => {
    ddb.on(PutCommand).rejects(invalid('Item size has exceeded the maximum allowed size'));
    const error = await rejection(ledgerWith().begin(start(fleetOf(2))));
    expect(error.message).toContain('ValidationException');
    expect(error.message).not.toContain('the ledger needs');
  });

  it('adds no schema hint to other failures', async () => {
    ddb.on(GetCommand).rejects(throttled());
    const error = await rejection(ledgerWith().get(ID));
    expect(error.message).toContain('ProvisionedThroughputExceededException');
    expect(error.message).not.toContain('the ledger needs');
  });

  it('pages through a rotation’s site items on LastEvaluatedKey', async () => {
    const sites = fleetOf(3);
    const { ledger, meta } = await begun(sites);
    ddb.on(GetCommand).resolves({ Item: meta });
    const item = (site: string) => ({
      pk: `ROTATION#${ARN}#tok-unit`,
      sk: `SITE#${site}`,
      ...confirmed(site),
    });
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [item(sites[0] ?? '')], LastEvaluatedKey: { pk: 'next' } })
      .resolvesOnce({ Items: [item(sites[2] ?? '')] });
    const listed = await ledger.sites(ID);
    expect(listed.map((site) => site.status)).toEqual(['confirmed', 'pending', 'confirmed']);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
  });

  it('refuses a malformed stored item with an error naming the table and the item', async () => {
    const { meta } = await begun(fleetOf(2));
    ddb.on(GetCommand).resolves({ Item: { ...meta, outcome: 'exploded' } });
    const error = await rejection(ledgerWith().get(ID));
    expect(error.message).toContain(TABLE);
    expect(error.message).toContain(`ROTATION#${ARN}#tok-unit / META`);
    expect(error.message).toContain('outcome');
  });
});
