/**
 * Secrets Manager held in process memory: the rotated secret's versions and labels, and the secrets the
 * rotation only reads (staged key, master API key). For the CLI's local runs (`demo`) and tests. The label
 * rules are those of `SecretVersions`, the one model of them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  AWSCURRENT,
  AWSPENDING,
  ConfigurationError,
  type FoundVersion,
  RotationStateError,
  type SecretDescription,
  type SecretStore,
} from '../core/index.js';
import { type LabelMove, SecretVersions, type VersionSummary } from './secret-versions.js';

export interface InMemorySecretsOptions {
  /** Used in the ARNs: `arn:aws:secretsmanager:<region>:<account>:secret:<name>-XXXXXX`. */
  readonly region?: string;
  readonly accountId?: string;
  /** Version ids of new versions. @default randomUUID */
  readonly newVersionId?: () => string;
}

interface StoredSecret {
  readonly name: string;
  readonly versions: SecretVersions;
}

export class InMemorySecrets implements SecretStore {
  readonly #region: string;
  readonly #accountId: string;
  readonly #newVersionId: () => string;
  readonly #secrets = new Map<string, StoredSecret>();

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
    this.#secrets.set(arn, { name, versions: new SecretVersions(arn) });
    if (value !== undefined) this.putCurrent(arn, value);
    return arn;
  }

  /** PutSecretValue without stages: a new version becomes AWSCURRENT, the former one AWSPREVIOUS. */
  putCurrent(secretId: string, value: string): string {
    const versionId = this.#newVersionId();
    this.#require(secretId).put(versionId, value);
    return versionId;
  }

  /** RotateSecret's first part (`SecretVersions.startRotation`) under a new token, which it returns. */
  startRotation(secretId: string): string {
    const token = this.#newVersionId();
    this.#require(secretId).startRotation(token);
    return token;
  }

  /** UpdateSecretVersionStage (`SecretVersions.moveStage`). */
  updateVersionStage(secretId: string, stage: string, move: LabelMove): void {
    this.#require(secretId).moveStage(stage, move);
  }

  /** Every version, newest first: labels and whether a value is held (deprecated versions included). */
  versions(secretId: string): readonly VersionSummary[] {
    return this.#require(secretId).list();
  }

  // RotatedSecretStore ------------------------------------------------------------------------------------

  async describe(secretId: string): Promise<SecretDescription> {
    const versions = this.#require(secretId);
    return {
      arn: versions.arn,
      rotationEnabled: versions.rotationEnabled,
      versionIdsToStages: versions.stagesByVersion(),
    };
  }

  async getValue(
    secretId: string,
    selector: { stage: string; versionId?: string },
  ): Promise<string | undefined> {
    return this.#require(secretId).read(selector)?.value;
  }

  async findVersion(
    secretId: string,
    matches: (value: string) => boolean,
    { skipStages, limit }: { readonly skipStages: readonly string[]; readonly limit: number },
  ): Promise<FoundVersion | undefined> {
    const versions = this.#require(secretId);
    const candidates = versions
      .list()
      .filter((v) => !v.stages.some((stage) => skipStages.includes(stage)))
      .slice(0, limit);
    for (const { versionId } of candidates) {
      const value = versions.read({ versionId })?.value;
      if (value !== undefined && matches(value)) return { versionId, createdDate: undefined };
    }
    return undefined;
  }

  /** PutSecretValue(ClientRequestToken=token, VersionStages=[AWSPENDING]); the RotationToken has no local use. */
  async putPending(secretId: string, token: string, value: string): Promise<void> {
    this.#require(secretId).put(token, value, [AWSPENDING]);
  }

  async promote(secretId: string, token: string, fromVersionId: string): Promise<void> {
    this.#require(secretId).moveStage(AWSCURRENT, {
      moveToVersionId: token,
      removeFromVersionId: fromVersionId,
    });
  }

  async clearPending(secretId: string, token: string): Promise<void> {
    this.#require(secretId).moveStage(AWSPENDING, { removeFromVersionId: token });
  }

  // SecretReader ------------------------------------------------------------------------------------------

  async readCurrent(secretId: string): Promise<string | undefined> {
    const secret = this.#find(secretId);
    if (secret === undefined) {
      throw new ConfigurationError(`Secret ${secretId} does not exist (check the configuration)`);
    }
    return secret.versions.read({ stage: AWSCURRENT })?.value;
  }

  // StagedKeyWriter ---------------------------------------------------------------------------------------

  async writeStaged(secretId: string, value: string): Promise<void> {
    this.putCurrent(secretId, value);
  }

  // -------------------------------------------------------------------------------------------------------

  /** By ARN, or by name as Secrets Manager accepts it. */
  #find(secretId: string): StoredSecret | undefined {
    return this.#secrets.get(secretId) ?? [...this.#secrets.values()].find((s) => s.name === secretId);
  }

  #require(secretId: string): SecretVersions {
    const secret = this.#find(secretId);
    if (secret === undefined) throw new RotationStateError(`Secret ${secretId} does not exist`);
    return secret.versions;
  }
}
