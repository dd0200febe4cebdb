/**
 * How the ledger's records are laid out as items of its one DynamoDB table, and read back. Key schema in
 * ../ledger-schema.ts (shared with the CDK construct): `pk` (S) + `sk` (S), TTL attribute `expiresAt`
 * (epoch seconds), GSI `history` on `gsi1pk` (S) + `gsi1sk` (S), projection ALL. Three kinds of item:
 *
 * - A rotation: `pk = ROTATION#<secretArn>#<token>`, `sk = META`, `gsi1pk = HISTORY#<secretArn>`,
 *   `gsi1sk = <createdAt ISO>#<token>`, expiresAt = createdAt + retention. Holds secretArn, token, trigger,
 *   maskedKey, keyFingerprint, sources, createdAt, updatedAt, outcome, steps (step name → mark), counts,
 *   finishedAt, and the site-list snapshot as gzipped JSON (Binary `snapshot`) with `siteCount`:
 *   10 000 sites take about 60 KB (MAX_SITES about twice that), so `begin` is one conditional PutItem and
 *   the snapshot is atomic.
 * - A site in that rotation: same pk, `sk = SITE#<url>`: site, status, outcome, httpStatus, detail,
 *   attempts, latencyMs, confirmedAt, updatedAt; expiresAt = saved + retention.
 * - What a site holds: `pk = FLEET#<secretArn>`, `sk = SITE#<url>`: site, maskedKey, keyFingerprint,
 *   versionId, confirmedAt. No TTL: it stays true until the site confirms another key.
 *
 * Never a key: only its masked form and fingerprint. Enumerated attributes are checked against the value
 * lists of ../ports.ts when read back, so a malformed item fails loudly instead of reaching the rotation.
 */
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import {
  ConfigurationError,
  type FleetSiteRecord,
  ROTATION_OUTCOMES,
  ROTATION_STEPS,
  ROTATION_TRIGGERS,
  type RotationId,
  type RotationRecord,
  type RotationStep,
  LEDGER_TABLE_SCHEMA as SCHEMA,
  SITE_OUTCOMES,
  SITE_STATUSES,
  type SiteRecord,
  STEP_STATUSES,
  type StepMark,
} from '../../core/index.js';

export type Item = Record<string, NativeAttributeValue>;
/** The primary key of one item. */
type ItemKey = Readonly<Record<string, string>>;

const META = 'META';
/** Sort keys of site items (a rotation's results, what sites hold) start with this. */
export const SITE_PREFIX = 'SITE#';
/** DynamoDB caps items at 400 KB; the rest of META (step marks with error messages) needs room too. */
const MAX_SNAPSHOT_BYTES = 350_000;
/** DynamoDB sort keys hold at most 1024 bytes, and a site's sort key is `SITE#<url>`. */
export const MAX_SITE_URL_BYTES = 1024 - SITE_PREFIX.length;

/** The partition holding one rotation: its META item and one item per site result. */
export function rotationPk({ secretArn, token }: RotationId): string {
  return `ROTATION#${secretArn}#${token}`;
}

/** The history index partition listing a secret's rotations. */
export function historyPk(secretArn: string): string {
  return `HISTORY#${secretArn}`;
}

/** The partition holding what each site of a secret's fleet holds. */
export function fleetPk(secretArn: string): string {
  return `FLEET#${secretArn}`;
}

export function metaKey(id: RotationId): ItemKey {
  return { [SCHEMA.partitionKey]: rotationPk(id), [SCHEMA.sortKey]: META };
}

/**
 * The site list as the META item stores it. Throws ConfigurationError for a site URL too long for a sort
 * key, or a snapshot too large for one item: checked before anything is written.
 */
export function encodeSnapshot(sites: readonly string[], table: string): Uint8Array {
  const tooLong = sites.find((site) => Buffer.byteLength(site, 'utf8') > MAX_SITE_URL_BYTES);
  if (tooLong !== undefined) {
    throw new ConfigurationError(
      `The site ${tooLong.slice(0, 120)}… is ${Buffer.byteLength(tooLong, 'utf8')} bytes long: the ledger keys ` +
        `sites by URL and DynamoDB keys hold at most ${MAX_SITE_URL_BYTES} bytes of it. Shorten its path.`,
    );
  }
  const snapshot = gzipSync(JSON.stringify(sites), { level: zlibConstants.Z_BEST_COMPRESSION });
  if (snapshot.byteLength > MAX_SNAPSHOT_BYTES) {
    throw new ConfigurationError(
      `The site-list snapshot of ${sites.length} sites compresses to ${snapshot.byteLength} bytes, more than ` +
        `the ${MAX_SNAPSHOT_BYTES} one ledger item (DynamoDB table ${table}) can hold. Split the fleet into several deployments.`,
    );
  }
  return snapshot;
}

