/**
 * Secrets Manager held in process memory: the rotated secret's versions and labels, and the secrets the
 * rotation only reads (staged key, master API key). For the CLI's local runs (`demo`) and tests.
 *
 * It keeps the AWS behaviour the rotation depends on (rotation-protocol.md): a label sits on one version at
 * a time; RotateSecret first creates an empty AWSPENDING placeholder and is refused while another rotation is
 * incomplete; re-using a token with another value is refused; moving AWSCURRENT needs RemoveFromVersionId
 * and moves AWSPREVIOUS along; versions without a label are deprecated (not listed by describe).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ConfigurationError, RotationStateError } from '../errors.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  type RotatedSecretStore,
  type SecretDescription,
  type SecretReader,
} from '../ports.js';

export interface InMemorySecretsOptions {
  /** Used in the ARNs: `arn:aws:secretsmanager:<region>:<account>:secret:<name>-XXXXXX`. */
  readonly region?: string;
  readonly accountId?: string;
  /** Version ids of new versions. @default randomUUID */
  readonly newVersionId?: () => string;
}

/** One version as `versions()` shows it: whether it holds a value, never the value. */
export interface VersionSummary {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly hasValue: boolean;
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

interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  rotationEnabled: boolean;
  readonly versions: Map<string, Version>;
}

/** ClientRequestToken / VersionId: 32–64 characters (API reference). */
const VERSION_ID_PATTERN = /^[A-Za-z0-9-]{32,64}$/;

export class InMemorySecrets implements RotatedSecretStore, SecretReader {
  readonly #region: string;
  readonly #accountId: string;
  readonly #newVersionId: () => string;
  readonly #secrets = new Map<string, StoredSecret>();
  #created = 0;

  constructor(options: InMemorySecretsOptions = {}) {
    this.#region = options.region ?? 'local';
    this.#accountId = options.accountId ?? '000000000000';
    this.#newVersionId = options.newVersionId ?? randomUUID;
  }

  /** CreateSecret: returns the ARN. With a value, its first version is AWSCURRENT. */
  createSecret(name: string, value?: string): string {
    if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) {
      throw new ConfigurationError(`Secret name ${JSON.stringify(name)} is not a valid Secrets Manager name`);
    }
    if (this.#find(name) !== undefined) throw new RotationStateError(`Secret ${name} already exists`);
    // AWS appends six random characters so that a re-created secret gets a different ARN.
    const suffix = randomBytes(4).toString('base64url').slice(0, 6);
    const arn = `arn:aws:secretsmanager:${this.#region}:${this.#accountId}:secret:${name}-${suffix}`;
    this.#secrets.set(arn, { arn, name, rotationEnabled: false, versions: new Map() });
    if (value !== undefined) this.putCurrent(arn, value);
    return arn;
  }

  /** PutSecretValue without stages: a new version becomes AWSCURRENT, the former one AWSPREVIOUS. */
  putCurrent(secretId: string, value: string): string {
    const secret = this.#require(secretId);
    const versionId = this.#versionId();
    const previous = holderOf(secret, AWSCURRENT);
    this.#addVersion(secret, versionId, value, []);
    this.updateVersionStage(secretId, AWSCURRENT, {
      moveToVersionId: versionId,
      ...(previous === undefined ? {} : { removeFromVersionId: previous }),
    });
    return versionId;
  }

  /**
   * What RotateSecret does before invoking the rotation function: enables rotation and creates an empty
   * placeholder version labelled AWSPENDING under a new token, which it returns. Refused while AWSPENDING
   * labels a version other than AWSCURRENT (a previous rotation is not complete).
   */
  startRotation(secretId: string): string {
    const secret = this.#require(secretId);
    const current = holderOf(secret, AWSCURRENT);
    if (current === undefined) {
      throw new RotationStateError(`Secret ${secret.arn} has no AWSCURRENT version to rotate from`);
    }
    const pending = holderOf(secret, AWSPENDING);
    if (pending !== undefined && pending !== current) {
      throw new RotationStateError(
        `A previous rotation of ${secret.arn} isn't complete (AWSPENDING is on version ${pending}). ` +
          'That rotation will be reattempted; to cancel it, remove its AWSPENDING label.',
      );
    }
    const token = this.#versionId();
    secret.rotationEnabled = true;
    if (pending !== undefined) secret.versions.get(pending)?.stages.delete(AWSPENDING);
    this.#addVersion(secret, token, undefined, [AWSPENDING]);
    return token;
  }

