/**
 * The rotation handler exactly as lambda/handler.ts builds it, but with the in-memory ledger: bench/deployed.ts
 * runs the same rotation with both, and the difference in CPU is the DynamoDB ledger's share.
 */
import { createRotationHandler } from '../lambda/runtime.js';
import { InMemoryLedger } from '../sim/memory-ledger.js';

export const handler = createRotationHandler(process.env, { ledger: new InMemoryLedger() });
