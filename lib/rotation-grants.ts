/**
 * What people and other workloads may do with a deployed rotation, as aws-cdk-lib style grants. Each set
 * is exactly what one job needs (reading the key in service, staging the next key, starting a rotation,
 * operating with the CLI), written as statements so the same set can go to a grantee or a managed policy.
 */
import { Annotations, Stack, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { LEDGER_TABLE_SCHEMA } from '../core/index.js';
import { fullSecretArn, secretKeyConditions, secretsByKey } from './rotation-permissions.js';
import type { SiteListChoice } from './site-list.js';
import { siteListReadStatements } from './site-list-access.js';

/** The deployed resources the grants refer to. */
export interface GrantedResources {
  readonly rotatedSecret: secretsmanager.ISecret;
  readonly stagedKeySecret: secretsmanager.ISecret;
  readonly masterApiKeySecret: secretsmanager.ISecret;
  readonly ledgerTable: dynamodb.ITable;
  readonly rotationFunction: lambda.IFunction;
  readonly siteList: SiteListChoice;
  readonly sitesParameterName: string;
  /** The stack whose outputs `--stack` reads; absent, the operators pass every id as a flag. */
  readonly stackArn?: string;
}

/** Secrets Manager actions per use, and what each needs from a customer managed key. */
const SECRET_READ = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];

export class RotationGrants {
  constructor(
    private readonly scope: Construct,
    private readonly resources: GrantedResources,
  ) {}

  /**
   * Read the Stripe key in service (the rotated secret's AWSCURRENT): what a workload that charges with it
   * needs. `secretsmanager:VersionStage` holds the label a request names, and is absent when it names none
   * (AWSCURRENT then) or names a version by id: a request naming another label, or any version id, is refused.
   */
  readKey(): iam.PolicyStatement[] {
    const { rotatedSecret } = this.resources;
    const [read, ...keys] = this.secretStatements('ReadKeyInService', rotatedSecret, SECRET_READ);
    return [
      new iam.PolicyStatement({
        sid: 'DescribeKeyInService',
        actions: ['secretsmanager:DescribeSecret'],
        resources: [fullSecretArn(rotatedSecret)],
      }),
      new iam.PolicyStatement({
        sid: read?.sid,
        actions: ['secretsmanager:GetSecretValue'],
        resources: read?.resources,
        conditions: {
          StringEqualsIfExists: { 'secretsmanager:VersionStage': 'AWSCURRENT' },
          Null: { 'secretsmanager:VersionId': 'true' },
        },
      }),
      ...keys,
    ];
  }

  /**
   * Read every version of the Stripe key secret: AWSPENDING during a rotation, AWSPREVIOUS after one, any
   * version by id. For a workload that must accept the key being rolled in or out, not for one that charges.
   */
  readKeyVersions(): iam.PolicyStatement[] {
    const { rotatedSecret } = this.resources;
    return this.secretStatements('ReadKeyVersions', rotatedSecret, [
      ...SECRET_READ,
      'secretsmanager:ListSecretVersionIds',
    ]);
  }

  /**
   * Write the next key into the staged key secret. The CLI's `stage` also compares the new key with the
   * rotated secret's versions (any label, deprecated ones too) and with the ledger's history, so it reads them.
   */
  stageKey(): iam.PolicyStatement[] {
    const { rotatedSecret, stagedKeySecret } = this.resources;
    return [
      ...this.secretStatements(
        'StageNextKey',
        stagedKeySecret,
        [...SECRET_READ, 'secretsmanager:PutSecretValue'],
        true,
      ),
      // The verdict compares with every version the secret still holds, deprecated ones included.
      ...this.secretStatements('CompareWithKeysInService', rotatedSecret, [
        ...SECRET_READ,
        'secretsmanager:ListSecretVersionIds',
      ]),
      ...this.ledgerStatements('ReadLedger', false),
    ];
  }

  /** Start a rotation: `RotateSecret` needs the caller to be allowed to invoke the rotation function. */
  startRotation(): iam.PolicyStatement[] {
    const { rotatedSecret, rotationFunction } = this.resources;
    return [
      new iam.PolicyStatement({
        sid: 'StartRotation',
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'],
        resources: [fullSecretArn(rotatedSecret)],
      }),
      new iam.PolicyStatement({
        sid: 'InvokeRotationFunction',
        actions: ['lambda:InvokeFunction'],
        resources: [rotationFunction.functionArn],
      }),
    ];
  }

