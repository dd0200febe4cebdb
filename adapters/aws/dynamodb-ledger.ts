/**
 * The propagation ledger in one DynamoDB table: the RotationLedger port over the item layout of
 * ledger-items.ts. Site results and what sites hold go through the write-behind batch writer
 * (batch-writer.ts); reads (`sites`, `fleet`) and `update` write its buffer first. With the writer's
 * BatchWriteItem, the calls made here (GetItem, PutItem, UpdateItem, Query) are exactly what the
 * construct's RecordLedger statement grants.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  BackoffPolicy,
  FleetSiteRecord,
  RotationId,
  RotationLedger,
  RotationPatch,
  RotationRecord,
  RotationStart,
  SiteRecord,
} from '../../core/index.js';
import { RotationStateError, LEDGER_TABLE_SCHEMA as SCHEMA } from '../../core/index.js';
import { BatchWriter, MAX_BATCH_ITEMS } from './batch-writer.js';
import {
  encodeSnapshot,
  fleetPk,
  historyPk,
  holdingFromItem,
  holdingItem,
  type Item,
  metaKey,
  rotationFromItem,
  rotationItem,
  rotationPk,
  SITE_PREFIX,
  siteFromItem,
  siteItem,
  stepMarkValue,
} from './ledger-items.js';

export interface DynamoDbLedgerOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long rotation items live (DynamoDB TTL); what a site holds never expires. @default 400 */
  readonly retentionDays?: number;
  /** Buffered items that trigger a write (chunks of at most 25, BatchWriteItem's limit). @default 25 */
  readonly batchSize?: number;
  /** Longest time a buffered result waits before it is written. @default 500 */
  readonly maxBufferMs?: number;
  /** BatchWriteItem calls per chunk while DynamoDB leaves items unprocessed. @default 5 */
  readonly maxWriteAttempts?: number;
  /** Base of the backoff between those calls (full jitter, capped at 1 s). @default 50 */
  readonly retryBaseMs?: number;
  /** Clock for createdAt / updatedAt / TTL. @default () => new Date() */
  readonly now?: () => Date;
}

/** Caps the wait between BatchWriteItem calls; the defaults (5 calls, base 50 ms) stay well below it. */
const WRITE_RETRY_CAP_MS = 1000;
/** Snapshots are cached to check saveSite without a read per result; a few rotations are ever live at once. */
const CACHED_SNAPSHOTS = 16;

export class DynamoDbLedger implements RotationLedger {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionSeconds: number;
  readonly #now: () => Date;
  readonly #writer: BatchWriter;
  readonly #snapshots = new Map<string, ReadonlySet<string>>();

