import { DynamoDBClient, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchWriter, type BatchWriterOptions } from '../../adapters/aws/batch-writer.js';
import type { Item } from '../../adapters/aws/ledger-items.js';
import { rejection } from '../support/secret-guard.js';

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const TABLE = 'stripe-key-rotator-ledger';

beforeEach(() => {
  ddb.reset();
  ddb.on(BatchWriteCommand).resolves({});
});
afterAll(() => ddb.restore());

/** Waits are recorded, not slept: the delays themselves are under test. */
function writer(options: Partial<BatchWriterOptions> = {}): { writer: BatchWriter; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    writer: new BatchWriter({
      client,
      tableName: TABLE,
      batchSize: 25,
      maxBufferMs: 60_000,
      maxAttempts: 5,
      backoff: { baseMs: 50, capMs: 1000 },
      random: () => 1,
      sleep: async (ms) => {
        waits.push(ms);
      },
      ...options,
    }),
  };
}

function items(count: number, from = 0): Item[] {
  return Array.from({ length: count }, (_, i) => ({
    pk: 'FLEET#arn',
    sk: `SITE#https://site-${from + i}.example.fr`,
    site: `https://site-${from + i}.example.fr`,
  }));
}

function sentSites(): string[][] {
  return ddb
    .commandCalls(BatchWriteCommand)
    .map((call) =>
      (call.args[0].input.RequestItems?.[TABLE] ?? []).map((r) => String(r.PutRequest?.Item?.site)),
    );
}

/** DynamoDB leaves the last `count` requests of each of the first `rounds` calls unprocessed. */
function leavesUnprocessed(count: number, rounds = Number.POSITIVE_INFINITY): void {
  let calls = 0;
  ddb.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => {
    calls += 1;
    const requests = input.RequestItems?.[TABLE] ?? [];
    return calls <= rounds ? { UnprocessedItems: { [TABLE]: requests.slice(-count) } } : {};
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

describe('BatchWriter buffering', () => {
  it('writes nothing until batchSize items wait, then writes them in one BatchWriteItem', async () => {
    const { writer: w } = writer({ batchSize: 3 });
    await w.put(items(2));
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    await w.put(items(1, 2));
    expect(sentSites()).toEqual([items(3).map((item) => item.site)]);
  });

  it('keeps only the latest buffered item of a key', async () => {
    const { writer: w } = writer();
    const [first = {}] = items(1);
    await w.put([{ ...first, attempts: 1 }]);
    await w.put([{ ...first, attempts: 2 }]);
    await w.flush();
    const requests = ddb.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.[TABLE];
    expect(requests?.map((r) => r.PutRequest?.Item?.attempts)).toEqual([2]);
  });

  it('splits a flush into BatchWriteItem calls of at most 25 put requests, in order', async () => {
    const { writer: w } = writer({ batchSize: 100 });
    await w.put(items(60));
    await w.flush();
    expect(sentSites().map((chunk) => chunk.length)).toEqual([25, 25, 10]);
    expect(sentSites().flat()).toEqual(items(60).map((item) => item.site));
  });

  it('writes what waits once maxBufferMs passed, without a flush', async () => {
    const { writer: w } = writer({ maxBufferMs: 10 });
    await w.put(items(1));
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    await vi.waitFor(() => expect(sentSites()).toEqual([[items(1)[0]?.site]]), {
      timeout: 2000,
      interval: 5,
    });
  });

  it('sends no request when a flush finds nothing buffered', async () => {
    await writer().writer.flush();
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
  });
});

describe('BatchWriter retries of unprocessed items', () => {
  it('re-sends only what DynamoDB left unprocessed until every item is written', async () => {
    leavesUnprocessed(2, 2);
    const { writer: w } = writer();
    await w.put(items(5));
    await w.flush();
    expect(sentSites()).toEqual([
      items(5).map((item) => item.site),
      items(2, 3).map((item) => item.site),
      items(2, 3).map((item) => item.site),
    ]);
  });

  it('waits through the retry policy between calls: full jitter on a doubling base', async () => {
    leavesUnprocessed(1, 3);
    const { writer: w, waits } = writer({ backoff: { baseMs: 40, capMs: 10_000 }, random: () => 0.5 });
    await w.put(items(2));
    await w.flush();
    // Half (random 0.5) of 40, 80, 160: no wait before the first call.
    expect(waits).toEqual([20, 40, 80]);
  });

  it('never waits longer than the policy’s cap, however many attempts are allowed', async () => {
    leavesUnprocessed(1);
    const { writer: w, waits } = writer({ maxAttempts: 8, backoff: { baseMs: 50, capMs: 300 } });
    await w.put(items(2));
    await rejection(w.flush());
    expect(waits).toEqual([50, 100, 200, 300, 300, 300, 300]);
  });

  it('gives up after maxAttempts calls, counting the items still unprocessed', async () => {
    leavesUnprocessed(3);
    const { writer: w } = writer({ maxAttempts: 3 });
    await w.put(items(4));
    const error = await rejection(w.flush());
    expect(error.message).toBe(
      `The ledger (DynamoDB table ${TABLE}) could not store 3 site result item(s): still unprocessed after 3 ` +
        'attempts (the table is throttling writes). Those sites are not recorded as confirmed and will be pushed again.',
    );
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, 3);
  });
});

describe('BatchWriter failures', () => {
  it('stops at the first chunk that fails, counting it and every later chunk, with the SDK error as cause', async () => {
    ddb.on(BatchWriteCommand).resolvesOnce({}).rejects(throttled());
    const { writer: w } = writer({ batchSize: 100 });
    await w.put(items(60));
    const error = await rejection(w.flush());
    expect(error.message).toContain('could not store 35 site result item(s): BatchWriteItem failed');
    expect(error.message).toContain('(ProvisionedThroughputExceededException: The level of configured');
    expect(error.cause).toBeInstanceOf(DynamoDBServiceException);
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, 2);
  });

  it('throws a failure from the put whose item filled the batch', async () => {
    ddb.on(BatchWriteCommand).rejects(throttled());
    const { writer: w } = writer({ batchSize: 2 });
    await w.put(items(1));
    const error = await rejection(w.put(items(1, 1)));
    expect(error.message).toContain('could not store 2 site result item(s)');
  });

  it('reports a failed timer-triggered write once, from the next caller, adding up failed writes', async () => {
    ddb.on(BatchWriteCommand).rejects(throttled());
    const { writer: w } = writer({ maxBufferMs: 5 });
    await w.put(items(1));
    await vi.waitFor(() => expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, 1), {
      timeout: 2000,
      interval: 5,
    });
    await w.put(items(2, 1));
    const error = await rejection(w.flush());
    expect(error.message).toContain('could not store 3 site result item(s)');
    expect(() => w.throwFailure()).not.toThrow();
    ddb.on(BatchWriteCommand).resolves({});
    await w.put(items(1, 3));
    await expect(w.flush()).resolves.toBeUndefined();
  });
});
