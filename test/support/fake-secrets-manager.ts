/**
 * A stateful Secrets Manager behind `aws-sdk-client-mock`: the real SDK client and our real adapter run,
 * only the transport is replaced. It models the AWS behaviour the rotation depends on (labels move,
 * AWSPREVIOUS follows AWSCURRENT, RemoveFromVersionId is mandatory, a token re-used with another value is
 * ResourceExistsException, a version without a value is ResourceNotFoundException) — the points where
 * moto deviates from AWS (rotation-protocol.md).
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

interface Version {
  value: string | undefined;
  readonly stages: Set<string>;
}

interface FakeSecret {
  readonly arn: string;
  rotationEnabled: boolean;
  readonly versions: Map<string, Version>;
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

export class FakeSecretsManager {
  readonly client = new SecretsManagerClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  readonly mock = mockClient(this.client);
  private readonly secrets = new Map<string, FakeSecret>();

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
        VersionIdsToStages: Object.fromEntries(
          [...secret.versions].filter(([, v]) => v.stages.size > 0).map(([id, v]) => [id, [...v.stages]]),
        ),
      };
    });
    mock
      .on(GetSecretValueCommand)
      .callsFake((input: { SecretId: string; VersionId?: string; VersionStage?: string }) => {
        const secret = this.find(input.SecretId);
        const stage = input.VersionStage ?? (input.VersionId ? undefined : 'AWSCURRENT');
        const match = [...secret.versions].find(
          ([id, v]) => (!input.VersionId || id === input.VersionId) && (!stage || v.stages.has(stage)),
        );
        if (!match || match[1].value === undefined) {
          throw awsError(
            'ResourceNotFoundException',
            "Secrets Manager can't find the specified secret value for staging label or version",
          );
        }
        return {
          ARN: secret.arn,
          VersionId: match[0],
          SecretString: match[1].value,
          VersionStages: [...match[1].stages],
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
          const token = input.ClientRequestToken ?? randomUUID();
          const existing = secret.versions.get(token);
          if (existing?.value !== undefined) {
            if (existing.value !== input.SecretString) {
              throw awsError(
                'ResourceExistsException',
                'A resource with the ID you requested already exists.',
              );
            }
            return { ARN: secret.arn, VersionId: token };
          }
          const stages = input.VersionStages ?? ['AWSCURRENT'];
          for (const stage of stages) this.detachStage(secret, stage);
          const version = existing ?? { value: undefined, stages: new Set<string>() };
          version.value = input.SecretString;
          for (const stage of stages) version.stages.add(stage);
          secret.versions.set(token, version);
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
          const holder = [...secret.versions].find(([, v]) => v.stages.has(input.VersionStage));
          if (
            holder &&
            input.MoveToVersionId &&
            holder[0] !== input.MoveToVersionId &&
            holder[0] !== input.RemoveFromVersionId
          ) {
            throw awsError(
              'InvalidParameterException',
              `The parameter RemoveFromVersionId can't be empty. Staging label ${input.VersionStage} is currently attached to version ${holder[0]}, so you must explicitly reference that version in RemoveFromVersionId.`,
            );
          }
          if (input.RemoveFromVersionId)
            secret.versions.get(input.RemoveFromVersionId)?.stages.delete(input.VersionStage);
          if (input.MoveToVersionId) {
            const target = secret.versions.get(input.MoveToVersionId);
            if (!target) throw awsError('ResourceNotFoundException', 'version not found');
            if (input.VersionStage === 'AWSCURRENT' && holder && holder[0] !== input.MoveToVersionId) {
              this.detachStage(secret, 'AWSPREVIOUS');
              holder[1].stages.add('AWSPREVIOUS');
            }
            target.stages.add(input.VersionStage);
          }
          return { ARN: secret.arn };
        },
      );
  }

  /** Creates a secret whose AWSCURRENT holds `value` (or no version at all when undefined). */
  createSecret(name: string, value?: string, options: { rotationEnabled?: boolean } = {}): string {
    const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
    const versions = new Map<string, Version>();
    if (value !== undefined) versions.set(randomUUID(), { value, stages: new Set(['AWSCURRENT']) });
    this.secrets.set(arn, { arn, rotationEnabled: options.rotationEnabled ?? true, versions });
    return arn;
  }

  /** What RotateSecret does before invoking the Lambda: an empty AWSPENDING version under a new token. */
  startRotation(arn: string): string {
    const secret = this.find(arn);
    const token = randomUUID();
    this.detachStage(secret, 'AWSPENDING');
    secret.versions.set(token, { value: undefined, stages: new Set(['AWSPENDING']) });
    secret.rotationEnabled = true;
    return token;
  }

  /** An operator (or the CLI) writing a new AWSCURRENT value, e.g. staging a key. */
  putCurrent(arn: string, value: string): void {
    const secret = this.find(arn);
    const previous = [...secret.versions].find(([, v]) => v.stages.has('AWSCURRENT'));
    this.detachStage(secret, 'AWSPREVIOUS');
    if (previous) {
      previous[1].stages.delete('AWSCURRENT');
      previous[1].stages.add('AWSPREVIOUS');
    }
    secret.versions.set(randomUUID(), { value, stages: new Set(['AWSCURRENT']) });
  }

  valueAt(arn: string, stage: string): string | undefined {
    return [...this.find(arn).versions.values()].find((v) => v.stages.has(stage))?.value;
  }

  versionIdAt(arn: string, stage: string): string | undefined {
    return [...this.find(arn).versions].find(([, v]) => v.stages.has(stage))?.[0];
  }

  versionCount(arn: string): number {
    return this.find(arn).versions.size;
  }

  /** Number of write calls (PutSecretValue, UpdateSecretVersionStage) the client received. */
  writeCalls(): number {
    return (
      this.mock.commandCalls(PutSecretValueCommand).length +
      this.mock.commandCalls(UpdateSecretVersionStageCommand).length
    );
  }

  private find(id: string): FakeSecret {
    const secret =
      this.secrets.get(id) ?? [...this.secrets.values()].find((s) => s.arn.includes(`:secret:${id}-`));
    if (!secret)
      throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  private detachStage(secret: FakeSecret, stage: string): void {
    for (const version of secret.versions.values()) version.stages.delete(stage);
  }
}
