/**
 * Suite-wide leak guard. Every test file runs with this as a setup file:
 * whatever the code under test writes to stdout/stderr is captured, tests register the secret values
 * they use and hand every error they observe to `observeError`, and after each file the guard fails
 * if any registered secret appears anywhere in that text.
 */
import { afterAll } from 'vitest';

const secrets = new Set<string>();
const captured: string[] = [];

/** Registers values that must never appear in output or error messages; returns the value for inline use. */
export function secret<T extends string>(value: T): T {
  secrets.add(value);
  return value;
}

/** Adds text the code under test produced (error messages, CLI output) to what the guard scans. */
export function observeText(text: string): void {
  captured.push(text);
}

/** Scans an error: message, stack, every `cause` and any enumerable field (e.g. `problems`). */
export function observeError(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 10; depth += 1) {
    if (current instanceof Error) {
      captured.push(current.message, current.stack ?? '', JSON.stringify({ ...current }));
      current = current.cause;
    } else {
      captured.push(String(current));
      current = undefined;
    }
  }
  return error;
}

/** Awaits a promise that must reject, scans the error, and returns it for assertions. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    observeError(error);
    if (!(error instanceof Error)) throw new Error(`expected an Error, got ${String(error)}`);
    return error;
  }
  throw new Error('expected the promise to reject, it resolved');
}

/** Registered secrets found in captured text (for the guard's own test). */
export function leakedSecrets(extra: readonly string[] = []): string[] {
  const haystack = [...captured, ...extra].join('\n');
  return [...secrets].filter((value) => haystack.includes(value));
}

/** All text captured so far in this file (logs are JSON lines). */
export function capturedText(): string {
  return captured.join('\n');
}

export function forgetCaptured(): void {
  captured.length = 0;
}

function intercept(stream: NodeJS.WriteStream): void {
  const original = stream.write.bind(stream);
  const show = process.env.SHOW_LOGS === '1';
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    if (show) return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
    callback?.();
    return true;
  }) as typeof stream.write;
}

intercept(process.stdout);
intercept(process.stderr);

afterAll(() => {
  const leaks = leakedSecrets();
  if (leaks.length > 0) {
    throw new Error(
      `secret leak: ${leaks.length} registered secret value(s) appeared in captured output or errors ` +
        `(lengths ${leaks.map((l) => l.length).join(', ')}). Run with SHOW_LOGS=1 to inspect.`,
    );
  }
});
