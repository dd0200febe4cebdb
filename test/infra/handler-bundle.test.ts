import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHandler, HANDLER_ENV } from '../../bench/cold-start.js';
import { CREDENTIAL_PROVIDERS_LEFT_TO_THE_RUNTIME } from '../../lib/handler-bundle.js';

// The handler bundled with the construct's settings (lib/handler-bundle.ts), outside the repository.
let scratch: string;
let bundle: string;
let inputs: string[];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'skr-handler-bundle-'));
  bundle = await bundleHandler(scratch);
  const metafile = JSON.parse(readFileSync(`${bundle}.meta.json`, 'utf8')) as { inputs: object };
  inputs = Object.keys(metafile.inputs);
}, 60_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the bundled rotation handler', () => {
  it('stays under 1 MB (issue 6)', () => {
    expect(statSync(bundle).size).toBeLessThanOrEqual(1_000_000);
  });

  it("holds undici's Agent and request but not its index (fetch, WebSocket, caches…)", () => {
    expect(inputs).toContain('node_modules/undici/lib/dispatcher/agent.js');
    expect(inputs).not.toContain('node_modules/undici/index.js');
    expect(inputs.filter((input) => input.startsWith('node_modules/undici/lib/web/websocket/'))).toEqual([]);
  });

  it('leaves out the SDK credential providers Lambda never uses, and everything only they need', () => {
    const leftOut = [
      ...CREDENTIAL_PROVIDERS_LEFT_TO_THE_RUNTIME,
      '@aws-sdk/nested-clients',
      '@aws-sdk/token-providers',
      '@aws-sdk/credential-provider-login',
    ];
    expect(
      inputs.filter((input) => leftOut.some((name) => input.startsWith(`node_modules/${name}/`))),
    ).toEqual([]);
    expect(inputs.some((input) => input.startsWith('node_modules/@aws-sdk/credential-provider-env/'))).toBe(
      true,
    );
  });

  it('loads where those providers cannot be resolved: they are required lazily, never at module load', () => {
    const child = spawnSync(
      process.execPath,
      ['-e', `if (typeof require(${JSON.stringify(bundle)}).handler !== 'function') process.exit(3)`],
      {
        cwd: scratch,
        env: { PATH: process.env.PATH ?? '', ...HANDLER_ENV },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(child.stderr).not.toMatch(/Cannot find module/);
    expect(child.status).toBe(0);
  });
});
