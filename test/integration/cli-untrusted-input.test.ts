/**
 * What the CLI prints about untrusted input (a sites file, a flag, a variable) is checked byte by byte: no
 * secret from it and no terminal control byte reaches stdout or stderr, only line numbers and masked,
 * printable excerpts.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { secret } from '../support/secret-guard.js';
import { type CliRun, runCli, scratchDir } from './cli-harness.js';

const KEY = secret('sk_test_UntrustedInputKey000000000000000000000001');
const PASTED_LIVE_KEY = secret('sk_live_PastedIntoTheSitesFile0000000000000000002');
const MASTER = secret('template-master-key-untrusted-input-9c4e2a');

let scratch: Awaited<ReturnType<typeof scratchDir>>;

beforeAll(async () => {
  scratch = await scratchDir();
});

afterAll(async () => {
  await scratch.remove();
});

/** Every byte printed is printable ASCII, a newline, or a character the CLI itself writes (…, →, ·). */
function expectCleanBytes(run: CliRun, expect: (value: unknown) => { toEqual(other: unknown): void }): void {
  for (const [stream, text] of [
    ['stdout', run.stdout],
    ['stderr', run.stderr],
  ] as const) {
    const bad = [...text].filter((char) => {
      const code = char.codePointAt(0) ?? 0;
      return (code < 0x20 && char !== '\n') || (code >= 0x7f && code <= 0x9f);
    });
    expect({ stream, bad }).toEqual({ stream, bad: [] });
  }
}

describe.concurrent('the CLI on untrusted input', () => {
  it('shows a sites file with secrets, whitespace and ESC/BEL bytes only as line numbers and masked excerpts', async ({
    expect,
  }) => {
    const sitesFile = await scratch.write(
      'pasted.txt',
      [
        '# fleet',
        'https://shop.example.com',
        `export TEMPLATE_MASTER_API_KEY=${MASTER}`,
        `  ${MASTER}  `,
        `https://a.example.com/${PASTED_LIVE_KEY}?token=${MASTER}`,
        'https://evil.example.com/\x1b[2J\x1b]0;owned\x07',
        '\x1b[31mhttps://red.example.com\x1b[0m \x07',
      ].join('\n'),
    );

    // The variable ends with a newline, as `export X=$(cat file)` or a pasted value can.
    const run = await runCli(['push', '--sites-file', sitesFile, '--force'], {
      env: { STRIPE_SECRET_KEY: KEY, TEMPLATE_MASTER_API_KEY: `${MASTER}\n` },
    });

    expect(run.code, run.stderr).toBe(2);
    expectCleanBytes(run, expect);
    const printed = `${run.stdout}${run.stderr}`;
    for (const value of [MASTER, PASTED_LIVE_KEY, KEY, 'owned']) expect(printed).not.toContain(value);
    expect(run.stderr).toContain(`${sitesFile} has 5 invalid entries`);
    expect(run.stderr).toContain(`${sitesFile} line 3: contains whitespace; put one URL per line (export [`);
    expect(run.stderr).toMatch(
      /line 4: not a valid URL; expected https:\/\/host\[\/path\] \(\d+ chars, not shown\)/,
    );
    expect(run.stderr).toContain(
      'line 5: a Stripe key inside a site URL is refused; a site URL carries no secret (https://a.example.com/sk_live_…0002?***)',
    );
    expect(run.stderr).toMatch(/line 6: contains a control character \(\[\d+ chars\]\)/);
    expect(run.stderr).toMatch(/line 7: contains a control character \(\[\d+ chars\] \[1 chars\]\)/);
  });

  it('never prints a control byte from a flag value', async ({ expect }) => {
    const run = await runCli(
      ['push', '--sites-file', scratch.path('no-\x1b]0;owned\x07-such.txt'), '--force'],
      {
        env: { STRIPE_SECRET_KEY: KEY, TEMPLATE_MASTER_API_KEY: MASTER },
      },
    );

    expect(run.code, run.stderr).toBe(2);
    expectCleanBytes(run, expect);
    expect(run.stderr).toContain('Cannot read the sites file');
  });
});