  constructor(options: DynamoDbLedgerOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#retentionSeconds = Math.round((options.retentionDays ?? 400) * 86_400);
    this.#now = options.now ?? (() => new Date());
    const backoff: BackoffPolicy = { baseMs: options.retryBaseMs ?? 50, capMs: WRITE_RETRY_CAP_MS };
    this.#writer = new BatchWriter({
      client: options.client,
      tableName: options.tableName,
      batchSize: options.batchSize ?? MAX_BATCH_ITEMS,
      maxBufferMs: options.maxBufferMs ?? 500,
      maxAttempts: options.maxWriteAttempts ?? 5,
      backoff,
    });
  }

  async begin(start: RotationStart): Promise<RotationRecord> {
    const snapshot = encodeSnapshot(start.sites, this.#table);
    const at = this.#now();
    const record: RotationRecord = {
      secretArn: start.secretArn,
      token: start.token,
      trigger: start.trigger,
      maskedKey: start.maskedKey,
      keyFingerprint: start.keyFingerprint,
      sites: [...start.sites],
      sources: [...start.sources],
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
      outcome: 'in_progress',
      steps: {},
    };
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: rotationItem(record, snapshot, this.#expiresAt(at)),
          // The snapshot is taken once: a replayed createSecret gets the first one back.
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': SCHEMA.partitionKey },
        }),
      );
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') {
        throw this.#failed(`recording the start of rotation ${describeId(start)}`, error);
      }
      const existing = await this.get(start);
      if (!existing) {
        throw new RotationStateError(
          `Rotation ${describeId(start)} exists in the ledger table ${this.#table} yet cannot be read back`,
        );
      }
      return existing;
    }
    this.#remember(start, record.sites);
    return record;
  }

  async get(id: RotationId): Promise<RotationRecord | undefined> {
    let item: Item | undefined;
    try {
      const out = await this.#client.send(
        new GetCommand({ TableName: this.#table, Key: metaKey(id), ConsistentRead: true }),
      );
      item = out.Item;
    } catch (error) {
      throw this.#failed(`reading rotation ${describeId(id)}`, error, 'read');
    }
    if (!item) return undefined;
    const record = rotationFromItem(item, this.#table);
    this.#remember(id, record.sites);
    return record;
  }

  async sites(id: RotationId): Promise<readonly SiteRecord[]> {
    // Read-your-writes, as the in-memory ledger: results still buffered are written first.
    await this.flush();
    const record = await this.get(id);
    if (!record) throw noRecord(id);
    const items = await this.#query(`the sites of rotation ${describeId(id)}`, {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :site)',
      ExpressionAttributeNames: { '#pk': SCHEMA.partitionKey, '#sk': SCHEMA.sortKey },
      ExpressionAttributeValues: { ':pk': rotationPk(id), ':site': SITE_PREFIX },
      ConsistentRead: true,
    });
    const recorded = new Map(
      items.map((item) => {
        const site = siteFromItem(item, this.#table);
        return [site.site, site];
      }),
    );
    return record.sites.map((site) => recorded.get(site) ?? { site, status: 'pending', attempts: 0 });
  }

  async saveSite(id: RotationId, record: SiteRecord, holds?: FleetSiteRecord): Promise<void> {
    this.#writer.throwFailure();
    if (holds && holds.site !== record.site) {
      throw new RotationStateError(
        `The result for ${record.site} came with what ${holds.site} holds: refusing to mix them`,
      );
    }
    const members = await this.#snapshot(id);
    if (!members.has(record.site)) {
      throw new RotationStateError(
        `Site ${record.site} is not in the site-list snapshot of rotation ${describeId(id)}: ` +
          'a rotation records results only for the sites it started with',
      );
    }
    const now = this.#now();
    await this.#writer.put([
      siteItem(id, record, now.toISOString(), this.#expiresAt(now)),
      ...(holds ? [holdingItem(id.secretArn, holds)] : []),
    ]);
  }

  async recordHoldings(secretArn: string, holdings: readonly FleetSiteRecord[]): Promise<void> {
    await this.#writer.put(holdings.map((holding) => holdingItem(secretArn, holding)));
    await this.flush();
  }

  flush(): Promise<void> {
    return this.#writer.flush();
  }

  async update(id: RotationId, patch: RotationPatch): Promise<void> {
    // Marks and counts describe results: those results must be stored first.
    await this.flush();
    const names: Record<string, string> = { '#pk': SCHEMA.partitionKey, '#updatedAt': 'updatedAt' };
    const values: Item = { ':updatedAt': this.#now().toISOString() };
    const sets = ['#updatedAt = :updatedAt'];
    if (patch.step) {
      Object.assign(names, { '#steps': 'steps', '#step': patch.step.name });
      values[':mark'] = stepMarkValue(patch.step.mark);
      sets.push('#steps.#step = :mark');
    }
    for (const field of ['outcome', 'counts', 'finishedAt', 'stripeAccount'] as const) {
      if (patch[field] === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = patch[field];
      sets.push(`#${field} = :${field}`);
    }
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: metaKey(id),
          UpdateExpression: `SET ${sets.join(', ')}`,
          // Never create a partial record: a rotation exists only through begin.
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') throw noRecord(id);
      throw this.#failed(`updating rotation ${describeId(id)}`, error);
    }
  }

  async history(secretArn: string, limit: number): Promise<readonly RotationRecord[]> {
    if (limit < 1) return [];
    // A page stops at 1 MB (two or three large snapshots): keep reading until `limit` records.
    const items = await this.#query(
      `the rotation history of ${secretArn}`,
      {
        IndexName: SCHEMA.historyIndex.name,
        KeyConditionExpression: '#g = :g',
        ExpressionAttributeNames: { '#g': SCHEMA.historyIndex.partitionKey },
        ExpressionAttributeValues: { ':g': historyPk(secretArn) },
        ScanIndexForward: false,
        Limit: limit,
      },
      limit,
    );
    return items.slice(0, limit).map((item) => rotationFromItem(item, this.#table));
  }

  async fleet(secretArn: string): Promise<readonly FleetSiteRecord[]> {
    await this.flush();
    const items = await this.#query(`what the sites of ${secretArn} hold`, {
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': SCHEMA.partitionKey },
      ExpressionAttributeValues: { ':pk': fleetPk(secretArn) },
      ConsistentRead: true,
    });
    return items.map((item) => holdingFromItem(item, this.#table));
  }

  /** Every page of a query, or only until `enough` items were read. */
  async #query(
    what: string,
    input: Omit<QueryCommandInput, 'TableName'>,
    enough = Number.POSITIVE_INFINITY,
  ): Promise<Item[]> {
    const items: Item[] = [];
    try {
      for await (const page of paginateQuery(
        { client: this.#client },
        { ...input, TableName: this.#table },
      )) {
        items.push(...(page.Items ?? []));
        if (items.length >= enough) break;
      }
    } catch (error) {
      throw this.#failed(`reading ${what}`, error, 'read');
    }
    return items;
  }

  async #snapshot(id: RotationId): Promise<ReadonlySet<string>> {
    const cached = this.#snapshots.get(rotationPk(id));
    if (cached) return cached;
    const record = await this.get(id);
    if (!record) throw noRecord(id);
    return this.#remember(id, record.sites);
  }

  #remember(id: RotationId, sites: readonly string[]): ReadonlySet<string> {
    const key = rotationPk(id);
    const known = this.#snapshots.get(key);
    if (known) return known;
    const members = new Set(sites);
    this.#snapshots.set(key, members);
    for (const oldest of this.#snapshots.keys()) {
      if (this.#snapshots.size <= CACHED_SNAPSHOTS) break;
      this.#snapshots.delete(oldest);
    }
    return members;
  }

  #expiresAt(from: Date): number {
    return Math.floor(from.getTime() / 1000) + this.#retentionSeconds;
  }

  #failed(what: string, cause: unknown, call: 'read' | 'write' = 'write'): Error {
    // A read refused as invalid (ValidationException), or of a missing table or index (DynamoDB and its
    // emulators differ: ResourceNotFoundException), means a table of another schema: say what the ledger
    // needs. A write can be refused for other reasons (an item too large), so it gets no such hint.
    const schema =
      call === 'read' && SCHEMA_ERRORS.has(errorName(cause) ?? '')
        ? ` (the ledger needs a table with string keys ${SCHEMA.partitionKey} and ${SCHEMA.sortKey} and a global ` +
          `secondary index ${SCHEMA.historyIndex.name} on ${SCHEMA.historyIndex.partitionKey}, ` +
          `${SCHEMA.historyIndex.sortKey}, projection ALL)`
        : '';
    return new Error(
      `The ledger (DynamoDB table ${this.#table}) failed ${what}: ${errorName(cause) ?? 'error'}: ${errorMessage(cause)}${schema}`,
      { cause },
    );
  }
}

const SCHEMA_ERRORS = new Set(['ValidationException', 'ResourceNotFoundException']);

function describeId({ secretArn, token }: RotationId): string {
  return `${token} of ${secretArn}`;
}

function noRecord(id: RotationId): RotationStateError {
  return new RotationStateError(
    `The ledger has no record of rotation ${describeId(id)}: createSecret has not run for it`,
  );
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
