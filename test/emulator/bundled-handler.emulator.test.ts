/**
 * REQUIRES `moto_server` (see rotation.emulator.test.ts). The deployed artifact, not the sources: the handler
 * bundled by scripts/build.ts (the very build the CDK construct deploys) runs a
 * whole rotation in a separate `node` process, trusting the sites' CA the way a deployment would trust a
 * public one — through Node's default store (here extended by NODE_EXTRA_CA_CERTS), with no test dispatcher.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHandler } from '../../scripts/build.js';
import { type StripeStub, startStripeStub } from '../../sim/stripe-stub.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import {
  createLedgerTable,
  currentSecretValue,
  type MotoClients,
  type MotoServer,
  motoClients,
  startMoto,
  startMotoRotation,
} from '../support/moto.js';
import { fakeKey, MASTER_API_KEY } from '../support/rotation-fixtures.js';
import { observeText } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'BundleCurrent');
const NEXT = fakeKey('test', 'BundleNext');

let moto: MotoServer;
let fleet: TemplateFleet;
let stripe: StripeStub;
let clients: MotoClients;
let sm: SecretsManagerClient;
let scratch: string;
let bundle: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'skr-bundle-'));
  bundle = await bundleHandler(scratch);
  moto = await startMoto();
  clients = motoClients(moto);
  sm = clients.sm;
  fleet = await startTemplateFleet({ size: 10, masterApiKey: MASTER_API_KEY, firstAddress: '127.0.40.2' });
  stripe = await startStripeStub(await fleet.ca.issue({ ips: ['127.0.0.1'] }));
  stripe.keys.set(CURRENT, { account: 'acct_1Bundle', livemode: false });
  stripe.keys.set(NEXT, { account: 'acct_1Bundle', livemode: false });
});

afterAll(async () => {
  await stripe?.close();
  await fleet?.close();
  clients?.destroy();
  await moto?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Runs the four steps through the bundle in a fresh `node` process; resolves with its exit code and output. */
function runBundle(env: Record<string, string>, secretArn: string, token: string) {
  const driver = join(scratch, 'drive.cjs');
  writeFileSync(
    driver,
    `const { handler } = require(${JSON.stringify(bundle)});
(async () => {
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    await handler({ Step, SecretId: ${JSON.stringify(secretArn)}, ClientRequestToken: ${JSON.stringify(token)} },
      { getRemainingTimeInMillis: () => 600000 });
  }
})().then(() => process.exit(0), (error) => { console.error('FAILED ' + error.name); process.exit(1); });
`,
  );
  const child = spawn(process.execPath, [driver], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      observeText(output);
      resolve({ code, output });
    });
  });
}

describe('the bundled handler (the deployed artifact)', () => {
  it('rotates to the staged key across every site, in its own process, trusting the default CA store', async () => {
    const create = async (name: string, value: string) =>
      (await sm.send(new CreateSecretCommand({ Name: `/bundle/${name}`, SecretString: value }))).ARN ?? '';
    const arn = await create('secret-key', CURRENT);
    const staged = await create('staged-key', NEXT);
    const master = await create('master-api-key', MASTER_API_KEY);
    await clients.ssm.send(
      new PutParameterCommand({
        Name: '/bundle/sites',
        Type: 'String',
        Value: fleet.urls.join('\n'),
        Overwrite: true,
      }),
    );
    const table = await createLedgerTable(clients.dynamodb, 'bundle-ledger');
    const caFile = join(scratch, 'ca.pem');
    writeFileSync(caFile, fleet.caPem);
    const token = await startMotoRotation(sm, arn);

    const run = await runBundle(
      {
        PATH: process.env.PATH ?? '',
        ...moto.env,
        NODE_EXTRA_CA_CERTS: caFile,
        STAGED_SECRET_ARN: staged,
        MASTER_API_KEY_SECRET_ARN: master,
        SITES_PARAMETER: '/bundle/sites',
        LEDGER_TABLE: table,
        KEY_MODE: 'test',
        STRIPE_API_BASE: stripe.url,
        SITE_TIMEOUT_MS: '3000',
      },
      arn,
      token,
    );

    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('"message":"Rotation finished: AWSCURRENT moved"');
    expect(run.output).toContain('"_aws"');
    expect(await currentSecretValue(sm, arn)).toBe(NEXT);
    expect(fleet.sites.every((site) => site.storedKey === NEXT && site.requestCount === 1)).toBe(true);
  });
});
