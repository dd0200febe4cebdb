/**
 * The propagation ledger in one DynamoDB table. Key schema in ../ledger-schema.ts (shared with the CDK
 * construct): `pk` (S) + `sk` (S), TTL attribute `expiresAt` (epoch seconds), GSI `history` on
 * `gsi1pk` (S) + `gsi1sk` (S), projection ALL. Three kinds of item:
 *
 * - A rotation: `pk = ROTATION#<secretArn>#<token>`, `sk = META`, `gsi1pk = HISTORY#<secretArn>`,
 *   `gsi1sk = <createdAt ISO>#<token>`, expiresAt = createdAt + retention. Holds secretArn, token, trigger,
 *   maskedKey, keyFingerprint, sources, createdAt, updatedAt, outcome, steps (step name → mark), counts,
 *   finishedAt, and the site-list snapshot as gzipped JSON (Binary `snapshot`) with `siteCount`:
 *   10 000 sites take about 60 KB, so `begin` is one conditional PutItem and the snapshot is atomic.
 * - A site in that rotation: same pk, `sk = SITE#<url>`: site, status, outcome, httpStatus, detail,
 *   attempts, latencyMs, confirmedAt, updatedAt; expiresAt = saved + retention.
 * - What a site holds: `pk = FLEET#<secretArn>`, `sk = SITE#<url>`: site, maskedKey, keyFingerprint,
 *   versionId, confirmedAt. No TTL: it stays true until the site confirms another key.
 *
 * Never a key: only its masked form and fingerprint. Site results are buffered and written with
 * BatchWriteItem; reads (`sites`, `fleet`) and `update` write the buffer first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConfigurationError, RotationStateError } from '../errors.js';
import { LEDGER_TABLE_SCHEMA as SCHEMA } from '../ledger-schema.js';
import type {
  FleetSiteRecord,
  RotationId,
  RotationLedger,
  RotationOutcome,
  RotationPatch,
  RotationRecord,
  RotationStart,
  RotationTrigger,
  SiteOutcome,
  SiteRecord,
  SiteStatus,
  StepMark,
} from '../ports.js';

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
  /** Base of the exponential backoff between those calls (full jitter). @default 50 */
  readonly retryBaseMs?: number;
  /** Clock for createdAt / updatedAt / TTL. @default () => new Date() */
  readonly now?: () => Date;
}

type Item = Record<string, NativeAttributeValue>;
type StepName = keyof RotationRecord['steps'];
interface WriteFailure {
  readonly unwritten: number;
  readonly reason: string;
  readonly cause: unknown;
}

const META = 'META';
const SITE_PREFIX = 'SITE#';
/** BatchWriteItem accepts at most 25 put requests. */
const MAX_BATCH_ITEMS = 25;
/** DynamoDB caps items at 400 KB; the rest of META (step marks with error messages) needs room too. */
export const MAX_SNAPSHOT_BYTES = 350_000;
/** DynamoDB sort keys hold at most 1024 bytes, and a site's sort key is `SITE#<url>`. */
export const MAX_SITE_URL_BYTES = 1024 - SITE_PREFIX.length;
/** Snapshots are cached to check saveSite without a read per result; a few rotations are ever live at once. */
const CACHED_SNAPSHOTS = 16;

const TRIGGERS = { staged: true, repropagation: true } satisfies Record<RotationTrigger, true>;
const OUTCOMES = { in_progress: true, failed: true, finished: true } satisfies Record<RotationOutcome, true>;
const STEP_NAMES = {
  createSecret: true,
  setSecret: true,
  testSecret: true,
  finishSecret: true,
} satisfies Record<StepName, true>;
const STEP_STATUSES = { running: true, completed: true, failed: true } satisfies Record<
  StepMark['status'],
  true
>;
const SITE_STATUSES = {
  pending: true,
  confirmed: true,
  failed: true,
  not_attempted: true,
} satisfies Record<SiteStatus, true>;
const SITE_OUTCOMES = {
  confirmed: true,
  unexpected_body: true,
  invalid_secret_format: true,
  invalid_api_key: true,
  endpoint_missing: true,
  redirect: true,
  http_error: true,
  throttled: true,
  server_error: true,
  timeout: true,
  connection_error: true,
  tls_error: true,
  body_too_large: true,
  not_attempted: true,
} satisfies Record<SiteOutcome, true>;

