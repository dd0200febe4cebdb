import { describe, expect, it } from 'vitest';
import type { OutputStream } from '../../cli/commands/frame.js';
import { pushProgress } from '../../cli/commands/progress.js';
import type { SiteResult } from '../../core/ports.js';

function terminal(isTTY: boolean, columns = 200): OutputStream & { readonly text: () => string } {
  const chunks: string[] = [];
  return { write: (text) => void chunks.push(text), isTTY, columns, text: () => chunks.join('') };
}

const confirmed = (site: string): SiteResult => ({
  site,
  outcome: 'confirmed',
  httpStatus: 200,
  attempts: 1,
  durationMs: 12,
});
const refused = (site: string): SiteResult => ({
  site,
  outcome: 'invalid_api_key',
  httpStatus: 401,
  detail: 'answered 401 invalid_api_key',
  attempts: 1,
  durationMs: 5,
});
const skipped = (site: string): SiteResult => ({
  site,
  outcome: 'not_attempted',
  attempts: 0,
  durationMs: 0,
});

describe('push progress', () => {
  it('prints one plain line per contacted site when the output is not a terminal', () => {
    const out = terminal(false);
    const progress = pushProgress(out, 3);

    progress.report(confirmed('https://a.example'));
    progress.report(refused('https://b.example'));
    progress.report(skipped('https://c.example'));
    progress.finish();

    expect(out.text().split('\n')).toEqual([
      '[1/3] confirmed        https://a.example (200, 1 attempt, 12 ms)',
      '[2/3] NOT CONFIRMED    https://b.example: invalid_api_key — answered 401 invalid_api_key (401, 1 attempt, 5 ms)',
      '',
    ]);
  });

  it('keeps one live line on a terminal, with failures printed above it as they happen', () => {
    const out = terminal(true);
    const progress = pushProgress(out, 4);

    progress.report(confirmed('https://a.example'));
    progress.report(refused('https://b.example'));
    progress.report(skipped('https://c.example'));
    progress.report(skipped('https://d.example'));
    progress.finish();

    const screen = out.text();
    expect(screen).toContain('\r\x1b[2KNOT CONFIRMED    https://b.example: invalid_api_key');
    expect(screen).not.toContain('https://a.example');
    const lastLine = screen.slice(screen.lastIndexOf('\r\x1b[2K') + 5);
    expect(lastLine).toBe(
      '[########################] 4/4  1 confirmed · 1 failed · 0 remaining · 2 not attempted\n',
    );
  });

  it('keeps the counts on a 30-column terminal, dropping the bar, and never writes past the last column', () => {
    const out = terminal(true, 30);
    const progress = pushProgress(out, 10);

    progress.report(confirmed('https://a.example'));
    progress.finish();

    const lines = out
      .text()
      .split('\r\x1b[2K')
      .filter((line) => line !== '');
    expect(lines.at(-1)).toBe('1/10  1 confirmed · 0 failed\n');
    for (const line of lines) expect(line.replace('\n', '').length).toBeLessThan(30);
  });
});
