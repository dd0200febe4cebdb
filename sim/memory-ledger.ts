/**
 * The propagation ledger held in process memory: the CLI's local runs (`push`, `demo`) and unit tests.
 * Same semantics as the DynamoDB ledger (the shared contract suite runs on both), minus durability.
 * Everything is deep-copied in and out, so no caller can change stored state behind the ledger's back.
 */

import type {
  FleetSiteRecord,
  RotationId,
  RotationLedger,
  RotationPatch,
  RotationRecord,
  RotationStart,
  SiteRecord,
} from '../core/index.js';
import { RotationStateError } from '../core/index.js';

export interface InMemoryLedgerOptions {
  /** Clock for createdAt / updatedAt. @default () => new Date() */
  readonly now?: () => Date;
}

/** Everything the ledger holds, for inspection (the `demo` output, leak tests). */
export interface MemoryLedgerDump {
  readonly rotations: readonly (RotationRecord & { readonly siteRecords: readonly SiteRecord[] })[];
  /** Secret ARN → what each site holds. */
  readonly fleet: Readonly<Record<string, readonly FleetSiteRecord[]>>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface StoredRotation {
  record: Mutable<RotationRecord>;
  readonly members: ReadonlySet<string>;
  readonly sites: Map<string, SiteRecord>;
}

export class InMemoryLedger implements RotationLedger {
  readonly #now: () => Date;
  readonly #rotations = new Map<string, StoredRotation>();
  /** Secret ARN → site → what it holds. */
  readonly #fleet = new Map<string, Map<string, FleetSiteRecord>>();

  constructor(options: InMemoryLedgerOptions = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  async begin(start: RotationStart): Promise<RotationRecord> {
    const key = rotationKey(start);
    const existing = this.#rotations.get(key);
    if (existing) return structuredClone(existing.record);
    const at = this.#now().toISOString();
    const record: Mutable<RotationRecord> = {
      secretArn: start.secretArn,
      token: start.token,
      trigger: start.trigger,
      maskedKey: start.maskedKey,
      keyFingerprint: start.keyFingerprint,
      sites: [...start.sites],
      sources: [...start.sources],
      createdAt: at,
      updatedAt: at,
      outcome: 'in_progress',
      steps: {},
    };
    this.#rotations.set(key, { record, members: new Set(start.sites), sites: new Map() });
    return structuredClone(record);
  }

  async get(id: RotationId): Promise<RotationRecord | undefined> {
    const stored = this.#rotations.get(rotationKey(id));
    return stored ? structuredClone(stored.record) : undefined;
  }

  async sites(id: RotationId): Promise<readonly SiteRecord[]> {
    const stored = this.#require(id);
    return stored.record.sites.map((site) =>
      copyFlat(stored.sites.get(site) ?? { site, status: 'pending', attempts: 0 }),
    );
  }

  async saveSite(id: RotationId, record: SiteRecord, holds?: FleetSiteRecord): Promise<void> {
    const stored = this.#require(id);
    if (!stored.members.has(record.site)) throw outsideSnapshot(id, record.site);
    if (holds && holds.site !== record.site) throw holdsMismatch(record.site, holds.site);
    // The spread is the copy: a SiteRecord is flat (copyFlat's type, applied to it in `sites`, says so).
    stored.sites.set(record.site, { ...record, updatedAt: record.updatedAt ?? this.#stamp() });
    if (holds) this.#hold(id.secretArn, holds);
  }

  async recordHoldings(secretArn: string, holdings: readonly FleetSiteRecord[]): Promise<void> {
    for (const holding of holdings) this.#hold(secretArn, holding);
  }

  /** Writes are immediate: nothing is ever buffered. */
  async flush(): Promise<void> {}

  async update(id: RotationId, patch: RotationPatch): Promise<void> {
    const { record } = this.#require(id);
    if (patch.step) record.steps = { ...record.steps, [patch.step.name]: structuredClone(patch.step.mark) };
    if (patch.outcome) record.outcome = patch.outcome;
    if (patch.counts) record.counts = structuredClone(patch.counts);
    if (patch.finishedAt) record.finishedAt = patch.finishedAt;
    if (patch.stripeAccount) record.stripeAccount = patch.stripeAccount;
    record.updatedAt = this.#stamp();
  }

  async history(secretArn: string, limit: number): Promise<readonly RotationRecord[]> {
    if (limit < 1) return [];
    return (
      [...this.#rotations.values()]
        .map(({ record }) => record)
        .filter((record) => record.secretArn === secretArn)
        // Same order as the DynamoDB history index: its sort key is `<createdAt>#<token>`.
        .sort((a, b) => compareCodePoints(historySortKey(b), historySortKey(a)))
        .slice(0, limit)
        .map((record) => structuredClone(record))
    );
  }

  async fleet(secretArn: string): Promise<readonly FleetSiteRecord[]> {
    const fleet = this.#fleet.get(secretArn) ?? new Map<string, FleetSiteRecord>();
    return [...fleet.values()].sort((a, b) => compareCodePoints(a.site, b.site)).map(copyFlat);
  }

  dump(): MemoryLedgerDump {
    return structuredClone({
      rotations: [...this.#rotations.values()].map(({ record, sites }) => ({
        ...record,
        siteRecords: [...sites.values()],
      })),
      fleet: Object.fromEntries([...this.#fleet].map(([arn, sites]) => [arn, [...sites.values()]])),
    });
  }

  #require(id: RotationId): StoredRotation {
    const stored = this.#rotations.get(rotationKey(id));
    if (!stored) {
      throw new RotationStateError(
        `The ledger has no record of rotation ${id.token} of ${id.secretArn}: createSecret has not run for it`,
      );
    }
    return stored;
  }

  #hold(secretArn: string, holding: FleetSiteRecord): void {
    const fleet = this.#fleet.get(secretArn) ?? new Map<string, FleetSiteRecord>();
    fleet.set(holding.site, copyFlat(holding));
    this.#fleet.set(secretArn, fleet);
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}

/**
 * A copy of a record of primitives (the type refuses any other): as deep as structuredClone, at a fraction
 * of its cost, and a push saves one or two per site.
 */
function copyFlat<T extends { readonly [K in keyof T]: string | number | boolean | undefined }>(
  record: T,
): T {
  return { ...record };
}

function rotationKey({ secretArn, token }: RotationId): string {
  return JSON.stringify([secretArn, token]);
}

function historySortKey(record: RotationRecord): string {
  return `${record.createdAt}#${record.token}`;
}

/** DynamoDB orders string keys by bytes; for the ASCII of URLs that is code-point order. */
function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function outsideSnapshot(id: RotationId, site: string): RotationStateError {
  return new RotationStateError(
    `Site ${site} is not in the site-list snapshot of rotation ${id.token} of ${id.secretArn}: ` +
      'a rotation records results only for the sites it started with',
  );
}

function holdsMismatch(site: string, holdsSite: string): RotationStateError {
  return new RotationStateError(
    `The result for ${site} came with what ${holdsSite} holds: refusing to mix them`,
  );
}