export class DynamoDbLedger implements RotationLedger {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionSeconds: number;
  readonly #batchSize: number;
  readonly #maxBufferMs: number;
  readonly #maxWriteAttempts: number;
  readonly #retryBaseMs: number;
  readonly #now: () => Date;

  /** Items waiting to be written, by key: a newer result for the same item replaces the older one. */
  readonly #buffer = new Map<string, Item>();
  #timer: NodeJS.Timeout | undefined;
  /** Writes run one after another; this never rejects (failures go to #failure). */
  #writing: Promise<void> = Promise.resolve();
  /**
   * A write that failed and has not been reported yet: the next saveSite or flush (also inside update,
   * sites and fleet) throws it, once.
   */
  #failure: WriteFailure | undefined;
  readonly #snapshots = new Map<string, ReadonlySet<string>>();

  constructor(options: DynamoDbLedgerOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#retentionSeconds = Math.round((options.retentionDays ?? 400) * 86_400);
    this.#batchSize = Math.max(1, options.batchSize ?? MAX_BATCH_ITEMS);
    this.#maxBufferMs = options.maxBufferMs ?? 500;
    this.#maxWriteAttempts = Math.max(1, options.maxWriteAttempts ?? 5);
    this.#retryBaseMs = options.retryBaseMs ?? 50;
    this.#now = options.now ?? (() => new Date());
  }

