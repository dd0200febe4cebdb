import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readCappedBody } from '../../core/http.js';
import { rejection } from '../support/secret-guard.js';

describe('reading a response body within a cap', () => {
  it('reads a body under the cap to its end, whatever its chunks', async () => {
    const body = new PassThrough();
    const read = readCappedBody(body, 10);
    body.write('héllo');
    body.end(' you');
    expect(await read).toEqual({ text: 'héllo you', truncated: false });
  });

  it('keeps exactly the cap of a longer body, says it was truncated and stops reading', async () => {
    const body = new PassThrough();
    const read = readCappedBody(body, 4);
    body.write('ab');
    body.write('cdef');
    expect(await read).toEqual({ text: 'abcd', truncated: true });
    expect(body.destroyed).toBe(true);
  });

  it('rejects a body cut short by the connection closing, and one whose stream fails', async () => {
    const closed = new PassThrough();
    const cut = readCappedBody(closed, 10);
    closed.write('ab');
    closed.destroy();
    expect((await rejection(cut)) as Error & { code?: string }).toMatchObject({ code: 'ECONNRESET' });

    const failing = new PassThrough();
    const failed = readCappedBody(failing, 10);
    failing.destroy(Object.assign(new Error('reset'), { code: 'EPIPE' }));
    expect((await rejection(failed)) as Error & { code?: string }).toMatchObject({ code: 'EPIPE' });
  });
});
