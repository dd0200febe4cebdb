import type { Readable } from 'node:stream';

/** Hard cap on any response body we read (site or Stripe): a hostile or broken peer cannot exhaust memory. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface CappedBody {
  readonly text: string;
  /** True when the peer sent more than the cap; the rest was discarded and the stream destroyed. */
  readonly truncated: boolean;
}

/**
 * Reads at most `maxBytes` of a response body, then stops reading and destroys the stream. Listens for
 * events rather than iterating the stream: an async iterator per response is measurable CPU at fleet scale
 * (bench/README.md). A body cut short (the connection closed before its end) rejects.
 */
export function readCappedBody(body: Readable, maxBytes: number = MAX_RESPONSE_BYTES): Promise<CappedBody> {
  return new Promise<CappedBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (truncated: boolean): void => {
      if (done) return;
      done = true;
      resolve({ text: Buffer.concat(chunks).toString('utf8'), truncated });
    };
    const fail = (error: unknown): void => {
      if (done) return;
      done = true;
      reject(error);
    };
    body.on('data', (chunk: Buffer) => {
      if (done) return;
      if (size + chunk.length > maxBytes) {
        chunks.push(chunk.subarray(0, maxBytes - size));
        finish(true);
        body.destroy();
        return;
      }
      size += chunk.length;
      chunks.push(chunk);
    });
    body.once('end', () => finish(false));
    body.once('error', fail);
    // Every body closes, most after their end: the error (and its stack) is built only for one cut short.
    body.once('close', () => {
      if (!done)
        fail(Object.assign(new Error('the body ended early: the connection closed'), { code: 'ECONNRESET' }));
    });
  });
}

/** Parses a `Retry-After` header (delta-seconds or HTTP-date) into milliseconds from `now`. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
