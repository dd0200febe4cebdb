/**
 * Reads the one HTTP/1.1 answer a site sends to the push's PUT, from the bytes of a connection that carries
 * nothing else (the request says `connection: close`). Strict where leniency could mislead (status line,
 * header names, framing, chunk sizes) and bounded everywhere: the head is capped at MAX_HEAD_BYTES, the body
 * kept up to the cap given, a chunk-size line at 1 KiB. Only the headers the push reads are kept; everything
 * else is skipped once checked. Pure: bytes in, an answer or an `HttpAnswerError` out (fleet-http.ts holds
 * the socket). Why the push does not use undici here is measured in bench/README.md.
 */

/** Cap on the status line and headers together: what Node's and undici's parsers allow by default. */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_CHUNK_LINE_BYTES = 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.[01] ([1-9]\d\d)(?: [^\r\n]*)?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?$/;

/** A malformed or incomplete answer. `code` says which, for the push's verdict; never any of the bytes. */
export class HttpAnswerError extends Error {
  override readonly name = 'HttpAnswerError';
  constructor(readonly code: string) {
    super(`the answer is not valid HTTP/1.1: ${code}`);
  }
}

/** The status and the headers the push reads. */
export interface AnswerHead {
  readonly status: number;
  readonly location?: string;
  readonly retryAfter?: string;
  /** Content-Length, when it frames the body (not with Transfer-Encoding). */
  readonly contentLength?: number;
}

type Framing =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; remaining: number }
  | { readonly kind: 'until-close' }
  | { readonly kind: 'chunked'; state: 'size' | 'data' | 'data-end' | 'trailers'; remaining: number };

/**
 * Feed it the connection's bytes with `push`, then `end` when the peer closed. `head` is set as soon as the
 * final (non-1xx) status line and headers are in; `complete` once the body is whole, or once it went over
 * `bodyCap` (`truncated`: the rest is never read).
 */
export class AnswerReader {
  head: AnswerHead | undefined;
  complete = false;
  truncated = false;
  readonly #bodyCap: number;
  readonly #body: Buffer[] = [];
  #bodySize = 0;
  /** Bytes not consumed yet: an incomplete head, chunk-size line or trailer section. */
  #pending: Buffer = Buffer.alloc(0);
  #framing: Framing | undefined;

  constructor(bodyCap: number) {
    this.#bodyCap = bodyCap;
  }

