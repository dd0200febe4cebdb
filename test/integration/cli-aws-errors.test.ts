/**
 * What an operator sees when the AWS side is misconfigured: a message naming the cause (the profile, the
 * endpoint variable, the region, an endpoint that is not AWS) and exit 2, never a bare SDK error. No AWS
 * endpoint is contacted except a loopback server playing a wrong one.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runCli, scratchDir } from './cli-harness.js';

const EXIT_CONFIGURATION = 2;

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let notAws: Server;
let notAwsUrl: string;
let baseEnv: Record<string, string>;

beforeAll(async () => {
  scratch = await scratchDir();
  baseEnv = {
    AWS_CONFIG_FILE: await scratch.write('config', '[profile deploy]\nregion = eu-west-3\n'),
    AWS_SHARED_CREDENTIALS_FILE: await scratch.write('credentials', ''),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  notAws = createServer((_request, response) => {
    response.writeHead(404, { 'content-type': 'text/html' }).end('<!DOCTYPE html><p>Not found</p>');
  });
  await new Promise<void>((resolve) => notAws.listen(0, '127.0.0.1', resolve));
  notAwsUrl = `http://127.0.0.1:${(notAws.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => notAws?.close(resolve));
  await scratch?.remove();
});

function status(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  return runCli(['status', '--secret-id', 'stripe/live/key', ...args], { env: { ...baseEnv, ...env } });
}

const keys = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEONLY', AWS_SECRET_ACCESS_KEY: 'not-a-real-secret' };

describe('the AWS commands when the AWS side is misconfigured', () => {
  it('name a profile that does not exist, and where profiles are read from', async () => {
    const run = await status(['--profile', 'typo', '--region', 'eu-west-3'], {});
    expect(run.code, run.stderr).toBe(EXIT_CONFIGURATION);
    expect(run.stderr).toContain('no credentials for profile "typo"');
    expect(run.stderr).toContain('~/.aws/config');
  });

  it('name AWS_ENDPOINT_URL when it is not a URL', async () => {
    const run = await status(['--region', 'eu-west-3'], { ...keys, AWS_ENDPOINT_URL: 'not-a-url' });
    expect(run.code, run.stderr).toBe(EXIT_CONFIGURATION);
    expect(run.stderr).toContain('AWS_ENDPOINT_URL="not-a-url" is not a URL');
    expect(run.stderr).not.toContain('TypeError');
  });

  it('treat an invalid region as a configuration error', async () => {
    const run = await status(['--region', 'eu west'], keys);
    expect(run.code, run.stderr).toBe(EXIT_CONFIGURATION);
    expect(run.stderr).toContain('region="eu west"');
    expect(run.stderr).toContain('pass --region or set AWS_REGION');
  });

  it('say that an endpoint answering 404 is not the AWS service, naming AWS_ENDPOINT_URL', async () => {
    const run = await status(['--region', 'eu-west-3'], { ...keys, AWS_ENDPOINT_URL: notAwsUrl });
    expect(run.code, run.stderr).toBe(EXIT_CONFIGURATION);
    expect(run.stderr).toContain('the endpoint answered HTTP 404 with something other than an AWS answer');
    expect(run.stderr).toContain(`AWS_ENDPOINT_URL=${notAwsUrl} is set`);
    expect(run.stderr).not.toContain('UnknownError');
  });

  it('show only the origin of an AWS_ENDPOINT_URL that carries credentials', async () => {
    const withCredentials = notAwsUrl.replace('http://', 'http://proxyuser:proxy-password-123@');
    const run = await status(['--region', 'eu-west-3'], { ...keys, AWS_ENDPOINT_URL: withCredentials });
    expect(run.code, run.stderr).toBe(EXIT_CONFIGURATION);
    expect(run.stderr).toContain(`AWS_ENDPOINT_URL=${notAwsUrl} is set`);
    expect(run.stderr).not.toContain('proxy-password-123');
  });
});
