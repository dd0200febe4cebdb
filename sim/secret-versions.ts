/**
 * One secret's versions and staging labels, with the Secrets Manager rules the rotation depends on
 * (docs/rotation-protocol.md): a label sits on one version at a time; moving AWSCURRENT moves AWSPREVIOUS
 * to the version it leaves; moving a label that sits elsewhere needs RemoveFromVersionId; RotateSecret first
 * creates an empty AWSPENDING placeholder and is refused while another rotation is incomplete; a
 * ClientRequestToken re-used with another value is refused; a version without a label is deprecated.
 *
 * Pure and in memory: `InMemorySecrets` (the CLI's `demo`) and the unit tests' fake Secrets Manager client
 * are both adapters over it, so the two cannot drift apart.
 */
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, RotationStateError } from '../core/index.js';

/** The exception Secrets Manager answers a refused request with. */
export type SecretsManagerException =
  | 'ResourceNotFoundException'
  | 'ResourceExistsException'
  | 'InvalidParameterException'
  | 'InvalidRequestException';

/** A request Secrets Manager itself would refuse; `exception` names the exception AWS answers it with. */
export class SecretsManagerRefusal extends RotationStateError {
  constructor(
    readonly exception: SecretsManagerException,
    message: string,
  ) {
    super(`${message} (${exception})`);
  }
}

/** One version as `list()` shows it: whether it holds a value, never the value. */
export interface VersionSummary {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly hasValue: boolean;
}

/** A version that holds a value, as GetSecretValue answers it. */
export interface VersionValue {
  readonly versionId: string;
  readonly value: string;
  readonly stages: readonly string[];
}

export interface LabelMove {
  /** The version to attach the label to. */
  readonly moveToVersionId?: string;
  /** The version the label must be removed from; required when the label is attached elsewhere. */
  readonly removeFromVersionId?: string;
}

interface Version {
  value: string | undefined;
  readonly stages: Set<string>;
  readonly createdOrder: number;
}

/** ClientRequestToken / VersionId: 32–64 characters (API reference). */
const VERSION_ID_PATTERN = /^[A-Za-z0-9-]{32,64}$/;

export class SecretVersions {
  readonly #versions = new Map<string, Version>();
  #created = 0;
  /** Set by the first RotateSecret. */
  rotationEnabled: boolean;

  /** `arn` only names the secret in error messages. */
  constructor(
    readonly arn: string,
    options: { readonly rotationEnabled?: boolean } = {},
  ) {
    this.rotationEnabled = options.rotationEnabled ?? false;
  }

  /**
   * PutSecretValue under `versionId` (the ClientRequestToken). The labels move here from wherever they
   * were; AWSCURRENT leaves AWSPREVIOUS on the version it leaves. Replaying the same value is a no-op; a
   * version that already holds another value is refused. An empty placeholder (RotateSecret's) is filled.
   */
  put(versionId: string, value: string, stages: readonly string[] = [AWSCURRENT]): void {
    requireVersionId(versionId);
    const existing = this.#versions.get(versionId);
    if (existing?.value !== undefined) {
      if (existing.value !== value) {
        throw new SecretsManagerRefusal(
          'ResourceExistsException',
          `Version ${versionId} of ${this.arn} already holds a different value`,
        );
      }
      return;
    }
    const previousCurrent = this.holderOf(AWSCURRENT);
    for (const stage of stages) this.#detach(stage);
    const version = existing ?? this.#add(versionId);
    version.value = value;
    for (const stage of stages) version.stages.add(stage);
    if (stages.includes(AWSCURRENT) && previousCurrent !== undefined && previousCurrent !== versionId) {
      this.#detach(AWSPREVIOUS);
      this.#versions.get(previousCurrent)?.stages.add(AWSPREVIOUS);
    }
  }

  /**
   * What RotateSecret does before invoking the rotation function: enables rotation and creates an empty
   * placeholder version labelled AWSPENDING under `token`. Refused while AWSPENDING labels a version other
   * than AWSCURRENT (a previous rotation is not complete).
   */
  startRotation(token: string): void {
    requireVersionId(token);
    const current = this.holderOf(AWSCURRENT);
    if (current === undefined) {
      throw new SecretsManagerRefusal(
        'InvalidRequestException',
        `Secret ${this.arn} has no AWSCURRENT version to rotate from`,
      );
    }
    const pending = this.holderOf(AWSPENDING);
    if (pending !== undefined && pending !== current) {
      throw new SecretsManagerRefusal(
        'InvalidRequestException',
        `A previous rotation of ${this.arn} isn't complete (AWSPENDING is on version ${pending}). ` +
          'That rotation will be reattempted; to cancel it, remove its AWSPENDING label.',
      );
    }
    if (this.#versions.has(token)) {
      throw new SecretsManagerRefusal(
        'ResourceExistsException',
        `Secret ${this.arn} already has version ${token}`,
      );
    }
    this.rotationEnabled = true;
    this.#detach(AWSPENDING);
    this.#add(token).stages.add(AWSPENDING);
  }