  /** The body read so far (all of it once `complete`), at most `bodyCap` bytes. */
  body(): Buffer {
    return Buffer.concat(this.#body, this.#bodySize);
  }

  push(chunk: Buffer): void {
    if (this.complete) return;
    let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = Buffer.alloc(0);
    while (data.length > 0 && !this.complete) {
      data = this.#framing === undefined ? this.#readHead(data) : this.#readBody(data, this.#framing);
    }
  }

  /** The peer closed the connection: completes a body read until close, or says what is missing. */
  end(): void {
    if (this.complete) return;
    if (this.head === undefined) {
      throw new HttpAnswerError(this.#pending.length === 0 ? 'closed_before_answer' : 'closed_in_head');
    }
    if (this.#framing?.kind !== 'until-close') throw new HttpAnswerError('closed_in_body');
    this.complete = true;
  }

  /** Consumes one head (1xx answers are skipped); returns what follows it. */
  #readHead(data: Buffer): Buffer {
    const end = data.indexOf(HEAD_END);
    if (end === -1) {
      if (data.length > MAX_HEAD_BYTES) throw new HttpAnswerError('head_too_large');
      this.#pending = data;
      return Buffer.alloc(0);
    }
    if (end > MAX_HEAD_BYTES) throw new HttpAnswerError('head_too_large');
    const lines = data.subarray(0, end).toString('latin1').split('\r\n');
    const status = STATUS_LINE.exec(lines[0] ?? '')?.[1];
    if (status === undefined) throw new HttpAnswerError('bad_status_line');
    const code = Number(status);
    const rest = data.subarray(end + HEAD_END.length);
    const headers = readHeaders(lines.slice(1));
    if (code === 101) throw new HttpAnswerError('unexpected_upgrade');
    // 100 Continue, 103 Early Hints…: informational, the answer follows.
    if (code < 200) return rest;
    const chunked = headers.transferEncoding !== undefined && isChunked(headers.transferEncoding);
    const contentLength = headers.transferEncoding === undefined ? headers.contentLength : undefined;
    this.head = {
      status: code,
      ...(headers.location === undefined ? {} : { location: headers.location }),
      ...(headers.retryAfter === undefined ? {} : { retryAfter: headers.retryAfter }),
      ...(contentLength === undefined ? {} : { contentLength }),
    };
    if (code === 204 || code === 304 || contentLength === 0) {
      this.#framing = { kind: 'none' };
      this.complete = true;
    } else if (chunked) {
      this.#framing = { kind: 'chunked', state: 'size', remaining: 0 };
    } else if (contentLength !== undefined) {
      this.#framing = { kind: 'length', remaining: contentLength };
    } else {
      this.#framing = { kind: 'until-close' };
    }
    return rest;
  }

  /** Consumes body bytes under `framing`; returns what it did not consume (only past a complete body). */
  #readBody(data: Buffer, framing: Framing): Buffer {
    switch (framing.kind) {
      case 'none':
        return Buffer.alloc(0);
      case 'until-close':
        this.#keep(data);
        return Buffer.alloc(0);
      case 'length': {
        const taken = data.subarray(0, framing.remaining);
        framing.remaining -= taken.length;
        this.#keep(taken);
        if (framing.remaining === 0) this.complete = true;
        return Buffer.alloc(0);
      }
      case 'chunked':
        return this.#readChunked(data, framing);
    }
  }

  #readChunked(data: Buffer, framing: Extract<Framing, { kind: 'chunked' }>): Buffer {
    let rest = data;
    while (rest.length > 0 && !this.complete) {
      if (framing.state === 'data') {
        const taken = rest.subarray(0, framing.remaining);
        framing.remaining -= taken.length;
        rest = rest.subarray(taken.length);
        this.#keep(taken);
        if (framing.remaining === 0) framing.state = 'data-end';
        continue;
      }
      const lineEnd = rest.indexOf(CRLF);
      if (lineEnd === -1) {
        const limit = framing.state === 'trailers' ? MAX_HEAD_BYTES : MAX_CHUNK_LINE_BYTES;
        if (rest.length > limit) throw new HttpAnswerError('bad_chunk');
        this.#pending = rest;
        return Buffer.alloc(0);
      }
      const line = rest.subarray(0, lineEnd).toString('latin1');
      rest = rest.subarray(lineEnd + CRLF.length);
      if (framing.state === 'data-end') {
        if (line !== '') throw new HttpAnswerError('bad_chunk');
        framing.state = 'size';
      } else if (framing.state === 'size') {
        const size = CHUNK_SIZE.exec(line)?.[1];
        if (size === undefined) throw new HttpAnswerError('bad_chunk');
        framing.remaining = Number.parseInt(size, 16);
        framing.state = framing.remaining === 0 ? 'trailers' : 'data';
      } else if (line === '') {
        // The empty line after the (ignored) trailer fields ends the body.
        this.complete = true;
      }
    }
    return Buffer.alloc(0);
  }

  /** Keeps body bytes up to the cap; past it, the answer is over as far as the push is concerned. */
  #keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = this.#bodyCap - this.#bodySize;
    if (bytes.length > room) {
      if (room > 0) this.#body.push(bytes.subarray(0, room));
      this.#bodySize = this.#bodyCap;
      this.truncated = true;
      this.complete = true;
      return;
    }
    this.#body.push(bytes);
    this.#bodySize += bytes.length;
  }
}

interface HeadersRead {
  readonly location?: string;
  readonly retryAfter?: string;
  readonly contentLength?: number;
  readonly transferEncoding?: string;
}

function readHeaders(lines: readonly string[]): HeadersRead {
  let location: string | undefined;
  let retryAfter: string | undefined;
  let contentLength: number | undefined;
  const transferEncodings: string[] = [];
  for (const line of lines) {
    // Obsolete line folding (RFC 9112 §5.2): refused rather than guessed.
    if (line.startsWith(' ') || line.startsWith('\t')) throw new HttpAnswerError('folded_header');
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new HttpAnswerError('bad_header');
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    switch (name.toLowerCase()) {
      case 'content-length': {
        // Several equal values are allowed (RFC 9110 §8.6); anything else could frame the body two ways.
        const values = value.split(',').map((item) => item.trim());
        for (const item of values) {
          if (!/^\d{1,15}$/.test(item)) throw new HttpAnswerError('bad_content_length');
          const length = Number(item);
          if (contentLength !== undefined && contentLength !== length) {
            throw new HttpAnswerError('bad_content_length');
          }
          contentLength = length;
        }
        break;
      }
      case 'transfer-encoding':
        transferEncodings.push(value);
        break;
      case 'location':
        location ??= value;
        break;
      case 'retry-after':
        retryAfter ??= value;
        break;
    }
  }
  return {
    ...(location === undefined ? {} : { location }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
    ...(contentLength === undefined ? {} : { contentLength }),
    ...(transferEncodings.length === 0 ? {} : { transferEncoding: transferEncodings.join(',') }),
  };
}

/** Whether `chunked` is the final transfer coding (RFC 9112 §6.3); otherwise the body ends at close. */
function isChunked(transferEncoding: string): boolean {
  const codings = transferEncoding.split(',').map((coding) => coding.trim().toLowerCase());
  return codings[codings.length - 1] === 'chunked';
}