  /**
   * UpdateSecretVersionStage. Moving a label that is attached elsewhere requires naming that version in
   * `removeFromVersionId`; moving AWSCURRENT moves AWSPREVIOUS to the version it leaves. With only
   * `removeFromVersionId`, the label is removed (how a stuck rotation is cleared: AWSPENDING).
   */
  updateVersionStage(secretId: string, stage: string, move: LabelMove): void {
    const secret = this.#require(secretId);
    const { moveToVersionId: to, removeFromVersionId: from } = move;
    if (to === undefined && from === undefined) {
      throw new RotationStateError(`Moving ${stage} on ${secret.arn} needs a version to move to or from`);
    }
    const holder = holderOf(secret, stage);
    if (from !== undefined && holder !== from) {
      throw new RotationStateError(
        `${stage} is not attached to version ${from} of ${secret.arn}` +
          (holder === undefined ? '' : ` (it is on ${holder})`),
      );
    }
    if (to !== undefined && !secret.versions.has(to)) {
      throw new RotationStateError(`Secret ${secret.arn} has no version ${to}`);
    }
    if (to !== undefined && holder !== undefined && holder !== to && from !== holder) {
      throw new RotationStateError(
        `RemoveFromVersionId can't be empty: ${stage} is attached to version ${holder} of ${secret.arn}, ` +
          'so the move must name that version',
      );
    }
    if (from !== undefined) secret.versions.get(from)?.stages.delete(stage);
    if (to === undefined) return;
    if (stage === AWSCURRENT && from !== undefined && from !== to) {
      detach(secret, AWSPREVIOUS);
      secret.versions.get(from)?.stages.add(AWSPREVIOUS);
    }
    secret.versions.get(to)?.stages.add(stage);
  }

  /** Every version, newest first: labels and whether a value is held (deprecated versions included). */
  versions(secretId: string): readonly VersionSummary[] {
    const secret = this.#require(secretId);
    return [...secret.versions]
      .sort(([, a], [, b]) => b.createdOrder - a.createdOrder)
      .map(([versionId, version]) => ({
        versionId,
        stages: [...version.stages],
        hasValue: version.value !== undefined,
      }));
  }

  // RotatedSecretStore ------------------------------------------------------------------------------------

  async describe(secretId: string): Promise<SecretDescription> {
    const secret = this.#require(secretId);
    return {
      arn: secret.arn,
      rotationEnabled: secret.rotationEnabled,
      versionIdsToStages: Object.fromEntries(
        [...secret.versions]
          .filter(([, version]) => version.stages.size > 0)
          .map(([id, version]) => [id, [...version.stages]]),
      ),
    };
  }

  async getValue(
    secretId: string,
    selector: { stage: string; versionId?: string },
  ): Promise<string | undefined> {
    const secret = this.#require(secretId);
    const versionId = selector.versionId ?? holderOf(secret, selector.stage);
    if (versionId === undefined) return undefined;
    const version = secret.versions.get(versionId);
    // Like AWS: a version without the requested label, or without a value, is "not found".
    return version?.stages.has(selector.stage) ? version.value : undefined;
  }

  /** PutSecretValue(ClientRequestToken=token, VersionStages=[AWSPENDING]); the RotationToken has no local use. */
  async putPending(secretId: string, token: string, value: string): Promise<void> {
    const secret = this.#require(secretId);
    if (!VERSION_ID_PATTERN.test(token)) {
      throw new RotationStateError(`ClientRequestToken ${JSON.stringify(token)} is not a version id`);
    }
    const existing = secret.versions.get(token);
    if (existing?.value !== undefined) {
      if (existing.value !== value) {
        throw new RotationStateError(
          `Version ${token} of ${secret.arn} already holds a different value (ResourceExistsException)`,
        );
      }
      return;
    }
    detach(secret, AWSPENDING);
    if (existing === undefined) {
      this.#addVersion(secret, token, value, [AWSPENDING]);
    } else {
      existing.value = value;
      existing.stages.add(AWSPENDING);
    }
  }

  async promote(secretId: string, token: string, fromVersionId: string): Promise<void> {
    this.updateVersionStage(secretId, AWSCURRENT, {
      moveToVersionId: token,
      removeFromVersionId: fromVersionId,
    });
  }

  // SecretReader ------------------------------------------------------------------------------------------

  async readCurrent(secretId: string): Promise<string | undefined> {
    const secret = this.#find(secretId);
    if (secret === undefined) {
      throw new ConfigurationError(`Secret ${secretId} does not exist (check the configuration)`);
    }
    return this.getValue(secret.arn, { stage: AWSCURRENT });
  }

  // -------------------------------------------------------------------------------------------------------

  /** By ARN, or by name as Secrets Manager accepts it. */
  #find(secretId: string): StoredSecret | undefined {
    return this.#secrets.get(secretId) ?? [...this.#secrets.values()].find((s) => s.name === secretId);
  }

  #require(secretId: string): StoredSecret {
    const secret = this.#find(secretId);
    if (secret === undefined) throw new RotationStateError(`Secret ${secretId} does not exist`);
    return secret;
  }

  #versionId(): string {
    const id = this.#newVersionId();
    if (!VERSION_ID_PATTERN.test(id)) throw new RotationStateError(`Generated version id ${id} is invalid`);
    return id;
  }

  #addVersion(secret: StoredSecret, id: string, value: string | undefined, stages: readonly string[]): void {
    if (secret.versions.has(id))
      throw new RotationStateError(`Secret ${secret.arn} already has version ${id}`);
    this.#created += 1;
    secret.versions.set(id, { value, stages: new Set(stages), createdOrder: this.#created });
  }
}

function holderOf(secret: StoredSecret, stage: string): string | undefined {
  return [...secret.versions].find(([, version]) => version.stages.has(stage))?.[0];
}

function detach(secret: StoredSecret, stage: string): void {
  for (const version of secret.versions.values()) version.stages.delete(stage);
}
