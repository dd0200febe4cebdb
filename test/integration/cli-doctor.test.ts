/**
 * `doctor` as an operator runs it: its help, its usage errors, and its --json document. AWS is a loopback
 * server playing CloudFormation, answering that the stack does not exist; nothing else is contacted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, scratchDir } from './cli-harness.js';

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let cloudFormation: Server;
let env: Record<string, string>;

beforeAll(async () => {
  scratch = await scratchDir();
  cloudFormation = createServer((_request, response) => {
    response
      .writeHead(400, { 'content-type': 'text/xml' })
      .end(
        '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>' +
          '<Code>ValidationError</Code><Message>Stack with id Nowhere does not exist</Message></Error>' +
          '<RequestId>1</RequestId></ErrorResponse>',
      );
  });
  await new Promise<void>((resolve) => cloudFormation.listen(0, '127.0.0.1', resolve));
  env = {
    AWS_CONFIG_FILE: await scratch.write('config', ''),
    AWS_SHARED_CREDENTIALS_FILE: await scratch.write('credentials', ''),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEONLY',
    AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
    AWS_ENDPOINT_URL: `http://127.0.0.1:${(cloudFormation.address() as AddressInfo).port}`,
  };
});

afterAll(async () => {
  await new Promise((resolve) => cloudFormation?.close(resolve));
  await scratch?.remove();
});

describe('stripe-key-rotator doctor', () => {
  it('is listed in the top-level help, and explains its checks and exit codes', async () => {
    const top = await runCli(['--help']);
    const help = await runCli(['doctor', '--help']);

    expect(top.stdout).toMatch(/^ {2}doctor +check a live deployment/m);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: stripe-key-rotator doctor --stack <name>');
    expect(help.stdout).toMatch(/0 {2}every check holds/);
    expect(help.stdout).toMatch(/1 {2}a check fails/);
    expect(help.stdout).toMatch(/2 {2}usage or configuration error/);
  });

  it('refuses to run without --stack (exit 2)', async () => {
    const run = await runCli(['doctor', '--region', 'eu-west-3'], { env });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--stack');
  });

  it('refuses a --stack that names no stack, showing a key pasted there masked (exit 2)', async () => {
    const pasted = `sk_live_${'A1b2C3d4'.repeat(4)}`;
    const run = await runCli(['doctor', '--stack', pasted, '--region', 'eu-west-3'], { env });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--stack must be a stack name');
    expect(run.stderr).toContain('sk_live_…');
    expect(`${run.stdout}${run.stderr}`).not.toContain(pasted);
  });

  it('prints one JSON document with a checks array, and exits 1 when a check fails', async () => {
    const run = await runCli(['doctor', '--stack', 'Nowhere', '--region', 'eu-west-3', '--json'], { env });

    expect(run.code, run.stderr).toBe(1);
    const document = JSON.parse(run.stdout) as { stack: string; ok: boolean; checks: unknown[] };
    expect(document).toEqual({
      stack: 'Nowhere',
      ok: false,
      checks: [
        {
          id: 'stack',
          ok: false,
          detail: 'no stack Nowhere in eu-west-3',
          fix: expect.stringContaining('--region'),
        },
      ],
    });
  });

  it('prints ✘ with the fix on a line of its own', async () => {
    const run = await runCli(['doctor', '--stack', 'Nowhere', '--region', 'eu-west-3'], { env });

    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^✘ stack {2}no stack Nowhere in eu-west-3\n {9}fix: check the name/m);
    expect(run.stdout).toContain('Nowhere: 1 checks, 1 failed');
  });
});
