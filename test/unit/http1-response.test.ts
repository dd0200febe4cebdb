import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnswerReader, HttpAnswerError, MAX_HEAD_BYTES } from '../../lambda/http1-response.js';

const CAP = 64;

/** Feeds `text` in the given pieces, then the close when `close` is set; returns the reader. */
function read(pieces: readonly string[], options: { close?: boolean; cap?: number } = {}): AnswerReader {
  const reader = new AnswerReader(options.cap ?? CAP);
  for (const piece of pieces) reader.push(Buffer.from(piece, 'latin1'));
  if (options.close) reader.end();
  return reader;
}

function failure(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpAnswerError);
    return (error as HttpAnswerError).code;
  }
  return 'no error';
}

/** Splits `text` at the given cut points (sorted, deduplicated, within the text). */
function split(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const point of points) {
    pieces.push(text.slice(from, point));
    from = point;
  }
  pieces.push(text.slice(from));
  return pieces;
}

function chunked(body: string, sizes: readonly number[]): string {
  let out = '';
  let at = 0;
  for (const size of sizes) {
    if (at >= body.length) break;
    const part = body.slice(at, at + size);
    out += `${part.length.toString(16)}\r\n${part}\r\n`;
    at += part.length;
  }
  if (at < body.length) out += `${(body.length - at).toString(16)}\r\n${body.slice(at)}\r\n`;
  return `${out}0\r\n\r\n`;
}

