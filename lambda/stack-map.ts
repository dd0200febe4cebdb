/**
 * Source-mapped stack traces for the errors the function logs, without `--enable-source-maps`: that flag
 * makes Node parse the bundle's 1 MB source map at load (+12–22 ms of cold start, bench/README.md) and map
 * every stack Node formats, expected per-site connection errors included. Here the map is read only when
 * a logged error is formatted, once per process, and only the frames of files with a `.map` beside them
 * change; anything else (tests run from source, a missing map) keeps its stack as it is.
 */
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';

const maps = new Map<string, SourceMap | undefined>();

function mapFor(file: string): SourceMap | undefined {
  if (!maps.has(file)) {
    let map: SourceMap | undefined;
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload);
    } catch {
      // No map (or an unreadable one): the frame stays as Node wrote it.
    }
    maps.set(file, map);
  }
  return maps.get(file);
}

/** An absolute path to a .js/.cjs file, then 1-based line and column, as V8 writes a frame. */
const FRAME = /(\/[^\s():]+\.c?js):(\d+):(\d+)/g;

export function sourceMappedStack(stack: string): string {
  return stack.replace(FRAME, (frame, file: string, line: string, column: string) => {
    const entry = mapFor(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (entry === undefined || !('originalSource' in entry)) return frame;
    return `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

/** Rewrites the stacks of an error and its causes in place, so the log and the Lambda runtime agree. */
function mapError(error: Error, depth = 0): void {
  if (typeof error.stack === 'string') error.stack = sourceMappedStack(error.stack);
  if (error.cause instanceof Error && depth < 5) mapError(error.cause, depth + 1);
}

function mapAttributes(extra: LogItemExtraInput): LogItemExtraInput {
  for (const item of extra) {
    if (item instanceof Error) mapError(item);
    else if (typeof item === 'object' && item !== null) {
      for (const value of Object.values(item)) if (value instanceof Error) mapError(value);
    }
  }
  return extra;
}

/** Powertools' Logger whose warn and error lines carry source-mapped stacks. */
export class SourceMappedLogger extends Logger {
  override warn(input: LogItemMessage, ...extraInput: LogItemExtraInput): void {
    super.warn(input, ...mapAttributes(extraInput));
  }

  override error(input: LogItemMessage, ...extraInput: LogItemExtraInput): void {
    super.error(input, ...mapAttributes(extraInput));
  }
}
