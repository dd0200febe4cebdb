import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  askYes,
  type CliContext,
  durationFlag,
  processContext,
  UsageError,
} from '../../cli/commands/frame.js';

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

describe('the CLI output redactor', () => {
  function captured() {
    const written: string[] = [];
    const stream = {
      write: (text: string) => written.push(text),
      on: () => stream,
      isTTY: false,
    } as unknown as NodeJS.WriteStream;
    const cli = processContext({
      stdout: stream,
      stderr: stream,
      stdin: new PassThrough() as never,
      env: {},
    });
    return { cli, written };
  }

  it('redacts a registered value read with its trailing newline wherever its trimmed form appears', () => {
    const { cli, written } = captured();
    cli.hide('master-key-from-a-file-0123\n');
    cli.stderr.write('error: site answered for master-key-from-a-file-0123.\n');
    expect(written).toEqual(['error: site answered for [redacted].\n']);
  });

  it('leaves values too short to redact safely, and unset ones, alone', () => {
    const { cli, written } = captured();
    cli.hide('short', undefined);
    cli.stdout.write('a short answer\n');
    expect(written).toEqual(['a short answer\n']);
  });

  it('treats a terminal with TERM=dumb as no terminal: plain lines, no redraw', () => {
    const tty = {
      write: () => true,
      on: () => tty,
      isTTY: true,
      columns: 80,
    } as unknown as NodeJS.WriteStream;
    const io = (env: Record<string, string>) =>
      processContext({ stdout: tty, stderr: tty, stdin: new PassThrough() as never, env });

    expect(io({ TERM: 'xterm-256color' }).stderr.isTTY).toBe(true);
    expect(io({ TERM: 'dumb' }).stderr.isTTY).toBe(false);
    expect(io({ TERM: 'dumb' }).stderr.columns).toBeUndefined();
  });
});

describe('a duration flag', () => {
  const bounds = { default: 10_000, min: 100, max: 120_000 };

  it('takes the default when absent, else the duration given with its unit', () => {
    expect(durationFlag('timeout', undefined, bounds)).toBe(10_000);
    expect(durationFlag('timeout', '30s', bounds)).toBe(30_000);
    expect(durationFlag('timeout', '250ms', bounds)).toBe(250);
  });

  it('refuses a bare number, naming the flag and the units it might mean', () => {
    expect(() => durationFlag('timeout', '1000', bounds)).toThrow(
      new UsageError('--timeout 1000 has no unit: write 1000ms, 1000s or 1000m'),
    );
  });

  it('refuses a duration out of bounds, showing the bounds with units', () => {
    expect(() => durationFlag('timeout', '5m', bounds)).toThrow(
      new UsageError('--timeout 5m is out of range (100ms–2m)'),
    );
  });

  it('never shows a value that does not look like a duration: it may be a key typed in the wrong place', () => {
    expect(() => durationFlag('timeout', 'sk_live_51AbCdEfGhIjKlMnOp', bounds)).toThrow(
      new UsageError('--timeout (value not shown) is not a duration (e.g. 500ms, 30s, 2m, 1h, 1m30s)'),
    );
  });
});

describe('the CLI output when its reader goes away', () => {
  function pipe() {
    const written: string[] = [];
    const target = new EventEmitter() as EventEmitter & { write(text: string): boolean; isTTY: boolean };
    target.write = (text: string) => written.push(text) > 0;
    target.isTTY = false;
    const stderr = new EventEmitter() as typeof target;
    stderr.write = () => true;
    stderr.isTTY = false;
    const cli = processContext({
      stdout: target as unknown as NodeJS.WriteStream,
      stderr: stderr as unknown as NodeJS.WriteStream,
      stdin: new PassThrough() as never,
      env: {},
    });
    return { cli, target, written };
  }

  it('stops writing after EPIPE instead of dying on an unhandled error event', () => {
    const { cli, target, written } = pipe();
    cli.stdout.write('first line\n');
    target.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    cli.stdout.write('second line\n');
    expect(written).toEqual(['first line\n']);
  });

  it('still raises any other stream error', () => {
    const { target } = pipe();
    expect(() => target.emit('error', Object.assign(new Error('boom'), { code: 'EIO' }))).toThrow('boom');
  });
});