  /**
   * Everything the CLI's `status`, `plan`, `rotate` and `abort` call, and nothing more: read the three
   * secrets and the site list, start a rotation, move the AWSPENDING label away (abort), read the ledger
   * and record in it what each site holds after an abort; and read the outputs of the stack holding the
   * rotation, which `--stack NAME` uses instead of an ARN per flag.
   */
  operate(): iam.PolicyStatement[] {
    const { rotatedSecret, stagedKeySecret, masterApiKeySecret, siteList, sitesParameterName, stackArn } =
      this.resources;
    const statements = [
      ...this.secretStatements('OperateRotatedSecret', rotatedSecret, [
        ...SECRET_READ,
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:UpdateSecretVersionStage',
      ]),
      ...this.startRotation(),
      ...this.secretStatements('ReadStagedAndMasterKeys', [stagedKeySecret, masterApiKeySecret], SECRET_READ),
      ...this.ledgerStatements('OperateLedger', true),
      ...siteListReadStatements(this.scope, siteList, sitesParameterName, 'Operator'),
    ];
    if (stackArn !== undefined) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadStackOutputs',
          actions: ['cloudformation:DescribeStacks'],
          resources: [stackArn],
        }),
      );
    }
    return statements;
  }

  /**
   * Adds `statements` to the grantee's principal policy, as one `Grant`. The secrets and keys grant nothing
   * to another account through their resource policies, so an identity statement alone cannot work for a
   * grantee there: synthesis warns.
   */
  grant(grantee: iam.IGrantable, statements: readonly iam.PolicyStatement[], name: string): iam.Grant {
    const theirs = grantee.grantPrincipal.principalAccount;
    const ours = Stack.of(this.scope).account;
    if (theirs !== undefined && !Token.isUnresolved(theirs) && !Token.isUnresolved(ours) && theirs !== ours) {
      Annotations.of(this.scope).addWarningV2(
        `stripe-key-rotator:${name}:cross-account`,
        `${name}(${grantee.grantPrincipal}): the grantee is in account ${theirs}, not ${ours}; the grant only adds ` +
          "to the grantee's own policy and the secrets' resource policies do not let another account in, so it " +
          'cannot work: grant a role in this account that the other account assumes',
      );
    }
    return statements
      .map((statement) =>
        iam.Grant.addToPrincipal({
          grantee,
          actions: statement.actions,
          resourceArns: statement.resources,
          conditions: statement.conditions,
        }),
      )
      .reduce((all, grant) => all.combine(grant));
  }

  /**
   * Actions on secrets, and their customer managed keys only through Secrets Manager and only for these
   * secrets: Decrypt to read, GenerateDataKey too when the statement writes a version.
   */
  private secretStatements(
    sid: string,
    secrets: secretsmanager.ISecret | readonly secretsmanager.ISecret[],
    actions: readonly string[],
    writes = false,
  ): iam.PolicyStatement[] {
    const list: readonly secretsmanager.ISecret[] = Array.isArray(secrets) ? secrets : [secrets];
    const statements = [
      new iam.PolicyStatement({ sid, actions: [...actions], resources: list.map(fullSecretArn) }),
    ];
    const keys = secretsByKey(list);
    [...keys.entries()].forEach(([key, secretArns], index) => {
      statements.push(
        new iam.PolicyStatement({
          sid: `${sid}Key${keys.size > 1 ? index + 1 : ''}`,
          actions: writes ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: secretKeyConditions(Stack.of(this.scope).region, secretArns),
        }),
      );
    });
    return statements;
  }

  /** Ledger reads (item, rotation queries, history index) and, for `abort`, the writes of what sites hold. */
  private ledgerStatements(sid: string, writes: boolean): iam.PolicyStatement[] {
    const table = this.resources.ledgerTable;
    const statements = [
      new iam.PolicyStatement({
        sid,
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [table.tableArn],
      }),
      new iam.PolicyStatement({
        sid: `${sid}History`,
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${LEDGER_TABLE_SCHEMA.historyIndex.name}`],
      }),
    ];
    if (writes) {
      statements.push(
        new iam.PolicyStatement({
          sid: `${sid}Holdings`,
          actions: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'],
          resources: [table.tableArn],
        }),
      );
    }
    if (table.encryptionKey !== undefined) {
      statements.push(
        new iam.PolicyStatement({
          sid: `${sid}Key`,
          actions: writes ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
          resources: [table.encryptionKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this.scope).region}.amazonaws.com` },
          },
        }),
      );
    }
    return statements;
  }
}