  async begin(start: RotationStart): Promise<RotationRecord> {
    const tooLong = start.sites.find((site) => Buffer.byteLength(site, 'utf8') > MAX_SITE_URL_BYTES);
    if (tooLong !== undefined) {
      throw new ConfigurationError(
        `The site ${tooLong.slice(0, 120)}… is ${Buffer.byteLength(tooLong, 'utf8')} bytes long: the ledger keys ` +
          `sites by URL and DynamoDB keys hold at most ${MAX_SITE_URL_BYTES} bytes of it. Shorten its path.`,
      );
    }
    const snapshot = gzipSync(JSON.stringify(start.sites), { level: zlibConstants.Z_BEST_COMPRESSION });
    if (snapshot.byteLength > MAX_SNAPSHOT_BYTES) {
      throw new ConfigurationError(
        `The site-list snapshot of ${start.sites.length} sites compresses to ${snapshot.byteLength} bytes, more than ` +
          `the ${MAX_SNAPSHOT_BYTES} one ledger item (DynamoDB table ${this.#table}) can hold. Split the fleet into several deployments.`,
      );
    }
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
          Item: {
            secretArn: record.secretArn,
            token: record.token,
            trigger: record.trigger,
            maskedKey: record.maskedKey,
            keyFingerprint: record.keyFingerprint,
            sources: record.sources,
            createdAt: record.createdAt,
            updatedAt: record.updatedAt,
            outcome: record.outcome,
            steps: record.steps,
            [SCHEMA.partitionKey]: rotationPk(start),
            [SCHEMA.sortKey]: META,
            [SCHEMA.historyIndex.partitionKey]: historyPk(start.secretArn),
            [SCHEMA.historyIndex.sortKey]: `${record.createdAt}#${start.token}`,
            [SCHEMA.timeToLiveAttribute]: this.#expiresAt(at),
            snapshot,
            siteCount: start.sites.length,
          },
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
        new GetCommand({
          TableName: this.#table,
          Key: { [SCHEMA.partitionKey]: rotationPk(id), [SCHEMA.sortKey]: META },
          ConsistentRead: true,
        }),
      );
      item = out.Item;
    } catch (error) {
      throw this.#failed(`reading rotation ${describeId(id)}`, error);
    }
    if (!item) return undefined;
    const record = this.#rotationFromItem(item);
    this.#remember(id, record.sites);
    return record;
  }

  async sites(id: RotationId): Promise<readonly SiteRecord[]> {
    // Read-your-writes, as the in-memory ledger: results still buffered are written first.
    await this.flush();
    const record = await this.get(id);
    if (!record) throw noRecord(id);
    const items = await this.#queryAll(`the sites of rotation ${describeId(id)}`, {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :site)',
      ExpressionAttributeNames: { '#pk': SCHEMA.partitionKey, '#sk': SCHEMA.sortKey },
      ExpressionAttributeValues: { ':pk': rotationPk(id), ':site': SITE_PREFIX },
      ConsistentRead: true,
    });
    const recorded = new Map(
      items.map((item) => {
        const site = this.#siteFromItem(item);
        return [site.site, site];
      }),
    );
    return record.sites.map((site) => recorded.get(site) ?? { site, status: 'pending', attempts: 0 });
  }

  async saveSite(id: RotationId, record: SiteRecord, holds?: FleetSiteRecord): Promise<void> {
    this.#reportFailure();
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
    this.#enqueue(
      compact({
        [SCHEMA.partitionKey]: rotationPk(id),
        [SCHEMA.sortKey]: `${SITE_PREFIX}${record.site}`,
        [SCHEMA.timeToLiveAttribute]: this.#expiresAt(now),
        site: record.site,
        status: record.status,
        outcome: record.outcome,
        httpStatus: record.httpStatus,
        detail: record.detail,
        attempts: record.attempts,
        latencyMs: record.latencyMs,
        confirmedAt: record.confirmedAt,
        updatedAt: record.updatedAt ?? now.toISOString(),
      }),
    );
    if (holds) {
      this.#enqueue({
        [SCHEMA.partitionKey]: fleetPk(id.secretArn),
        [SCHEMA.sortKey]: `${SITE_PREFIX}${holds.site}`,
        site: holds.site,
        maskedKey: holds.maskedKey,
        keyFingerprint: holds.keyFingerprint,
        versionId: holds.versionId,
        confirmedAt: holds.confirmedAt,
      });
    }
    if (this.#buffer.size >= this.#batchSize) await this.flush();
    else this.#timer ??= setTimeout(() => this.#startWrite(), this.#maxBufferMs).unref();
  }

  async flush(): Promise<void> {
    this.#startWrite();
    await this.#writing;
    this.#reportFailure();
  }

  async update(id: RotationId, patch: RotationPatch): Promise<void> {
    // Marks and counts describe results: those results must be stored first.
    await this.flush();
    const names: Record<string, string> = { '#pk': SCHEMA.partitionKey, '#updatedAt': 'updatedAt' };
    const values: Item = { ':updatedAt': this.#now().toISOString() };
    const sets = ['#updatedAt = :updatedAt'];
    if (patch.step) {
      Object.assign(names, { '#steps': 'steps', '#step': patch.step.name });
      values[':mark'] = compact({ ...patch.step.mark });
      sets.push('#steps.#step = :mark');
    }
    for (const field of ['outcome', 'counts', 'finishedAt'] as const) {
      if (patch[field] === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = patch[field];
      sets.push(`#${field} = :${field}`);
    }
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [SCHEMA.partitionKey]: rotationPk(id), [SCHEMA.sortKey]: META },
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
    const records: RotationRecord[] = [];
    let startKey: Item | undefined;
    // A page stops at 1 MB (two or three large snapshots): keep reading until `limit` records.
    while (records.length < limit) {
      let out: { Items?: Item[]; LastEvaluatedKey?: Item };
      try {
        out = await this.#client.send(
          new QueryCommand({
            TableName: this.#table,
            IndexName: SCHEMA.historyIndex.name,
            KeyConditionExpression: '#g = :g',
            ExpressionAttributeNames: { '#g': SCHEMA.historyIndex.partitionKey },
            ExpressionAttributeValues: { ':g': historyPk(secretArn) },
            ScanIndexForward: false,
            Limit: limit - records.length,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
      } catch (error) {
        throw this.#failed(`reading the rotation history of ${secretArn}`, error);
      }
      records.push(...(out.Items ?? []).map((item) => this.#rotationFromItem(item)));
      startKey = out.LastEvaluatedKey;
      if (!startKey) break;
    }
    return records.slice(0, Math.max(0, limit));
  }

  async fleet(secretArn: string): Promise<readonly FleetSiteRecord[]> {
    await this.flush();
    const items = await this.#queryAll(`what the sites of ${secretArn} hold`, {
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': SCHEMA.partitionKey },
      ExpressionAttributeValues: { ':pk': fleetPk(secretArn) },
      ConsistentRead: true,
    });
    return items.map((item) => {
      const read = new ItemReader(item, this.#table);
      return {
        site: read.string('site'),
        maskedKey: read.string('maskedKey'),
        keyFingerprint: read.string('keyFingerprint'),
        versionId: read.string('versionId'),
        confirmedAt: read.string('confirmedAt'),
      };
    });
  }

  #enqueue(item: Item): void {
    this.#buffer.set(JSON.stringify([item[SCHEMA.partitionKey], item[SCHEMA.sortKey]]), item);
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

  async #writeAll(items: readonly Item[]): Promise<WriteFailure | undefined> {
    for (let start = 0; start < items.length; start += MAX_BATCH_ITEMS) {
      let requests = items.slice(start, start + MAX_BATCH_ITEMS).map((Item) => ({ PutRequest: { Item } }));
      const rest = items.length - start - requests.length;
      for (let attempt = 1; requests.length > 0; attempt += 1) {
        if (attempt > 1) {
          // Full jitter: concurrent writers throttled together do not retry together.
          await sleep(Math.random() * this.#retryBaseMs * 2 ** (attempt - 2));
        }
        try {
          const out = await this.#client.send(
            new BatchWriteCommand({ RequestItems: { [this.#table]: requests } }),
          );
          requests = (out.UnprocessedItems?.[this.#table] ?? []).flatMap((request) =>
            request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
          );
        } catch (error) {
          return { unwritten: requests.length + rest, reason: `BatchWriteItem failed`, cause: error };
        }
        if (requests.length > 0 && attempt >= this.#maxWriteAttempts) {
          return {
            unwritten: requests.length + rest,
            reason: `still unprocessed after ${attempt} attempts (the table is throttling writes)`,
            cause: undefined,
          };
        }
      }
    }
    return undefined;
  }

  #reportFailure(): void {
    const failure = this.#failure;
    if (!failure) return;
    this.#failure = undefined;
    const { cause } = failure;
    const why = cause === undefined ? '' : ` (${errorName(cause) ?? 'error'}: ${errorMessage(cause)})`;
    throw new Error(
      `The ledger (DynamoDB table ${this.#table}) could not store ${failure.unwritten} site result item(s): ` +
        `${failure.reason}${why}. Those sites are not recorded as confirmed and will be pushed again.`,
      { cause },
    );
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

  async #queryAll(what: string, input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      try {
        const out = await this.#client.send(
          new QueryCommand({
            ...input,
            TableName: this.#table,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        items.push(...(out.Items ?? []));
        startKey = out.LastEvaluatedKey;
      } catch (error) {
        throw this.#failed(`reading ${what}`, error);
      }
    } while (startKey);
    return items;
  }

  #rotationFromItem(item: Item): RotationRecord {
    const read = new ItemReader(item, this.#table);
    const sites = decodeSnapshot(read.binary('snapshot'), read.where);
    if (sites.length !== read.number('siteCount')) {
      throw read.corrupt(
        'snapshot',
        `holds ${sites.length} sites, siteCount says ${read.number('siteCount')}`,
      );
    }
    const steps: Partial<Record<StepName, StepMark>> = {};
    for (const [name, value] of Object.entries(read.map('steps'))) {
      if (!isKey(STEP_NAMES, name)) throw read.corrupt('steps', `unknown step ${name}`);
      const mark = new ItemReader(
        asMap(value, () => read.corrupt(`steps.${name}`, 'not a map')),
        this.#table,
      );
      const endedAt = mark.optionalString('endedAt');
      const error = mark.optionalString('error');
      steps[name] = {
        startedAt: mark.string('startedAt'),
        status: mark.oneOf('status', STEP_STATUSES),
        ...(endedAt === undefined ? {} : { endedAt }),
        ...(error === undefined ? {} : { error }),
      };
    }
    const counts = item.counts === undefined ? undefined : new ItemReader(read.map('counts'), this.#table);
    const finishedAt = read.optionalString('finishedAt');
    return {
      secretArn: read.string('secretArn'),
      token: read.string('token'),
      trigger: read.oneOf('trigger', TRIGGERS),
      maskedKey: read.string('maskedKey'),
      keyFingerprint: read.string('keyFingerprint'),
      sites,
      sources: read.strings('sources'),
      createdAt: read.string('createdAt'),
      updatedAt: read.string('updatedAt'),
      outcome: read.oneOf('outcome', OUTCOMES),
      steps,
      ...(counts
        ? {
            counts: {
              confirmed: counts.number('confirmed'),
              failed: counts.number('failed'),
              pending: counts.number('pending'),
            },
          }
        : {}),
      ...(finishedAt === undefined ? {} : { finishedAt }),
    };
  }

  #siteFromItem(item: Item): SiteRecord {
    const read = new ItemReader(item, this.#table);
    const optional = {
      outcome: item.outcome === undefined ? undefined : read.oneOf('outcome', SITE_OUTCOMES),
      httpStatus: read.optionalNumber('httpStatus'),
      detail: read.optionalString('detail'),
      latencyMs: read.optionalNumber('latencyMs'),
      confirmedAt: read.optionalString('confirmedAt'),
      updatedAt: read.optionalString('updatedAt'),
    };
    return {
      site: read.string('site'),
      status: read.oneOf('status', SITE_STATUSES),
      attempts: read.number('attempts'),
      ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
    };
  }

  #expiresAt(from: Date): number {
    return Math.floor(from.getTime() / 1000) + this.#retentionSeconds;
  }

  #failed(what: string, cause: unknown): Error {
    return new Error(
      `The ledger (DynamoDB table ${this.#table}) failed ${what}: ${errorName(cause) ?? 'error'}: ${errorMessage(cause)}`,
      { cause },
    );
  }
}

/** Typed access to an item read back from the table; a malformed item is an error naming table and key. */
class ItemReader {
  readonly where: string;

  constructor(
    private readonly item: Record<string, unknown>,
    table: string,
  ) {
    const key = [item[SCHEMA.partitionKey], item[SCHEMA.sortKey]].filter((part) => typeof part === 'string');
    this.where = `ledger table ${table}${key.length > 0 ? `, item ${key.join(' / ')}` : ''}`;
  }

  corrupt(attribute: string, problem: string): Error {
    return new Error(`Malformed ${this.where}: attribute ${attribute} ${problem}`);
  }

  string(name: string): string {
    const value = this.item[name];
    if (typeof value !== 'string') throw this.corrupt(name, 'is missing or not a string');
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.item[name] === undefined ? undefined : this.string(name);
  }

  number(name: string): number {
    const value = this.item[name];
    if (typeof value !== 'number') throw this.corrupt(name, 'is missing or not a number');
    return value;
  }

  optionalNumber(name: string): number | undefined {
    return this.item[name] === undefined ? undefined : this.number(name);
  }

  strings(name: string): string[] {
    const value = this.item[name];
    if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) {
      throw this.corrupt(name, 'is missing or not a list of strings');
    }
    return value;
  }

  binary(name: string): Uint8Array {
    const value = this.item[name];
    if (!(value instanceof Uint8Array)) throw this.corrupt(name, 'is missing or not binary');
    return value;
  }

  map(name: string): Record<string, unknown> {
    return asMap(this.item[name], () => this.corrupt(name, 'is missing or not a map'));
  }

  oneOf<T extends string>(name: string, allowed: Record<T, true>): T {
    const value = this.string(name);
    if (!isKey(allowed, value)) throw this.corrupt(name, `has an unknown value ${JSON.stringify(value)}`);
    return value;
  }
}

function asMap(value: unknown, otherwise: () => Error): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw otherwise();
  return Object.fromEntries(Object.entries(value));
}

function isKey<T extends string>(allowed: Record<T, true>, value: string): value is T {
  return Object.hasOwn(allowed, value);
}

function decodeSnapshot(bytes: Uint8Array, where: string): string[] {
  let sites: unknown;
  try {
    sites = JSON.parse(gunzipSync(bytes).toString('utf8'));
  } catch (error) {
    throw new Error(`Malformed ${where}: the site-list snapshot cannot be decoded`, { cause: error });
  }
  if (!Array.isArray(sites) || !sites.every((site) => typeof site === 'string')) {
    throw new Error(`Malformed ${where}: the site-list snapshot is not a list of URLs`);
  }
  return sites;
}

/** DynamoDB rejects undefined attribute values (unless the client was built to drop them: not ours to assume). */
function compact(item: Record<string, NativeAttributeValue>): Item {
  return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined));
}

function rotationPk({ secretArn, token }: RotationId): string {
  return `ROTATION#${secretArn}#${token}`;
}

function historyPk(secretArn: string): string {
  return `HISTORY#${secretArn}`;
}

function fleetPk(secretArn: string): string {
  return `FLEET#${secretArn}`;
}

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
