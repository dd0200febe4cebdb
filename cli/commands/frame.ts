/**
 * What every command shares: exit codes, the process's streams behind a redacting writer, option parsing
 * that never echoes an argument (it may be a key), and the mapping from errors to exit codes.
 */
import { createInterface } from 'node:readline';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { IntegerSetting } from '../../core/index.js';
import { CONTROL_CHARACTER, ConfigurationError, KeyRejectedError, maskKeysIn } from '../../core/index.js';
import { formatDuration, parseDuration } from '../duration.js';

export const PROGRAM = 'stripe-key-rotator';

/** 0: done (every site confirmed); 1: not every site confirmed, or the run failed; 2: usage or configuration. */
export const EXIT_OK = 0;
export const EXIT_NOT_CONFIRMED = 1;
export const EXIT_USAGE = 2;
/** Stopped by a signal, after reporting what was done (the shell's convention, 128 + signal number). */
export const EXIT_INTERRUPTED = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof EXIT_INTERRUPTED;

/** The command line itself is wrong; the message says how, and the command's help how to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The operator stopped the command (Ctrl-C at a prompt): exit 130/143, the message says what was left. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor(
    readonly signal: StopSignal,
    message: string,
  ) {
    super(message);
  }
}

export interface OutputStream {
  write(text: string): void;
  /** A terminal: live progress lines and colours are welcome. */
  readonly isTTY: boolean;
  /** Terminal width when known. */
  readonly columns: number | undefined;
}

export interface CliContext {
  readonly stdout: OutputStream;
  /** Errors, warnings, prompts and what explains an exit code: always shown. */
  readonly stderr: OutputStream;
  /** The progress line and notices: stderr, or nowhere with --quiet. */
  readonly progress: OutputStream;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Registers secret values (keys, master key): any output containing one shows `[redacted]` instead. A net
   * under the rule that nothing prints a secret, not a licence to print them.
   */
  hide(...values: readonly (string | undefined)[]): void;
  /**
   * Calls `listener` on the first SIGINT or SIGTERM instead of dying, so the command can stop cleanly and
   * report; a second signal exits at once (EXIT_INTERRUPTED). Returns the function that removes it.
   */
  onInterrupt(listener: (signal: StopSignal) => void): () => void;
}

export interface Command {
  readonly name: string;
  /** Full `--help` text. */
  readonly help: string;
  /** Returns the exit code; throws UsageError / ConfigurationError for exit 2. */
  run(argv: readonly string[], cli: CliContext): Promise<number>;
}

/** Shorter values are not redacted: replacing them would garble ordinary text. */
const MIN_REDACTED_LENGTH = 8;

/** The process's streams and environment (the process itself, or stand-ins in tests). */
export interface ProcessIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly stdin: CliContext['stdin'];
  readonly env: CliContext['env'];
}

/** The progress line's own redraw (carriage return, erase line), else any control character but \n. */
const UNSAFE_OUTPUT = new RegExp(`\r\u001b\\[2K|\r|${CONTROL_CHARACTER.source}`, 'g');

/** Where nothing is shown: the progress stream of --quiet. */
const NOWHERE: OutputStream = { write: () => {}, isTTY: false, columns: undefined };

/** The CLI context over a real process, redacting registered secrets from everything written. */
export function processContext(io: ProcessIo = process, options: { quiet?: boolean } = {}): CliContext {
  const hidden = new Set<string>();
  const redact = (text: string): string => {
    let clean = text;
    for (const value of hidden) clean = clean.replaceAll(value, '[redacted]');
    // Last resort too: no control byte from an input reaches the terminal, except the progress line's own
    // carriage return + erase-line.
    return clean.replace(UNSAFE_OUTPUT, (match) => (match.length > 1 ? match : '?'));
  };
  // A terminal that cannot redraw a line (TERM=dumb: an editor's shell, some CI logs) gets plain lines.
  const live = (target: NodeJS.WriteStream): boolean => target.isTTY === true && io.env.TERM !== 'dumb';
  // A reader that went away (`| head -1`) ends the output, not the command: what it was doing still
  // finishes and its exit code still says how it went.
  const closed = new Set<NodeJS.WriteStream>();
  for (const target of [io.stdout, io.stderr]) {
    target.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      closed.add(target);
    });
  }
  const stream = (target: NodeJS.WriteStream): OutputStream => ({
    write: (text) => {
      if (!closed.has(target)) target.write(redact(text));
    },
    get isTTY() {
      return live(target);
    },
    get columns() {
      return live(target) ? target.columns : undefined;
    },
  });
  const stderr = stream(io.stderr);
  return {
    stdout: stream(io.stdout),
    stderr,
    progress: options.quiet === true ? NOWHERE : stderr,
    stdin: io.stdin,
    env: io.env,
    onInterrupt: (listener) => {
      let received = 0;
      const handle = (signal: StopSignal): void => {
        received += 1;
        if (received === 1) {
          listener(signal);
          return;
        }
        process.stderr.write(`\n${signal} again: exiting now, without waiting for requests in flight.\n`);
        process.exit(EXIT_INTERRUPTED[signal]);
      };
      const onInt = (): void => handle('SIGINT');
      const onTerm = (): void => handle('SIGTERM');
      process.on('SIGINT', onInt).on('SIGTERM', onTerm);
      return () => {
        process.off('SIGINT', onInt).off('SIGTERM', onTerm);
      };
    },
    hide: (...values) => {
      // Both forms: a value read from a file or a variable often ends with a newline the command trims.
      for (const value of values.flatMap((v) => (v === undefined ? [] : [v, v.trim()])))
        if (value.length >= MIN_REDACTED_LENGTH) hidden.add(value);
    },
  };
}

