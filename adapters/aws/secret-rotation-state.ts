/**
 * Reads the rotated secret's rotation state for the watchdog: DescribeSecret (rotation enabled, last
 * rotation, creation) and ListSecretVersionIds (when the AWSPENDING version was created).
 */
import {
  DescribeSecretCommand,
  ListSecretVersionIdsCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { marksUnfinishedRotation, type RotationState, type RotationStateReader } from '../../core/index.js';

export class SecretsManagerRotationState implements RotationStateReader {
  constructor(private readonly client: SecretsManagerClient) {}

  async rotationState(secretId: string): Promise<RotationState> {
    const secret = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    let pendingCreatedAt: Date | undefined;
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListSecretVersionIdsCommand({ SecretId: secretId, NextToken: nextToken }),
      );
      for (const version of page.Versions ?? []) {
        const stages = version.VersionStages ?? [];
        if (marksUnfinishedRotation(stages)) {
          pendingCreatedAt = version.CreatedDate ?? secret.LastChangedDate;
        }
      }
      // moto answers an empty string for "no more pages".
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
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