  /**
   * UpdateSecretVersionStage. Moving a label that is attached elsewhere requires naming that version in
   * `removeFromVersionId`; moving AWSCURRENT moves AWSPREVIOUS to the version it leaves. With only
   * `removeFromVersionId`, the label is removed (how a stuck rotation is cleared: AWSPENDING).
   */
  moveStage(stage: string, { moveToVersionId: to, removeFromVersionId: from }: LabelMove): void {
    if (to === undefined && from === undefined) {
      throw new SecretsManagerRefusal(
        'InvalidParameterException',
        `Moving ${stage} on ${this.arn} needs a version to move to or from`,
      );
    }
    const holder = this.holderOf(stage);
    if (from !== undefined && holder !== from) {
      throw new SecretsManagerRefusal(
        'InvalidParameterException',
        `${stage} is not attached to version ${from} of ${this.arn}` +
          (holder === undefined ? '' : ` (it is on ${holder})`),
      );
    }
    if (to !== undefined && !this.#versions.has(to)) {
      throw new SecretsManagerRefusal('ResourceNotFoundException', `Secret ${this.arn} has no version ${to}`);
    }
    if (to !== undefined && holder !== undefined && holder !== to && from !== holder) {
      throw new SecretsManagerRefusal(
        'InvalidParameterException',
        `RemoveFromVersionId can't be empty: ${stage} is attached to version ${holder} of ${this.arn}, ` +
          'so the move must name that version',
      );
    }
    if (from !== undefined) this.#versions.get(from)?.stages.delete(stage);
    if (to === undefined) return;
    if (stage === AWSCURRENT && from !== undefined && from !== to) {
      this.#detach(AWSPREVIOUS);
      this.#versions.get(from)?.stages.add(AWSPREVIOUS);
    }
    this.#versions.get(to)?.stages.add(stage);
  }

  /**
   * GetSecretValue: the version with `versionId` and/or carrying `stage` (AWSCURRENT when neither is given).
   * Undefined, like AWS's ResourceNotFoundException, when there is none or it holds no value yet.
   */
  read(selector: { readonly versionId?: string; readonly stage?: string } = {}): VersionValue | undefined {
    const stage = selector.stage ?? (selector.versionId === undefined ? AWSCURRENT : undefined);
    const versionId = selector.versionId ?? (stage === undefined ? undefined : this.holderOf(stage));
    const version = versionId === undefined ? undefined : this.#versions.get(versionId);
    if (versionId === undefined || version?.value === undefined) return undefined;
    if (stage !== undefined && !version.stages.has(stage)) return undefined;
    return { versionId, value: version.value, stages: [...version.stages] };
  }

  /** DescribeSecret's VersionIdsToStages: labelled versions only (the others are deprecated). */
  stagesByVersion(): Record<string, string[]> {
    return Object.fromEntries(
      [...this.#versions]
        .filter(([, version]) => version.stages.size > 0)
        .map(([id, version]) => [id, [...version.stages]]),
    );
  }

  /** Every version, newest first, deprecated ones included. */
  list(): readonly VersionSummary[] {
    return [...this.#versions]
      .sort(([, a], [, b]) => b.createdOrder - a.createdOrder)
      .map(([versionId, version]) => ({
        versionId,
        stages: [...version.stages],
        hasValue: version.value !== undefined,
      }));
  }

  /** The version a label is attached to. */
  holderOf(stage: string): string | undefined {
    return [...this.#versions].find(([, version]) => version.stages.has(stage))?.[0];
  }

  /** A new version without value or label. */
  #add(versionId: string): Version {
    this.#created += 1;
    const version: Version = { value: undefined, stages: new Set(), createdOrder: this.#created };
    this.#versions.set(versionId, version);
    return version;
  }

  #detach(stage: string): void {
    for (const version of this.#versions.values()) version.stages.delete(stage);
  }
}

function requireVersionId(versionId: string): void {
  if (!VERSION_ID_PATTERN.test(versionId)) {
    throw new SecretsManagerRefusal(
      'InvalidParameterException',
      `ClientRequestToken ${JSON.stringify(versionId)} is not a version id (32–64 letters, digits, hyphens)`,
    );
  }
}
