/**
 * Key schema of the propagation ledger's DynamoDB table. Dependency-free on purpose: the CDK construct
 * (lib/) imports it to create the table, the adapter (adapters/aws/dynamodb-ledger.ts) to use it, and the
 * emulator suite to create the same table in moto, so the three cannot drift apart.
 */
export const LEDGER_TABLE_SCHEMA = {
  /** Partition key (S). */
  partitionKey: 'pk',
  /** Sort key (S). */
  sortKey: 'sk',
  /** TTL attribute (epoch seconds), set on rotation items only: what a site holds never expires. */
  timeToLiveAttribute: 'expiresAt',
  /** Global secondary index listing a secret's rotations by creation time (projection ALL). */
  historyIndex: {
    name: 'history',
    /** GSI partition key (S): `HISTORY#<secretArn>`. */
    partitionKey: 'gsi1pk',
    /** GSI sort key (S): `<createdAt ISO>#<token>`. */
    sortKey: 'gsi1sk',
  },
} as const;
