/**
 * Starts the moto AWS emulator (`moto_server`, Python) on a free loopback port for the emulator suite.
 * The suite REQUIRES it: when it is missing the suite fails with install instructions instead of
 * skipping, so a CI machine without it cannot go green by accident.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { LEDGER_TABLE_SCHEMA as SCHEMA } from '../../core/rules/ledger-schema.js';

export interface MotoServer {
  readonly endpoint: string;
  /** Environment that points SDK clients at the emulator (fake credentials, fixed region). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (typeof address !== 'object' || address === null) throw new Error('could not allocate a loopback port');
  return address.port;
}

export async function startMoto(): Promise<MotoServer> {
  const probe = spawnSync('moto_server', ['--help'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "The emulator suite needs the moto AWS emulator: `moto_server` was not found on PATH. Install it with `pip install 'moto[server]'` (Python 3), then run `npm run test:emulator` again.",
    );
  }
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`moto_server exited early (code ${child.exitCode}): ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within ${STARTUP_TIMEOUT_MS} ms: ${stderr}`);
    }
    await sleep(100);
  }

  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Creates the propagation ledger's table (the schema the CDK construct deploys) and returns its name. */
export async function createLedgerTable(
  dynamodb: DynamoDBClient,
  tableName: string,
  options: { readonly historyIndex?: boolean; readonly timeToLive?: boolean } = {},
): Promise<string> {
  // Without the history index: a table of another schema, as an operator might adopt by mistake.
  const historyIndex = options.historyIndex ?? true;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: SCHEMA.partitionKey, AttributeType: 'S' },
        { AttributeName: SCHEMA.sortKey, AttributeType: 'S' },
        ...(historyIndex
          ? [
              { AttributeName: SCHEMA.historyIndex.partitionKey, AttributeType: 'S' as const },
              { AttributeName: SCHEMA.historyIndex.sortKey, AttributeType: 'S' as const },
            ]
          : []),
      ],
      KeySchema: [
        { AttributeName: SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
      ...(historyIndex
        ? {
            GlobalSecondaryIndexes: [
              {
                IndexName: SCHEMA.historyIndex.name,
                KeySchema: [
                  { AttributeName: SCHEMA.historyIndex.partitionKey, KeyType: 'HASH' as const },
                  { AttributeName: SCHEMA.historyIndex.sortKey, KeyType: 'RANGE' as const },
                ],
                Projection: { ProjectionType: 'ALL' as const },
              },
            ],
          }
        : {}),
    }),
  );
  // Off for emulators without UpdateTimeToLive (bench/deployed.ts's dynalite): expiry plays no part there.
  if (options.timeToLive === false) return tableName;
  await dynamodb.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: SCHEMA.timeToLiveAttribute, Enabled: true },
    }),
  );
  return tableName;
}

export interface MotoClients {
  readonly sm: SecretsManagerClient;
  readonly ssm: SSMClient;
  readonly dynamodb: DynamoDBClient;
  destroy(): void;
}

/** SDK clients bound to the emulator (fake credentials, the emulator's region). */
/** What any SDK client needs to talk to the emulator. */
export function motoClientConfig(moto: MotoServer) {
  return {
    endpoint: moto.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}

export function motoClients(moto: MotoServer): MotoClients {
  const config = motoClientConfig(moto);
  const sm = new SecretsManagerClient(config);
  const ssm = new SSMClient(config);
  const dynamodb = new DynamoDBClient(config);
  return {
    sm,
    ssm,
    dynamodb,
    destroy() {
      sm.destroy();
      ssm.destroy();
      dynamodb.destroy();
    },
  };
}

/** A rotation Lambda ARN moto does not have (see `startMotoRotation`). */
export const LAMBDA_NOT_IN_MOTO =
  'arn:aws:lambda:eu-west-1:123456789012:function:stripe-key-rotator-not-in-moto';

export async function secretStages(sm: SecretsManagerClient, arn: string): Promise<Record<string, string[]>> {
  return (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
}

export async function currentSecretValue(
  sm: SecretsManagerClient,
  secretId: string,
): Promise<string | undefined> {
  return (await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' })))
    .SecretString;
}

/**
 * RotateSecret as the console's "Rotate secret immediately" does; returns the pending token. With a rotation
 * Lambda moto does not have, it answers ResourceNotFoundException but leaves exactly the state AWS sets up
 * before invoking the function (rotation enabled, an empty AWSPENDING version): the test then drives the steps.
 * AWS accepts a new rotation while AWSPENDING sits on the AWSCURRENT version (what finishSecret leaves); moto's
 * check is inverted, so that label is removed first, which AWS treats as equivalent.
 */
export async function startMotoRotation(sm: SecretsManagerClient, arn: string): Promise<string> {
  for (const [id, labels] of Object.entries(await secretStages(sm, arn))) {
    if (labels.includes('AWSPENDING') && labels.includes('AWSCURRENT')) {
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: id,
        }),
      );
    }
  }
  const error = await sm
    .send(
      new RotateSecretCommand({
        SecretId: arn,
        RotationLambdaARN: LAMBDA_NOT_IN_MOTO,
        RotationRules: { AutomaticallyAfterDays: 30 },
        RotateImmediately: true,
      }),
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  if ((error as Error | undefined)?.name !== 'ResourceNotFoundException') {
    throw new Error(
      `RotateSecret in moto: expected ResourceNotFoundException for the absent Lambda, got ${String(error)}`,
    );
  }
  const entry = Object.entries(await secretStages(sm, arn)).find(([, labels]) =>
    labels.includes('AWSPENDING'),
  );
  if (!entry) throw new Error('no AWSPENDING version after RotateSecret');
  return entry[0];
}
