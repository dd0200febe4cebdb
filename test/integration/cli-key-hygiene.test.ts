/**
 * A property over generated sites files: whatever bytes a file holds, and wherever key-shaped strings sit in
 * it (a URL's host, userinfo, path, query or fragment, percent-encoded, a comment, a line of garbage), no
 * key-shaped string from it reaches the CLI's stdout, its stderr (text or --json) or a request line a site
 * receives. The CLI runs as a process against a loopback fleet; no generated line names another host, so
 * nothing is ever looked up.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_IN_TEXT } from '../../core/index.js';
import { startTemplateFleet, type TemplateFleet } from '../../sim/template-fleet.js';
import { createTestCa } from '../../sim/tls.js';
import { secret } from '../support/secret-guard.js';
import { runCli, scratchDir } from './cli-harness.js';

const PUSHED_KEY = secret('sk_test_KeyHygienePushedKey0000000000000000000001');
const MASTER_API_KEY = secret('template-master-key-key-hygiene-6a1f');
const KEY_SHAPED = new RegExp(KEY_IN_TEXT, 'g');

let fleet: TemplateFleet;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let caFile: string;

beforeAll(async () => {
  const ca = await createTestCa();
  fleet = await startTemplateFleet({ size: 3, masterApiKey: MASTER_API_KEY, ca });
  scratch = await scratchDir();
  caFile = await scratch.write('ca.pem', ca.certPem);
});

afterAll(async () => {
  await fleet.close();
  await scratch.remove();
});

/** Secret or restricted keys of either mode, short or whole. */
const key = fc
  .tuple(
    fc.constantFrom('sk', 'rk'),
    fc.constantFrom('live', 'test'),
    fc.stringMatching(/^[A-Za-z0-9]{1,40}$/),
  )
  .map(([kind, mode, body]) => `${kind}_${mode}_${body}`);

const encoded = (text: string) => text.replace(/_/g, '%5F');

/** A line of a sites file with a key placed somewhere in it: in a URL's part, a comment or garbage. */
function placed(site: string, k: string): fc.Arbitrary<string> {
  const origin = new URL(site);
  return fc.oneof(
    fc.constant(`${site}/${k}`),
    fc.constant(`${site}/shop/${encoded(k)}/x`),
    fc.constant(`https://${k}.${origin.host}`),
    fc.constant(`https://${k}@${origin.host}`),
    fc.constant(`https://user:${k}@${origin.host}/`),
    fc.constant(`${site}/?token=${k}`),
    fc.constant(`${site}/#${k}`),
    fc.constant(`${site}  # rotated from ${k}`),
    fc.constant(`# ${k}`),
    fc.constant(k),
    // Garbage never starts with a scheme, so it can never name a host to look up.
    fc
      .tuple(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }))
      .map(([before, after]) => `x${before}${k}${after}`.replace(/[\r\n]/g, ' ')),
  );
}

/** Some of the fleet's own sites, then one to three lines bearing keys, in any order. */
const sitesFile = fc
  .tuple(fc.subarray([0, 1, 2]), fc.array(fc.tuple(fc.nat({ max: 2 }), key), { minLength: 1, maxLength: 3 }))
  .chain(([plain, picks]) =>
    fc.shuffledSubarray(
      [
        ...plain.map((site) => fc.constant(fleet.urls[site] as string)),
        ...picks.map(([site, k]) => placed(fleet.urls[site] as string, k)),
      ],
      { minLength: plain.length + picks.length },
    ),
  )
  .chain((lines) => fc.tuple(...lines))
  .map((lines) => lines.join('\n'));

function keysIn(text: string): string[] {
  return [...text.matchAll(KEY_SHAPED)].map((match) => match[0]);
}

describe('no key-shaped string from a sites file leaves the CLI', () => {
  it('reaches neither stdout, stderr nor a request line, in text or --json', async () => {
    let files = 0;
    await fc.assert(
      fc.asyncProperty(sitesFile, fc.boolean(), async (text, json) => {
        fleet.resetStats();
        files += 1;
        const file = await scratch.write(`sites-${files}.txt`, text);
        const run = await runCli(
          ['push', '--sites-file', file, '--force', '--timeout', '1s', ...(json ? ['--json'] : [])],
          {
            entry: 'shim',
            env: {
              NODE_EXTRA_CA_CERTS: caFile,
              STRIPE_SECRET_KEY: PUSHED_KEY,
              TEMPLATE_MASTER_API_KEY: MASTER_API_KEY,
            },
          },
        );
        expect(run.timedOut, run.stderr).toBe(false);
        const requestLines = fleet.sites.flatMap((site) => site.requests.map((request) => request.path));
        expect({
          stdout: keysIn(run.stdout),
          stderr: keysIn(run.stderr),
          requests: keysIn(requestLines.join('\n')),
        }).toEqual({ stdout: [], stderr: [], requests: [] });
        for (const k of keysIn(text)) {
          expect(`${run.stdout}${run.stderr}`).not.toContain(encoded(k));
        }
      }),
      { numRuns: 30, seed: 20261207, endOnFailure: true },
    );
  }, 240_000);
});