/**
 * `parseArgs` in strict mode. Its own messages echo unexpected arguments, which may be a key typed in the
 * wrong place: positionals are refused without being shown, and anything key-shaped is masked.
 */
export function parseOptions<const O extends ParseArgsOptionsConfig>(argv: readonly string[], options: O) {
  const parse = () =>
    parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, tokens: true });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_') && error instanceof Error) {
      throw new UsageError(maskKeysIn(error.message));
    }
    throw error;
  }
  const given = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    const option = options[token.name];
    // The last of two values silently winning would hide a mistake (two --sites-file, two --secret-id).
    if (option?.type === 'string' && option.multiple !== true && given.has(token.name)) {
      throw new UsageError(`--${token.name} is given more than once; give it once`);
    }
    given.add(token.name);
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument${parsed.positionals.length === 1 ? '' : 's'} (${parsed.positionals.length}, not shown: ` +
        'it may be a secret); every value goes after its --option',
    );
  }
  return parsed.values;
}

/** A whole number option within bounds, or UsageError naming the option. */
export function wholeNumber(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be a whole number (${min}–${max})`);
  const digits = raw.trim();
  const value = Number(digits);
  if (value < min || value > max) {
    const shown = digits.length > 12 ? `${digits.slice(0, 12)}… (${digits.length} digits)` : digits;
    throw new UsageError(`--${name}=${shown} is out of range (${min}–${max})`);
  }
  return value;
}

/** A flag standing for one of the function's whole-number settings: its default and bounds (core/contract.ts). */
export function settingNumber(name: string, raw: string | undefined, setting: IntegerSetting): number {
  return wholeNumber(name, raw, setting.default, setting.min, setting.max);
}

/** Bounds and default of a duration flag, in milliseconds. */
export interface DurationBounds {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** `100ms–2m`: a duration flag's bounds as help text and messages show them. */
export function durationRange(bounds: DurationBounds): string {
  return `${formatDuration(bounds.min)}–${formatDuration(bounds.max)}`;
}

/** A flag taking a duration with its unit (`30s`, `2m`): milliseconds. */
export function durationFlag(name: string, raw: string | undefined, bounds: DurationBounds): number {
  if (raw === undefined) return bounds.default;
  const parsed = parseDuration(raw);
  if ('problem' in parsed) {
    // Shown only when it looks like a number: anything else may be a key typed in the wrong place.
    const shown = /^[\d.]{1,12}[a-z]{0,3}$/.test(raw.trim()) ? raw.trim() : '(value not shown)';
    throw new UsageError(`--${name} ${shown} ${parsed.problem}`);
  }
  if (parsed.ms < bounds.min || parsed.ms > bounds.max) {
    throw new UsageError(`--${name} ${formatDuration(parsed.ms)} is out of range (${durationRange(bounds)})`);
  }
  return parsed.ms;
}

/**
 * Prints an error the way an operator needs it and returns the exit code it means. With `json`, stdout
 * also gets the one document a script reads on every exit: `{ "ok": false, "error": { "kind", "message",
 * "exitCode" } }`.
 */
export function reportError(
  error: unknown,
  command: string | undefined,
  cli: CliContext,
  options: { readonly json?: boolean } = {},
): number {
  const { kind, message, exitCode, hint } = describeError(error, command);
  cli.stderr.write(kind === 'interrupted' ? `${message}\n` : `error: ${message}\n${hint ?? ''}`);
  if (options.json === true) {
    cli.stdout.write(`${JSON.stringify({ ok: false, error: { kind, message, exitCode } }, null, 2)}\n`);
  }
  return exitCode;
}

/** What `--json` calls an error, by exit code: 2 usage, configuration or key refused; 1 failure; 130/143 interrupted. */
export type ErrorKind = 'usage' | 'configuration' | 'key_refused' | 'failure' | 'interrupted';

function describeError(
  error: unknown,
  command: string | undefined,
): { kind: ErrorKind; message: string; exitCode: number; hint?: string } {
  if (error instanceof InterruptedError) {
    return { kind: 'interrupted', message: error.message, exitCode: EXIT_INTERRUPTED[error.signal] };
  }
  if (error instanceof UsageError) {
    const help = command === undefined ? `${PROGRAM} --help` : `${PROGRAM} ${command} --help`;
    return {
      kind: 'usage',
      message: error.message,
      exitCode: EXIT_USAGE,
      hint: `Run '${help}' for usage.\n`,
    };
  }
  if (error instanceof ConfigurationError || error instanceof KeyRejectedError) {
    const kind = error instanceof KeyRejectedError ? 'key_refused' : 'configuration';
    return { kind, message: maskKeysIn(error.message), exitCode: EXIT_USAGE };
  }
  // A plain Error's name adds nothing ("error: Error: ..."); a specific class's name does.
  const what =
    error instanceof Error
      ? error.name === 'Error'
        ? error.message
        : `${error.name}: ${error.message}`
      : String(error);
  return { kind: 'failure', message: maskKeysIn(what), exitCode: EXIT_NOT_CONFIRMED };
}

/** Writes `prompt` to stderr and reads one line from stdin: true only for "y" or "yes". */
export async function askYes(cli: CliContext, prompt: string): Promise<boolean> {
  cli.stderr.write(prompt);
  const reader = createInterface({ input: cli.stdin, terminal: false });
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      reader.once('line', resolve);
      reader.once('close', () => resolve(undefined));
    });
    return /^\s*y(es)?\s*$/i.test(answer ?? '');
  } finally {
    reader.close();
  }
}
