/**
 * `push`'s plain words: a --retry-from file that is missing or empty said as such (no error class name),
 * and a site's attempts counted once on its line.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { always, json } from '../../sim/site-behaviours.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { createTestCa } from '../../sim/tls.js';
import { secret } from '../support/secret-guard.js';
import { runCli, scratchDir } from './cli-harness.js';

const KEY = secret('sk_test_CliPushMessagesKey000000000000000000000001');
const MASTER = secret('template-master-key-cli-messages-41b9');

let fleet: TemplateFleet;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let env: Record<string, string>;
let sitesFile: string;

beforeAll(async () => {
  const ca = await createTestCa();
  fleet = await startTemplateFleet({ size: 2, masterApiKey: MASTER, ca });
  scratch = await scratchDir();
  env = {
    NODE_EXTRA_CA_CERTS: await scratch.write('ca.pem', ca.certPem),
    STRIPE_SECRET_KEY: KEY,
    TEMPLATE_MASTER_API_KEY: MASTER,
  };
  sitesFile = await scratch.write('sites.txt', `${fleet.urls.join('\n')}\n`);
});

afterAll(async () => {
  await fleet.close();
  await scratch.remove();
});

describe.concurrent('push --retry-from with a file that is not a result', () => {
  it.for([
    ['missing', async () => scratch.path('missing.json'), 'no such file'],
    [
      'empty (a shell truncated it)',
      () => scratch.write('empty.json', ''),
      'it is empty or not a complete push --json result',
    ],
    [
      'cut short',
      () => scratch.write('partial.json', '{"ok": false, "results": ['),
      'it is empty or not a complete push --json result',
    ],
  ] as const)('says the file is %s, in plain words (exit 2)', async ([, make, said], { expect }) => {
    const file = await make();

    const run = await runCli(['push', '--sites-file', sitesFile, '--retry-from', file, '--force'], { env });

    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`Cannot use --retry-from ${file}: ${said}`);
    expect(run.stderr).not.toMatch(/\((Error|SyntaxError)\)/);
  });
});

describe('a site that keeps answering 503', () => {
  it('has its attempts counted once on its line', async ({ expect }) => {
    fleet.site(0).behave(always(json(503, { success: false, error: 'unavailable' })));

    const run = await runCli(['push', '--sites-file', sitesFile, '--force', '--canary', '0'], { env });

    expect(run.code, run.stderr).toBe(1);
    const line = run.stderr.split('\n').find((text) => text.includes(fleet.site(0).url)) ?? '';
    expect(line).toMatch(/server_error/);
    expect(line.match(/\d+ attempts/g), line).toHaveLength(1);
  });
});
