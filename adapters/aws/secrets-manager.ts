/**
 * Secrets Manager adapter: the rotated secret's versions (read/write) and the secrets the rotation only
 * reads (staged key, master API key). Always reads with an explicit stage or version id.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  AWSCURRENT,
  AWSPENDING,
  ConfigurationError,
  type FoundVersion,
  type SecretAdmin,
  type SecretDescription,
  type SecretDetails,
} from '../../core/index.js';

/** ListSecretVersionIds pages read at most (100 versions each). */
const MAX_VERSION_PAGES = 5;

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

export class SecretsManagerStore implements SecretAdmin {
  constructor(private readonly client: SecretsManagerClient) {}

  async describe(secretId: string): Promise<SecretDescription> {
    const out = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    return {
      arn: out.ARN ?? secretId,
      rotationEnabled: out.RotationEnabled === true,
      versionIdsToStages: out.VersionIdsToStages ?? {},
    };
  }

  async details(secretId: string): Promise<SecretDetails> {
    const out = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    const rules = out.RotationRules;
    return {
      arn: out.ARN ?? secretId,
      rotationEnabled: out.RotationEnabled === true,
      versionIdsToStages: out.VersionIdsToStages ?? {},
      ...defined('name', out.Name),
      ...defined('rotationLambdaArn', out.RotationLambdaARN),
      ...defined(
        'rotationRules',
        rules === undefined
          ? undefined
          : {
              ...defined('automaticallyAfterDays', rules.AutomaticallyAfterDays),
              ...defined('scheduleExpression', rules.ScheduleExpression),
              ...defined('duration', rules.Duration),
            },
      ),
      ...defined('lastRotatedDate', out.LastRotatedDate),
      ...defined('nextRotationDate', out.NextRotationDate),
    };
  }

  async versionCreatedDates(secretId: string): Promise<ReadonlyMap<string, Date | undefined>> {
    const out = await this.client.send(new ListSecretVersionIdsCommand({ SecretId: secretId }));
    return new Map((out.Versions ?? []).map((v) => [v.VersionId ?? '', v.CreatedDate]));
  }

  async startRotation(secretId: string, rotationLambdaArn: string, token: string): Promise<void> {
    await this.client.send(
      new RotateSecretCommand({
        SecretId: secretId,
        // The configured function, passed explicitly: without it some emulators forget the configuration.
        RotationLambdaARN: rotationLambdaArn,
        RotateImmediately: true,
        ClientRequestToken: token,
      }),
    );
  }

  async removeStage(secretId: string, stage: string, versionId: string): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: stage,
        RemoveFromVersionId: versionId,
      }),
    );
  }

  async getValue(
    secretId: string,
    selector: { stage: string; versionId?: string },
  ): Promise<string | undefined> {
    try {
      const out = await this.client.send(
        new GetSecretValueCommand({
          SecretId: secretId,
          VersionStage: selector.stage,
          ...(selector.versionId ? { VersionId: selector.versionId } : {}),
        }),
      );
      // A binary secret is not a Stripe key; treat it as holding no usable string.
      return out.SecretString;
    } catch (error) {
      // AWS answers ResourceNotFoundException for a version that exists but holds no value (the empty
      // AWSPENDING placeholder RotateSecret creates) and for a stage that labels no version.
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  async findVersion(
    secretId: string,
    matches: (value: string) => boolean,
    { skipStages, limit }: { readonly skipStages: readonly string[]; readonly limit: number },
  ): Promise<FoundVersion | undefined> {
    const versions: { VersionId?: string; VersionStages?: string[]; CreatedDate?: Date }[] = [];
    let nextToken: string | undefined;
    // Bounded: each page is one more call.
    for (let page = 0; page < MAX_VERSION_PAGES; page += 1) {
      const out = await this.client.send(
        new ListSecretVersionIdsCommand({
          SecretId: secretId,
          IncludeDeprecated: true,
          MaxResults: 100,
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        }),
      );
      versions.push(...(out.Versions ?? []));
      nextToken = out.NextToken;
      if (nextToken === undefined) break;
    }
    const candidates = versions
      .filter(
        (v) => v.VersionId !== undefined && !(v.VersionStages ?? []).some((s) => skipStages.includes(s)),
      )
      .sort((a, b) => (b.CreatedDate?.getTime() ?? 0) - (a.CreatedDate?.getTime() ?? 0))
      .slice(0, limit);
    for (const version of candidates) {
      const versionId = version.VersionId as string;
      const value = await this.client
        .send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }))
        .then(
          (answer) => answer.SecretString,
          (error: unknown) => {
            // Deleted since it was listed (deprecated versions are removed as Secrets Manager needs).
            if (errorName(error) === 'ResourceNotFoundException') return undefined;
            throw error;
          },
        );
      if (value !== undefined && matches(value)) return { versionId, createdDate: version.CreatedDate };
    }
    return undefined;
  }

  async putPending(secretId: string, token: string, value: string, rotationToken?: string): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        // Always the event's token: the SDK would otherwise invent one and create stray versions.
        ClientRequestToken: token,
        SecretString: value,
        VersionStages: [AWSPENDING],
        ...(rotationToken ? { RotationToken: rotationToken } : {}),
      }),
    );
  }

  async promote(secretId: string, token: string, fromVersionId: string): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: AWSCURRENT,
        MoveToVersionId: token,
        RemoveFromVersionId: fromVersionId,
      }),
    );
  }

  async clearPending(secretId: string, token: string): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: AWSPENDING,
        RemoveFromVersionId: token,
      }),
    );
  }

  async writeStaged(secretId: string, value: string): Promise<void> {
    // No VersionStages: AWSCURRENT moves to the new version. The SDK's generated token makes its own
    // retries idempotent; a replayed finishSecret compares values first and writes nothing twice.
    await this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
  }

  async readCurrent(secretId: string): Promise<string | undefined> {
    try {
      const value = await this.getValue(secretId, { stage: AWSCURRENT });
      // "No value" and "no such secret" share one error name: tell them apart only on this rare path.
      if (value === undefined) await this.describe(secretId);
      return value;
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') {
        throw new ConfigurationError(
          `Secret ${secretId} does not exist (check the function's configuration)`,
          {
            cause: error,
          },
        );
      }
      if (errorName(error) === 'AccessDeniedException') {
        throw new ConfigurationError(
          `Access denied reading secret ${secretId}: the rotation function's role needs secretsmanager:GetSecretValue on it (and kms:Decrypt on its key)`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** `{ [key]: value }`, or nothing when the value is undefined (exactOptionalPropertyTypes). */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
