/**
 * Reads the rotated secret's rotation state for the watchdog: DescribeSecret (rotation enabled, last
 * rotation, creation) and ListSecretVersionIds (when the AWSPENDING version was created).
 */
import {
  DescribeSecretCommand,
  paginateListSecretVersionIds,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { marksUnfinishedRotation, type RotationState, type RotationStateReader } from '../../core/index.js';

export class SecretsManagerRotationState implements RotationStateReader {
  constructor(private readonly client: SecretsManagerClient) {}

  async rotationState(secretId: string): Promise<RotationState> {
    const secret = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    let pendingCreatedAt: Date | undefined;
    // The paginator ends on a missing or empty NextToken (moto answers an empty string for "no more pages").
    for await (const page of paginateListSecretVersionIds({ client: this.client }, { SecretId: secretId })) {
      for (const version of page.Versions ?? []) {
        if (marksUnfinishedRotation(version.VersionStages ?? [])) {
          pendingCreatedAt = version.CreatedDate ?? secret.LastChangedDate;
        }
      }
    }
    return {
      arn: secret.ARN ?? secretId,
      rotationEnabled: secret.RotationEnabled === true,
      ...(secret.LastRotatedDate ? { lastRotatedAt: secret.LastRotatedDate } : {}),
      // AWS always returns CreatedDate; without it, report the secret as overdue rather than healthy.
      createdAt: secret.CreatedDate ?? new Date(0),
      ...(pendingCreatedAt ? { pendingCreatedAt } : {}),
    };
  }
}
