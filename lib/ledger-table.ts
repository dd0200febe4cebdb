/**
 * The propagation ledger's table. Its key schema is shared with the function's adapter
 * (core/rules/ledger-schema.ts): they cannot drift apart.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { LEDGER_TABLE_SCHEMA } from '../core/index.js';

/** The table (id LedgerTable in `scope`), on-demand, encrypted, with point-in-time recovery. */
export function createLedgerTable(
  scope: Construct,
  encryptionKey: kms.IKey | undefined,
  removalPolicy: RemovalPolicy,
): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'LedgerTable', {
    partitionKey: { name: LEDGER_TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: LEDGER_TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption:
      encryptionKey === undefined
        ? dynamodb.TableEncryption.AWS_MANAGED
        : dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: LEDGER_TABLE_SCHEMA.timeToLiveAttribute,
    // The ledger is the rotation's memory (what every site holds): a stack update must not drop it. A stack
    // whose resources are to be destroyed (a sandbox) could not delete it with the protection on.
    deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
    removalPolicy,
  });
  table.addGlobalSecondaryIndex({
    indexName: LEDGER_TABLE_SCHEMA.historyIndex.name,
    partitionKey: {
      name: LEDGER_TABLE_SCHEMA.historyIndex.partitionKey,
      type: dynamodb.AttributeType.STRING,
    },
    sortKey: { name: LEDGER_TABLE_SCHEMA.historyIndex.sortKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  return table;
}
