/**
 * The three secrets a rotation uses, created when not adopted: the rotated secret (the key in service), the
 * staged key secret (the next key) and the sites' master API key. Named only when a name prefix is given.
 */
import { type RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type KeyMode, NOTHING_STAGED } from '../core/index.js';

export interface RotationSecretsProps {
  readonly serviceName: string;
  /** Names the secrets `<namePrefix>/...`; absent, CloudFormation generates their names. */
  readonly namePrefix?: string;
  readonly keyMode: KeyMode;
  readonly encryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
  /** Adopted secrets, used as they are. */
  readonly rotatedSecret?: secretsmanager.ISecret;
  readonly stagedKeySecret?: secretsmanager.ISecret;
  readonly masterApiKeySecret?: secretsmanager.ISecret;
}

export interface RotationSecrets {
  readonly rotatedSecret: secretsmanager.ISecret;
  readonly stagedKeySecret: secretsmanager.ISecret;
  readonly masterApiKeySecret: secretsmanager.ISecret;
}

/** The adopted secrets, and the others created in `scope` (ids RotatedSecret, StagedKeySecret, MasterApiKeySecret). */
export function createRotationSecrets(scope: Construct, props: RotationSecretsProps): RotationSecrets {
  const { serviceName, keyMode } = props;
  const ownedSecret = (
    secretId: string,
    name: string,
    description: string,
    value: Pick<secretsmanager.SecretProps, 'generateSecretString' | 'secretStringValue'>,
  ) =>
    new secretsmanager.Secret(scope, secretId, {
      secretName: props.namePrefix === undefined ? undefined : `${props.namePrefix}/${name}`,
      description,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
      ...value,
    });
  // A random alphanumeric placeholder is never a valid sk_ key: the rotation refuses to start from it.
  // CloudFormation rewrites a secret's value (and the parameter's) when these properties change, so
  // they depend only on keyMode and serviceName, which a deployment in service never changes.
  const placeholder = { generateSecretString: { passwordLength: 48, excludePunctuation: true } };
  const rotatedName =
    props.namePrefix === undefined
      ? `the Stripe key secret of ${serviceName}`
      : `${props.namePrefix}/stripe-secret-key`;

  const rotatedSecret =
    props.rotatedSecret ??
    ownedSecret(
      'RotatedSecret',
      'stripe-secret-key',
      `Stripe ${keyMode} secret key in service (AWSCURRENT), rotated by ${serviceName}. ` +
        'To change it, stage the next key in the staged key secret and rotate this one; never label AWSPENDING here.',
      placeholder,
    );
  const stagedKeySecret =
    props.stagedKeySecret ??
    ownedSecret(
      'StagedKeySecret',
      'staged-stripe-secret-key',
      `Next Stripe ${keyMode} secret key for ${serviceName}: write the new sk_${keyMode}_ key ` +
        `here, then "Rotate secret immediately" on ${rotatedName}. "${NOTHING_STAGED.placeholder}" = nothing staged.`,
      { secretStringValue: SecretValue.unsafePlainText(NOTHING_STAGED.placeholder) },
    );
  const masterApiKeySecret =
    props.masterApiKeySecret ??
    ownedSecret(
      'MasterApiKeySecret',
      'master-api-key',
      `Master API key (X-API-Key) the template sites of ${serviceName} accept. Replace the placeholder.`,
      placeholder,
    );

  // What aws-cdk-lib's RotationSchedule adds and the L1 path would drop: the account root may not delete
  // the secrets this construct owns (an adopted secret's policy belongs to its owner).
  for (const secret of [rotatedSecret, stagedKeySecret, masterApiKeySecret]) {
    if (secret instanceof secretsmanager.Secret) secret.denyAccountRootDelete();
  }

  // Only for the secrets created here: an adopted secret's findings are its owner's.
  const noRotation = (
    adopted: secretsmanager.ISecret | undefined,
    secret: secretsmanager.ISecret,
    reason: string,
  ) => {
    if (adopted === undefined) Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason });
  };
  noRotation(
    props.stagedKeySecret,
    stagedKeySecret,
    'Holds the next Stripe key, which only a person can create (rolling it in the Stripe Dashboard); ' +
      'nothing could rotate it automatically. The key it stages is rotated in through the rotated secret.',
  );
  noRotation(
    props.masterApiKeySecret,
    masterApiKeySecret,
    "Must equal every template site's TEMPLATE_MASTER_API_KEY and the sites offer no endpoint to change " +
      'it: an automatic rotation would lock the function out of the fleet. Changed by operators with the sites.',
  );
  return { rotatedSecret, stagedKeySecret, masterApiKeySecret };
}
