import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { askYes, type CliContext } from '../../cli/commands/frame.js';

function context(answer: string | undefined): { cli: CliContext; prompts: string[] } {
  const stdin = new PassThrough();
  if (answer === undefined) stdin.end();
  else stdin.end(answer);
  const prompts: string[] = [];
  const stderr = { write: (text: string) => prompts.push(text) } as unknown as CliContext['stderr'];
  const cli = { stdin, stderr, stdout: stderr, env: {}, hide: () => {} } as unknown as CliContext;
  return { cli, prompts };
}

describe('the CLI confirmation prompt', () => {
  it.each([
    ['yes\n', true],
    ['Y\n', true],
    ['  yes  \n', true],
    ['no\n', false],
    ['yess\n', false],
    ['\n', false],
  ])('answers %j with %s', async (answer, expected) => {
    const { cli, prompts } = context(answer);
    expect(await askYes(cli, 'Type "yes": ')).toBe(expected);
    expect(prompts).toEqual(['Type "yes": ']);
  });

  it('treats a closed stdin as no', async () => {
    const { cli } = context(undefined);
    expect(await askYes(cli, 'Type "yes": ')).toBe(false);
  });
});
