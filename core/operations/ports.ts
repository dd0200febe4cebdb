/**
 * What the operator's actions need beyond the rotation's ports: the rotated secret's whole description,
 * starting a rotation, moving a label, a deployment's outputs, and the words for a failure an operator can
 * fix. AWS adapters implement them (adapters/aws); the use cases never see an SDK.
 */
import type { SecretDescription, SecretStore } from '../ports.js';

export interface SecretDetails extends SecretDescription {
  readonly name?: string;
  readonly rotationLambdaArn?: string;
  readonly rotationRules?: {
    readonly automaticallyAfterDays?: number;
    readonly scheduleExpression?: string;
    readonly duration?: string;
  };
  readonly lastRotatedDate?: Date;
  readonly nextRotationDate?: Date;
}

/** The Secrets Manager store as the operator's actions use it. */
export interface SecretAdmin extends SecretStore {
  /** DescribeSecret, all of it. */
  details(secretId: string): Promise<SecretDetails>;
  /** VersionId → creation date, for every version (ListSecretVersionIds). */
  versionCreatedDates(secretId: string): Promise<ReadonlyMap<string, Date | undefined>>;
  /** RotateSecret now, through `rotationLambdaArn`, with `token` as the new version id. */
  startRotation(secretId: string, rotationLambdaArn: string, token: string): Promise<void>;
  /** Removes `stage` from `versionId` (UpdateSecretVersionStage). */
  removeStage(secretId: string, stage: string, versionId: string): Promise<void>;
}

/** A deployment's outputs by name (CloudFormation stack outputs). */
export interface StackOutputsReader {
  /** Throws ConfigurationError for an unknown stack. */
  read(stack: string): Promise<ReadonlyMap<string, string>>;
}

/**
 * Turns a failure the operator can fix (unknown resource, credentials, region) into a ConfigurationError
 * naming what was being done (`doing`); returns anything else unchanged.
 */
export type ExplainFailure = (error: unknown, doing: string) => unknown;

/** Runs `call`, letting `explain` reword an operator-fixable failure. */
export async function attempt<T>(
  explain: ExplainFailure | undefined,
  doing: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explain === undefined ? error : explain(error, doing);
  }
}
