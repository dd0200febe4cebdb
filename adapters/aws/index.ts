/** The AWS adapters' front door: the functions and the CLI wire the AWS side through `createDeps`. */
export * from './deadline.js';
export * from './deps.js';
export * from './dynamodb-ledger.js';
export * from './failures.js';
export * from './secrets-manager.js';
export * from './sns-notifier.js';
export * from './ssm-site-list.js';
export * from './stack-outputs.js';
