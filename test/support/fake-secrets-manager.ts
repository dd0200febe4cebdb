/**
 * A stateful Secrets Manager behind `aws-sdk-client-mock`: the real SDK client and our real adapter run,
 * only the transport is replaced. The version and label rules are `SecretVersions` (the same model the
 * CLI's local runs use); this file only translates SDK commands to it and its refusals to the AWS
 * exceptions they stand for, plus ResourceNotFoundException for a version without a value — the points
 * where moto deviates from AWS (docs/rotation-protocol.md).
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerRefusal, SecretVersions } from '../../sim/secret-versions.js';

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

/** Runs a model operation, answering its refusals as the AWS exception they stand for. */
function answer<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (error instanceof SecretsManagerRefusal) throw awsError(error.exception, error.message);
    throw error;
  }
}

export class FakeSecretsManager {
  readonly client = new SecretsManagerClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  readonly mock = mockClient(this.client);
  private readonly secrets = new Map<string, SecretVersions>();

  constructor() {
    this.installHandlers();
  }

  /** (Re)installs the stateful behaviour, e.g. after a test scripted a one-off failure. */
  installHandlers(): void {
    const mock = this.mock;
    mock.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => {
      const secret = this.find(input.SecretId);
      return {
        ARN: secret.arn,
        Name: secret.arn.split(':').pop(),
        RotationEnabled: secret.rotationEnabled,
        VersionIdsToStages: secret.stagesByVersion(),
      };
    });
    mock
      .on(ListSecretVersionIdsCommand)
      .callsFake((input: { SecretId: string; IncludeDeprecated?: boolean }) => {
        const secret = this.find(input.SecretId);
        return {
          ARN: secret.arn,
          // Like AWS: versions holding a value, the deprecated ones only when asked.
          Versions: secret
            .list()
            .filter((v) => v.hasValue && (input.IncludeDeprecated === true || v.stages.length > 0))
            .map((v) => ({ VersionId: v.versionId, VersionStages: v.stages })),
        };
      });
    mock
      .on(GetSecretValueCommand)
      .callsFake((input: { SecretId: string; VersionId?: string; VersionStage?: string }) => {
        const secret = this.find(input.SecretId);
        const version = secret.read({
          ...(input.VersionId ? { versionId: input.VersionId } : {}),
          ...(input.VersionStage ? { stage: input.VersionStage } : {}),
        });
        if (version === undefined) {
          throw awsError(
            'ResourceNotFoundException',
            "Secrets Manager can't find the specified secret value for staging label or version",
          );
        }
        return {
          ARN: secret.arn,
          VersionId: version.versionId,
          SecretString: version.value,
          VersionStages: version.stages,
        };
      });
    mock
      .on(PutSecretValueCommand)
      .callsFake(
        (input: {
          SecretId: string;
          ClientRequestToken?: string;
          SecretString?: string;
          VersionStages?: string[];
        }) => {
          const secret = this.find(input.SecretId);
          if (input.SecretString === undefined) {
            throw awsError('InvalidParameterException', 'This fake holds SecretString values only');
          }
          const token = input.ClientRequestToken ?? randomUUID();
          const value = input.SecretString;
          answer(() => secret.put(token, value, input.VersionStages));
          return { ARN: secret.arn, VersionId: token };
        },
      );
    mock
      .on(UpdateSecretVersionStageCommand)
      .callsFake(
        (input: {
          SecretId: string;
          VersionStage: string;
          MoveToVersionId?: string;
          RemoveFromVersionId?: string;
        }) => {
          const secret = this.find(input.SecretId);
          answer(() =>
            secret.moveStage(input.VersionStage, {
              ...(input.MoveToVersionId ? { moveToVersionId: input.MoveToVersionId } : {}),
              ...(input.RemoveFromVersionId ? { removeFromVersionId: input.RemoveFromVersionId } : {}),
            }),
          );
          return { ARN: secret.arn };
        },
      );
  }

  /** Creates a secret whose AWSCURRENT holds `value` (or no version at all when undefined). */
  createSecret(name: string, value?: string, options: { rotationEnabled?: boolean } = {}): string {
    const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
    const secret = new SecretVersions(arn, { rotationEnabled: options.rotationEnabled ?? true });
    if (value !== undefined) secret.put(randomUUID(), value);
    this.secrets.set(arn, secret);
    return arn;
  }

  /** What RotateSecret does before invoking the Lambda: an empty AWSPENDING version under a new token. */
  startRotation(arn: string): string {
    const token = randomUUID();
    this.find(arn).startRotation(token);
    return token;
  }

  /** An operator (or the CLI) writing a new AWSCURRENT value, e.g. staging a key. */
  putCurrent(arn: string, value: string): void {
    this.find(arn).put(randomUUID(), value);
  }

  valueAt(arn: string, stage: string): string | undefined {
    return this.find(arn).read({ stage })?.value;
  }

  versionIdAt(arn: string, stage: string): string | undefined {
    return this.find(arn).holderOf(stage);
  }

  /** DescribeSecret's VersionIdsToStages. */
  stagesByVersion(arn: string): Record<string, string[]> {
    return this.find(arn).stagesByVersion();
  }

  versionCount(arn: string): number {
    return this.find(arn).list().length;
  }

  /** Number of write calls (PutSecretValue, UpdateSecretVersionStage) the client received. */
  writeCalls(): number {
    return (
      this.mock.commandCalls(PutSecretValueCommand).length +
      this.mock.commandCalls(UpdateSecretVersionStageCommand).length
    );
  }

  private find(id: string): SecretVersions {
    const secret =
      this.secrets.get(id) ?? [...this.secrets.values()].find((s) => s.arn.includes(`:secret:${id}-`));
    if (!secret)
      throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }
}