/** A new rotation's META item; `snapshot` comes from encodeSnapshot(record.sites). */
export function rotationItem(record: RotationRecord, snapshot: Uint8Array, expiresAt: number): Item {
  return {
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
    ...metaKey(record),
    [SCHEMA.historyIndex.partitionKey]: historyPk(record.secretArn),
    [SCHEMA.historyIndex.sortKey]: `${record.createdAt}#${record.token}`,
    [SCHEMA.timeToLiveAttribute]: expiresAt,
    snapshot,
    siteCount: record.sites.length,
  };
}

/** A site's result in one rotation; `updatedAt` stamps a record saved without one. */
export function siteItem(id: RotationId, record: SiteRecord, updatedAt: string, expiresAt: number): Item {
  return compact({
    [SCHEMA.partitionKey]: rotationPk(id),
    [SCHEMA.sortKey]: `${SITE_PREFIX}${record.site}`,
    [SCHEMA.timeToLiveAttribute]: expiresAt,
    site: record.site,
    status: record.status,
    outcome: record.outcome,
    httpStatus: record.httpStatus,
    detail: record.detail,
    attempts: record.attempts,
    latencyMs: record.latencyMs,
    confirmedAt: record.confirmedAt,
    updatedAt: record.updatedAt ?? updatedAt,
  });
}

/** What a site holds: no TTL, it stays true until the site confirms another key. */
export function holdingItem(secretArn: string, holding: FleetSiteRecord): Item {
  return {
    [SCHEMA.partitionKey]: fleetPk(secretArn),
    [SCHEMA.sortKey]: `${SITE_PREFIX}${holding.site}`,
    site: holding.site,
    maskedKey: holding.maskedKey,
    keyFingerprint: holding.keyFingerprint,
    versionId: holding.versionId,
    confirmedAt: holding.confirmedAt,
  };
}

/** A step mark as an attribute value: DynamoDB refuses undefined members. */
export function stepMarkValue(mark: StepMark): Item {
  return compact({ ...mark });
}

export function rotationFromItem(item: Item, table: string): RotationRecord {
  const read = new ItemReader(item, table);
  const sites = decodeSnapshot(read.binary('snapshot'), read.where);
  if (sites.length !== read.number('siteCount')) {
    throw read.corrupt('snapshot', `holds ${sites.length} sites, siteCount says ${read.number('siteCount')}`);
  }
  const steps: Partial<Record<RotationStep, StepMark>> = {};
  for (const [name, value] of Object.entries(read.map('steps'))) {
    if (!isOneOf(ROTATION_STEPS, name)) throw read.corrupt('steps', `unknown step ${name}`);
    const mark = new ItemReader(
      asMap(value, () => read.corrupt(`steps.${name}`, 'not a map')),
      table,
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
  const counts = item.counts === undefined ? undefined : new ItemReader(read.map('counts'), table);
  const finishedAt = read.optionalString('finishedAt');
  const stripeAccount = read.optionalString('stripeAccount');
  return {
    secretArn: read.string('secretArn'),
    token: read.string('token'),
    trigger: read.oneOf('trigger', ROTATION_TRIGGERS),
    maskedKey: read.string('maskedKey'),
    keyFingerprint: read.string('keyFingerprint'),
    sites,
    sources: read.strings('sources'),
    createdAt: read.string('createdAt'),
    updatedAt: read.string('updatedAt'),
    outcome: read.oneOf('outcome', ROTATION_OUTCOMES),
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
    ...(stripeAccount === undefined ? {} : { stripeAccount }),
  };
}

export function siteFromItem(item: Item, table: string): SiteRecord {
  const read = new ItemReader(item, table);
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

export function holdingFromItem(item: Item, table: string): FleetSiteRecord {
  const read = new ItemReader(item, table);
  return {
    site: read.string('site'),
    maskedKey: read.string('maskedKey'),
    keyFingerprint: read.string('keyFingerprint'),
    versionId: read.string('versionId'),
    confirmedAt: read.string('confirmedAt'),
  };
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

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.string(name);
    if (!isOneOf(allowed, value)) throw this.corrupt(name, `has an unknown value ${JSON.stringify(value)}`);
    return value;
  }
}

function asMap(value: unknown, otherwise: () => Error): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw otherwise();
  return Object.fromEntries(Object.entries(value));
}

function isOneOf<T extends string>(allowed: readonly T[], value: string): value is T {
  return (allowed as readonly string[]).includes(value);
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
function compact(item: Item): Item {
  return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined));
}
