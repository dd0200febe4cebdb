/**
 * Everything the rotation function may do, written out statement by statement (no managed policy, no
 * `grant*` helper that would widen a resource or drop a condition): its own secret versions, read on the
 * staged and master keys, its log group, the ledger, the site list, and each key only via its service.
 */
import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { LEDGER_TABLE_SCHEMA } from '../core/index.js';
import type { SiteListChoice } from './site-list.js';
import { siteListReadStatements } from './site-list-access.js';

/** What the function works on. */
export interface RotationResources {
  readonly rotatedSecret: secretsmanager.ISecret;
  readonly stagedKeySecret: secretsmanager.ISecret;
  readonly masterApiKeySecret: secretsmanager.ISecret;
  readonly logGroup: logs.ILogGroup;
  readonly ledgerTable: dynamodb.ITable;
  /** The `SITES_PARAMETER` value. */
  readonly sitesParameterName: string;
  readonly siteList: SiteListChoice;
}

/**
 * Adds every statement to `role`'s principal policy. An immutable imported role silently takes none
 * (aws-cdk-lib's `ImmutableRole` reports them added): its owner attaches them.
 */
export function grantRotationPermissions(role: iam.IRole, deployed: RotationResources): void {
  // The deployment's stack (a role of your own may live elsewhere): its region is the services' region.
  const stack = Stack.of(deployed.logGroup);
  const addToRole = (statement: iam.PolicyStatement) => role.addToPrincipalPolicy(statement);
  const rotatedArn = fullSecretArn(deployed.rotatedSecret);
  addToRole(
    new iam.PolicyStatement({
      sid: 'RotateOwnSecretVersions',
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        // createSecret's staged-key verdict reads older versions (deprecated ones too) by id.
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      resources: [rotatedArn],
    }),
  );
  addToRole(
    new iam.PolicyStatement({
      sid: 'ReadStagedAndMasterKeys',
      // DescribeSecret tells "exists but holds no value" from "does not exist" in the error message.
      actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      resources: [fullSecretArn(deployed.stagedKeySecret), fullSecretArn(deployed.masterApiKeySecret)],
    }),
  );
  addToRole(
    new iam.PolicyStatement({
      sid: 'ResetStagedKey',
      // After AWSCURRENT moved, finishSecret puts the nothing-staged value back: a new version, no label moves.
      actions: ['secretsmanager:PutSecretValue'],
      resources: [fullSecretArn(deployed.stagedKeySecret)],
    }),
  );
  addToRole(
    new iam.PolicyStatement({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [deployed.logGroup.logGroupArn],
    }),
  );

  addToRole(
    new iam.PolicyStatement({
      sid: 'RecordLedger',
      // Exactly the calls of adapters/aws/dynamodb-ledger.ts and its batch-writer.ts: no Scan, no DeleteItem.
      actions: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:Query',
      ],
      resources: [deployed.ledgerTable.tableArn],
    }),
  );
  addToRole(
    new iam.PolicyStatement({
      sid: 'ReadLedgerHistory',
      actions: ['dynamodb:Query'],
      resources: [`${deployed.ledgerTable.tableArn}/index/${LEDGER_TABLE_SCHEMA.historyIndex.name}`],
    }),
  );
  if (deployed.ledgerTable.encryptionKey !== undefined) {
    addToRole(
      new iam.PolicyStatement({
        sid: 'UseLedgerKey',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [deployed.ledgerTable.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` } },
      }),
    );
  }

  for (const statement of siteListReadStatements(
    deployed.logGroup,
    deployed.siteList,
    deployed.sitesParameterName,
  )) {
    addToRole(statement);
  }

  // Customer managed keys of the secrets: Decrypt to read, GenerateDataKey to write the pending version and
  // the staged key reset, each only via Secrets Manager and only for the secret it protects.
  const read = secretsByKey([deployed.rotatedSecret, deployed.stagedKeySecret, deployed.masterApiKeySecret]);
  const write = secretsByKey([deployed.rotatedSecret, deployed.stagedKeySecret]);
  [...read.entries()].forEach(([key, readArns], index) => {
    const suffix = read.size > 1 ? String(index + 1) : '';
    // One key, used only via Secrets Manager and only for the secrets named.
    const useKeyFor = (sid: string, action: string, secretArns: readonly string[]) =>
      addToRole(
        new iam.PolicyStatement({
          sid: `${sid}${suffix}`,
          actions: [action],
          resources: [key.keyArn],
          conditions: secretKeyConditions(stack.region, secretArns),
        }),
      );
    useKeyFor('DecryptSecrets', 'kms:Decrypt', readArns);
    const writeArns = write.get(key);
    if (writeArns !== undefined) useKeyFor('EncryptWrittenSecrets', 'kms:GenerateDataKey', writeArns);
  });
}

/** The ARNs (as a policy may name them) of the secrets encrypted with each customer managed key. */
export function secretsByKey(secrets: readonly secretsmanager.ISecret[]): Map<kms.IKey, string[]> {
  const byKey = new Map<kms.IKey, string[]>();
  for (const secret of secrets) {
    if (secret.encryptionKey === undefined) continue;
    byKey.set(secret.encryptionKey, [...(byKey.get(secret.encryptionKey) ?? []), fullSecretArn(secret)]);
  }
  return byKey;
}

/** A secret key's use only through Secrets Manager and only for these secrets (by encryption context). */
export function secretKeyConditions(region: string, secretArns: readonly string[]): Record<string, unknown> {
  const via = { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` };
  const context = { 'kms:EncryptionContext:SecretARN': secretArns.length === 1 ? secretArns[0] : secretArns };
  // A secret known by name only is named with the suffix wildcard, which StringEquals would not match.
  return secretArns.some((arn) => arn.endsWith('-??????'))
    ? { StringEquals: via, StringLike: context }
    : { StringEquals: { ...via, ...context } };
}

/** The ARN a policy may name: the complete ARN, or the partial one plus the 6-character suffix. */
export function fullSecretArn(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}
