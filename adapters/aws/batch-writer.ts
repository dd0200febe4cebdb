/**
 * The ledger's write-behind buffer: items are kept (a newer item replaces a buffered one with the same
 * key) and written with BatchWriteItem, in chunks of at most 25, once `batchSize` items wait, after
 * `maxBufferMs`, or on flush. Items DynamoDB leaves unprocessed (throttling) are sent again, waiting
 * between calls through the core's one retry primitive (`retrying`), up to `maxAttempts` calls per chunk.
 *
 * Writes run one after another. A failed write is kept and thrown, once, by the next put, flush or
 * throwFailure: a timer-triggered write has no caller of its own to fail.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type BackoffPolicy,
  RETRY,
  type RetryPolicy,
  retrying,
  LEDGER_TABLE_SCHEMA as SCHEMA,
} from '../../core/index.js';
import type { Item } from './ledger-items.js';

/** BatchWriteItem accepts at most 25 put requests. */
export const MAX_BATCH_ITEMS = 25;

export interface BatchWriterOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Buffered items that trigger a write. */
  readonly batchSize: number;
  /** Longest time a buffered item waits before it is written. */
  readonly maxBufferMs: number;
  /** BatchWriteItem calls per chunk while DynamoDB leaves items unprocessed. */
  readonly maxAttempts: number;
  /** The wait between those calls. */
  readonly backoff: BackoffPolicy;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<unknown>;
}

interface WriteFailure {
  readonly unwritten: number;
  readonly reason: string;
  readonly cause: unknown;
}

export class BatchWriter {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #batchSize: number;
  readonly #maxBufferMs: number;
  readonly #retryPolicy: RetryPolicy;

  /** Items waiting to be written, by key. */
  readonly #buffer = new Map<string, Item>();
  #timer: NodeJS.Timeout | undefined;
  /** The chain of writes; it never rejects (failures go to #failure). */
  #writing: Promise<void> = Promise.resolve();
  /** A write that failed and has not been reported yet. */
  #failure: WriteFailure | undefined;

  constructor(options: BatchWriterOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#batchSize = Math.max(1, options.batchSize);
    this.#maxBufferMs = options.maxBufferMs;
    this.#retryPolicy = {
      attempts: Math.max(1, options.maxAttempts),
      backoff: options.backoff,
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    };
  }

  /** Buffers `items`; once `batchSize` items wait, writes them and throws if that (or an earlier) write failed. */
  async put(items: readonly Item[]): Promise<void> {
    for (const item of items) {
      this.#buffer.set(JSON.stringify([item[SCHEMA.partitionKey], item[SCHEMA.sortKey]]), item);
    }
    if (this.#buffer.size >= this.#batchSize) await this.flush();
    else this.#timer ??= setTimeout(() => this.#startWrite(), this.#maxBufferMs).unref();
  }

  /** Writes whatever is buffered and waits for every write; throws a failure not reported yet. */
  async flush(): Promise<void> {
    this.#startWrite();
    await this.#writing;
    this.throwFailure();
  }

  /** Throws the failure of an earlier write, if one is not reported yet (then it is reported). */
  throwFailure(): void {
    const failure = this.#failure;
    if (!failure) return;
    this.#failure = undefined;
    const { cause } = failure;
    const why =
      cause === undefined
        ? ''
        : ` (${cause instanceof Error ? `${cause.name}: ${cause.message}` : `error: ${String(cause)}`})`;
    throw new Error(
      `The ledger (DynamoDB table ${this.#table}) could not store ${failure.unwritten} site result item(s): ` +
        `${failure.reason}${why}. Those sites are not recorded as confirmed and will be pushed again.`,
      { cause },
    );
  }

  /** Moves the buffer into the write chain; a failure is kept for the next caller to report. */
  #startWrite(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.size === 0) return;
    const items = [...this.#buffer.values()];
    this.#buffer.clear();
    this.#writing = this.#writing
      .then(() => this.#writeAll(items))
      .catch((error: unknown) => ({ unwritten: items.length, reason: 'the write failed', cause: error }))
      .then((failure) => {
        if (!failure) return;
        this.#failure = this.#failure
          ? { ...this.#failure, unwritten: this.#failure.unwritten + failure.unwritten }
          : failure;
      });
  }

  /** Stops at the first chunk that cannot be written, counting it and every chunk after it as unwritten. */
  async #writeAll(items: readonly Item[]): Promise<WriteFailure | undefined> {
    for (let start = 0; start < items.length; start += MAX_BATCH_ITEMS) {
      let requests = items.slice(start, start + MAX_BATCH_ITEMS).map((Item) => ({ PutRequest: { Item } }));
      const rest = items.length - start - requests.length;
      try {
        const { attempts } = await retrying(
          this.#retryPolicy,
          async () => {
            const out = await this.#client.send(
              new BatchWriteCommand({ RequestItems: { [this.#table]: requests } }),
            );
            requests = (out.UnprocessedItems?.[this.#table] ?? []).flatMap((request) =>
              request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
            );
          },
          () => (requests.length > 0 ? RETRY : undefined),
        );
        if (requests.length > 0) {
          return {
            unwritten: requests.length + rest,
            reason: `still unprocessed after ${attempts} attempts (the table is throttling writes)`,
            cause: undefined,
          };
        }
      } catch (error) {
        return { unwritten: requests.length + rest, reason: 'BatchWriteItem failed', cause: error };
      }
    }
    return undefined;
  }
}