describe('reading one HTTP/1.1 answer', () => {
  it('reads a status, the headers the push uses and a Content-Length body', () => {
    const reader = read([
      'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nLocation: /x\r\nContent-Length: 2\r\nX-Other: y\r\n\r\nok',
    ]);
    expect(reader.head).toEqual({ status: 429, retryAfter: '3', location: '/x', contentLength: 2 });
    expect(reader.complete).toBe(true);
    expect(reader.body().toString()).toBe('ok');
  });

  it('skips informational answers and reads the final one', () => {
    const reader = read([
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndone',
    ]);
    expect(reader.head?.status).toBe(200);
    expect(reader.body().toString()).toBe('done');
  });

  it('decodes a chunked body, chunk extensions and trailers included', () => {
    const reader = read([
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n',
    ]);
    expect(reader.complete).toBe(true);
    expect(reader.body().toString()).toBe('abcde');
    expect(reader.head?.contentLength).toBeUndefined();
  });

  it('reads a body without framing until the peer closes', () => {
    const reader = read(['HTTP/1.0 200 OK\r\n\r\npart one, ', 'part two']);
    expect(reader.complete).toBe(false);
    reader.end();
    expect(reader.complete).toBe(true);
    expect(reader.body().toString()).toBe('part one, part two');
  });

  it('has no body for 204, 304 and Content-Length: 0', () => {
    for (const head of [
      'HTTP/1.1 204 No Content\r\n\r\n',
      'HTTP/1.1 304 Not Modified\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    ]) {
      const reader = read([head]);
      expect(reader.complete).toBe(true);
      expect(reader.body().length).toBe(0);
    }
  });

  it('keeps at most the cap of a body and ends the answer there, truncated', () => {
    const reader = read([`HTTP/1.1 401 Unauthorized\r\nContent-Length: 100\r\n\r\n${'x'.repeat(100)}`], {
      cap: 10,
    });
    expect(reader.complete).toBe(true);
    expect(reader.truncated).toBe(true);
    expect(reader.body().toString()).toBe('x'.repeat(10));
  });

  it('ignores Content-Length when Transfer-Encoding frames the body', () => {
    const reader = read([
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    ]);
    expect(reader.head?.contentLength).toBeUndefined();
    expect(reader.body().toString()).toBe('abc');
  });

  it('refuses malformed answers, saying which part is wrong', () => {
    const cases: [string, string][] = [
      ['HTTP/2 200\r\n\r\n', 'bad_status_line'],
      ['HTTP/1.1 20 OK\r\n\r\n', 'bad_status_line'],
      ['ICY 200 OK\r\n\r\n', 'bad_status_line'],
      ['HTTP/1.1 200 OK\r\nno colon\r\n\r\n', 'bad_header'],
      ['HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n', 'bad_header'],
      ['HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n', 'folded_header'],
      ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'bad_content_length'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'bad_content_length'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'bad_chunk'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n', 'bad_chunk'],
      ['HTTP/1.1 101 Switching Protocols\r\n\r\n', 'unexpected_upgrade'],
    ];
    for (const [text, code] of cases) expect([text, failure(() => read([text]))]).toEqual([text, code]);
  });

  it('accepts repeated equal Content-Length values', () => {
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok']).body().toString()).toBe('ok');
  });

  it('bounds the head, and a chunk-size line', () => {
    expect(failure(() => read([`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`]))).toBe(
      'head_too_large',
    );
    expect(failure(() => read([`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`]))).toBe(
      'head_too_large',
    );
    expect(
      failure(() => read([`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;${'e'.repeat(2000)}`])),
    ).toBe('bad_chunk');
  });

  it('says what was missing when the peer closed early', () => {
    expect(failure(() => read([], { close: true }))).toBe('closed_before_answer');
    expect(failure(() => read(['HTTP/1.1 200 OK\r\n'], { close: true }))).toBe('closed_in_head');
    expect(failure(() => read(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'], { close: true }))).toBe(
      'closed_in_body',
    );
    expect(
      failure(() => read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'], { close: true })),
    ).toBe('closed_in_body');
  });

  it('never puts any byte of the answer in its error', () => {
    const error = (() => {
      try {
        read(['HTTP/1.1 200 OK\r\nContent-Length: sk_live_NotEchoed\r\n\r\n']);
      } catch (caught) {
        return caught as Error;
      }
      return undefined;
    })();
    expect(error?.message).toBe('the answer is not valid HTTP/1.1: bad_content_length');
  });
});

describe('reading an answer, for every way the network may split it', () => {
  const bodyText = fc.string({ unit: fc.constantFrom('a', 'é', '{', '"', '\r', '\n', '0'), maxLength: 120 });

  it('reads the same status and body whatever the framing and wherever the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(200, 400, 401, 500),
        bodyText,
        fc.constantFrom('length', 'chunked', 'close'),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.boolean(),
        (status, body, framing, chunkSizes, cuts, informational) => {
          const bytes = Buffer.from(body, 'utf8').toString('latin1');
          const framed =
            framing === 'length'
              ? `Content-Length: ${bytes.length}\r\n\r\n${bytes}`
              : framing === 'chunked'
                ? `Transfer-Encoding: chunked\r\n\r\n${chunked(bytes, chunkSizes)}`
                : `\r\n${bytes}`;
          const text = `${informational ? 'HTTP/1.1 100 Continue\r\n\r\n' : ''}HTTP/1.1 ${status} X\r\n${framed}`;
          const reader = read(split(text, cuts), { close: framing === 'close', cap: 1024 });
          expect(reader.head?.status).toBe(status);
          expect(reader.complete).toBe(true);
          expect(reader.truncated).toBe(false);
          expect(reader.body().toString('utf8')).toBe(body);
        },
      ),
    );
  });

  it('never keeps more than the cap, and marks every body longer than it as truncated', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (length, cap, cuts) => {
          const text = `HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\n\r\n${'b'.repeat(length)}`;
          const reader = read(split(text, cuts), { cap });
          expect(reader.complete).toBe(true);
          expect(reader.body().length).toBe(Math.min(length, cap));
          expect(reader.truncated).toBe(length > cap);
        },
      ),
    );
  });

  it('answers any bytes at all with an answer or an HttpAnswerError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom('', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
        (pieces, close, prefix) => {
          const reader = new AnswerReader(CAP);
          try {
            reader.push(Buffer.from(prefix, 'latin1'));
            for (const piece of pieces) reader.push(Buffer.from(piece));
            if (close) reader.end();
          } catch (error) {
            expect(error).toBeInstanceOf(HttpAnswerError);
            return;
          }
          expect(reader.body().length).toBeLessThanOrEqual(CAP);
        },
      ),
    );
  });
});
