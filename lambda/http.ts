import type { Readable } from 'node:stream';

/** Hard cap on any response body we read (site or Stripe): a hostile or broken peer cannot exhaust memory. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface CappedBody {
  readonly text: string;
  /** True when the peer sent more than the cap; the rest was discarded and the stream destroyed. */
  readonly truncated: boolean;
}

/** Reads at most `maxBytes` of a response body, then stops reading and destroys the stream. */
export async function readCappedBody(
  body: Readable,
  maxBytes: number = MAX_RESPONSE_BYTES,
): Promise<CappedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    if (size + buffer.length > maxBytes) {
      chunks.push(buffer.subarray(0, maxBytes - size));
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(buffer);
    size += buffer.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
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
