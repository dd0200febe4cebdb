/**
 * Runs the CLI as a child process, the way an operator does: a clean environment (nothing inherited but
 * PATH, HOME and TMPDIR), stdin not a terminal, a hard time limit. Everything it prints goes to the leak guard.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { observeText } from '../support/secret-guard.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The CLI's working directory: out of the repository, so a file the CLI writes there (a push's result
 * file) never lands in it.
 */
export const WORK_DIR = mkdtempSync(join(tmpdir(), 'skr-cwd-'));

/** tsx's loader by its path: `--import tsx` would be resolved from the working directory. */
export const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface CliRun {
  /** null when the process was killed (time limit). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
}

export interface CliOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** @default WORK_DIR */
  readonly cwd?: string;
  /** Killed after this long. @default 20_000 */
  readonly timeoutMs?: number;
  /** `cli` runs cli/main.ts through `--import tsx`; `shim` runs the package's bin, bin/stripe-key-rotator.js. */
  readonly entry?: 'cli' | 'shim';
  /** Written to the CLI's stdin (not a terminal), then closed. @default '' */
  readonly input?: string;
  /** Leaves stdin open after `input` (a pipe whose writer never closes it); closed when the CLI exits. */
  readonly keepStdinOpen?: boolean;
  /**
   * Sends `signal` once, as soon as `when` holds (an operator's Ctrl-C): asked at every output, with the
   * output so far, and every 50 ms.
   */
  readonly interrupt?: {
    readonly signal: NodeJS.Signals;
    readonly when: (output: { stdout: string; stderr: string }) => boolean;
  };
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const entry =
    options.entry === 'shim'
      ? [join(ROOT, 'bin/stripe-key-rotator.js')]
      : ['--import', TSX, join(ROOT, 'cli/main.ts')];
  const inherited = Object.fromEntries(
    ['PATH', 'HOME', 'TMPDIR'].flatMap((name) => {
      const value = process.env[name];
      return value === undefined ? [] : [[name, value]];
    }),
  );
  const started = performance.now();
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: options.cwd ?? WORK_DIR,
    env: { ...inherited, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (options.keepStdinOpen === true) child.stdin.write(options.input ?? '');
  else child.stdin.end(options.input ?? '');
  // The CLI may exit without reading what was written: that is not the test's failure.
  child.stdin.on('error', () => undefined);
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  const maybeInterrupt = (): void => {
    if (interrupted || options.interrupt === undefined || !options.interrupt.when({ stdout, stderr })) return;
    interrupted = true;
    child.kill(options.interrupt.signal);
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    maybeInterrupt();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    maybeInterrupt();
  });
  // Also polled: a condition on the world outside (requests a fleet received) may hold between two outputs.
  const poll = options.interrupt === undefined ? undefined : setInterval(maybeInterrupt, 50);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 20_000);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      child.stdin.destroy();
      observeText(`${stdout}\n${stderr}`);
      // The CLI redacts registered secrets as a last resort; reaching that net means some code printed one.
      if (`${stdout}${stderr}`.includes('[redacted]')) {
        reject(new Error('the CLI redacted a secret from its output: some code path printed one'));
        return;
      }
      resolve({ code, stdout, stderr, durationMs: performance.now() - started, timedOut });
    });
  });
}

/** A temporary directory for sites files and the CA certificate; `remove()` deletes it. */
export async function scratchDir(): Promise<{
  path: (name: string) => string;
  write: (name: string, text: string) => Promise<string>;
  remove: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'skr-cli-'));
  return {
    path: (name) => join(dir, name),
    write: async (name, text) => {
      const file = join(dir, name);
      await writeFile(file, text, 'utf8');
      return file;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
