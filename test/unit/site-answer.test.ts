import { describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES } from '../../core/http.js';
import {
  bodyTooLarge,
  classifyAnswer,
  classifyFailure,
  mayHoldRotationKey,
} from '../../core/push/site-answer.js';
import { secret } from '../support/secret-guard.js';

describe('classifying a site answer (docs/architecture.md, "Site answers and what they mean")', () => {
  const body = (value: unknown) => JSON.stringify(value);

  it('confirms only a 200 saying success and secret_saved', () => {
    expect(classifyAnswer({ status: 200, body: body({ success: true, message: 'secret_saved' }) })).toEqual({
      outcome: 'confirmed',
      retryable: false,
      httpStatus: 200,
      detail: 'answered 200 secret_saved',
    });
    for (const other of [
      body({ success: true }),
      body({ success: 'true', message: 'secret_saved' }),
      '<html>',
      '',
    ]) {
      expect(classifyAnswer({ status: 200, body: other })).toMatchObject({
        outcome: 'unexpected_body',
        retryable: false,
      });
    }
  });

  it('does not confirm other 2xx statuses', () => {
    expect(
      classifyAnswer({ status: 201, body: body({ success: true, message: 'secret_saved' }) }),
    ).toMatchObject({
      outcome: 'http_error',
      retryable: false,
    });
  });

  it('refuses every redirect, naming its target', () => {
    for (const status of [301, 302, 303, 307, 308]) {
      expect(classifyAnswer({ status, location: 'https://elsewhere.example/x' })).toEqual({
        outcome: 'redirect',
        retryable: false,
        httpStatus: status,
        detail: `answered ${status} redirect to https://elsewhere.example/x refused (not followed)`,
      });
    }
  });

  it('tells a rejected key format from any other 400', () => {
    expect(classifyAnswer({ status: 400, body: body({ error: 'invalid_secret_format' }) }).outcome).toBe(
      'invalid_secret_format',
    );
    expect(classifyAnswer({ status: 400, body: body({ error: 'missing_field' }) })).toMatchObject({
      outcome: 'http_error',
      detail: 'answered 400 missing_field',
    });
    expect(classifyAnswer({ status: 400, body: '<h1>Bad Request</h1>' })).toMatchObject({
      outcome: 'http_error',
      detail: 'answered 400',
    });
  });

  it('fails without retry on 401, 404, 405 and other 4xx', () => {
    expect(classifyAnswer({ status: 401, body: body({ error: 'invalid_api_key' }) })).toMatchObject({
      outcome: 'invalid_api_key',
      retryable: false,
      detail: 'answered 401 invalid_api_key',
    });
    expect(classifyAnswer({ status: 404 })).toMatchObject({ outcome: 'endpoint_missing', retryable: false });
    expect(classifyAnswer({ status: 405 })).toMatchObject({ outcome: 'endpoint_missing', retryable: false });
    expect(classifyAnswer({ status: 403 })).toMatchObject({ outcome: 'http_error', retryable: false });
  });

  it('retries 429 and 5xx, carrying Retry-After', () => {
    expect(classifyAnswer({ status: 429, retryAfterMs: 2000 })).toMatchObject({
      outcome: 'throttled',
      retryable: true,
      retryAfterMs: 2000,
    });
    for (const status of [500, 502, 503, 504]) {
      expect(classifyAnswer({ status })).toMatchObject({ outcome: 'server_error', retryable: true });
    }
  });

  it('echoes only short identifier-like error codes from a body', () => {
    const verdict = classifyAnswer({ status: 400, body: body({ error: 'value "x y" rejected <script>' }) });
    expect(verdict.detail).toBe('answered 400');
  });
});

describe('classifying a request that got no answer', () => {
  const withCode = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

  it('treats system timeouts within the attempt as transient timeouts', () => {
    // ELOOKUPABANDONED: the attempt's time passed while the host's lookup was still queued (dns-queue.ts).
    for (const error of [
      withCode('ETIMEDOUT'),
      withCode('ERR_TLS_HANDSHAKE_TIMEOUT'),
      withCode('ELOOKUPABANDONED'),
    ]) {
      expect(classifyFailure(error, 300)).toEqual({
        outcome: 'timeout',
        retryable: true,
        detail: 'timed out after 300 ms waiting for an answer',
      });
    }
  });

  it('says which phase ran out of time: the answer, or its body', () => {
    expect(classifyFailure(Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), 300, 'body')).toEqual({
      outcome: 'timeout',
      retryable: true,
      detail: "timed out after 300 ms reading the answer's body",
    });
  });

  it('treats refused and dropped connections as transient', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'HPE_INVALID_CONSTANT']) {
      expect(classifyFailure(withCode(code), 300)).toEqual({
        outcome: 'connection_error',
        retryable: true,
        detail: `connection failed: ${code}`,
      });
    }
  });

  it('fails certificate and handshake problems at once', () => {
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'CERT_HAS_EXPIRED',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    ]) {
      expect(classifyFailure(withCode(code), 300)).toEqual({
        outcome: 'tls_error',
        retryable: false,
        detail: `certificate rejected: ${code}`,
      });
    }
  });

  it('finds the code along the cause chain', () => {
    const wrapped = new Error('fetch failed', { cause: withCode('CERT_HAS_EXPIRED') });
    expect(classifyFailure(wrapped, 300).outcome).toBe('tls_error');
  });

  it('never repeats an error message, which could carry anything', () => {
    const key = secret('sk_live_NeverEchoedFromAnErrorMessage01');
    const verdict = classifyFailure(new Error(`failed while sending ${key}`), 300);
    expect(verdict).toEqual({
      outcome: 'connection_error',
      retryable: true,
      detail: 'request failed: Error',
    });
  });
});

describe('an answer over the response cap', () => {
  it('is final, and says whether the body was announced or sent', () => {
    expect(bodyTooLarge(200, 'announced')).toEqual({
      outcome: 'body_too_large',
      retryable: false,
      httpStatus: 200,
      detail: `answered 200 but announced a body over the ${MAX_RESPONSE_BYTES}-byte cap`,
    });
    expect(bodyTooLarge(400, 'sent').detail).toBe(
      `answered 400 but sent a body over the ${MAX_RESPONSE_BYTES}-byte cap`,
    );
  });
});

describe('which snapshot sites abort must put the current key back on', () => {
  it('counts a site with no result recorded: the function may have stopped after the site stored the key', () => {
    expect(mayHoldRotationKey({ status: 'pending' })).toBe(true);
  });

  it('counts a confirmed site and one whose answer was lost after the key was sent', () => {
    expect(mayHoldRotationKey({ status: 'confirmed', outcome: 'confirmed' })).toBe(true);
    for (const outcome of [
      'timeout',
      'connection_error',
      'server_error',
      'unexpected_body',
      'body_too_large',
    ] as const) {
      expect(mayHoldRotationKey({ status: 'failed', outcome }), outcome).toBe(true);
    }
  });

  it('leaves out a site that refused the key before taking it, or was never contacted', () => {
    for (const outcome of [
      'invalid_api_key',
      'invalid_secret_format',
      'endpoint_missing',
      'throttled',
      'tls_error',
      'not_https',
      'redirect',
    ] as const) {
      expect(mayHoldRotationKey({ status: 'failed', outcome }), outcome).toBe(false);
    }
    expect(mayHoldRotationKey({ status: 'not_attempted', outcome: 'not_attempted' })).toBe(false);
  });
});

describe('the words and limits of each verdict', () => {
  const body = (value: unknown) => JSON.stringify(value);

  it('says what a 200 lacked', () => {
    expect(classifyAnswer({ status: 200, body: body({ success: false }) }).detail).toBe(
      'answered 200 without {"success":true,"message":"secret_saved"}',
    );
  });

  it('treats 300 as a redirect and says when it named no target', () => {
    expect(classifyAnswer({ status: 300 })).toStrictEqual({
      outcome: 'redirect',
      retryable: false,
      detail: 'answered 300 redirect (refused, not followed)',
      httpStatus: 300,
    });
  });

  it('cuts a long redirect target to 200 characters', () => {
    const target = `https://elsewhere.example/${'p'.repeat(300)}`;
    expect(classifyAnswer({ status: 302, location: target }).detail).toBe(
      `answered 302 redirect to ${target.slice(0, 200)} refused (not followed)`,
    );
  });

  it('names each final refusal', () => {
    expect(classifyAnswer({ status: 400, body: body({ error: 'invalid_secret_format' }) }).detail).toBe(
      'answered 400 invalid_secret_format',
    );
    expect(classifyAnswer({ status: 401 }).detail).toBe('answered 401 (master API key refused)');
    expect(classifyAnswer({ status: 405 }).detail).toBe('answered 405: endpoint missing');
    expect(classifyAnswer({ status: 418 }).detail).toBe('answered 418');
  });

  it('names each transient failure, and carries no Retry-After the site did not send', () => {
    expect(classifyAnswer({ status: 429 })).toStrictEqual({
      outcome: 'throttled',
      retryable: true,
      detail: 'answered 429 (throttled)',
      httpStatus: 429,
    });
    expect(classifyAnswer({ status: 503 })).toStrictEqual({
      outcome: 'server_error',
      retryable: true,
      detail: 'answered 503',
      httpStatus: 503,
    });
  });

  it('takes a status of 600 or more for no server error: final', () => {
    expect(classifyAnswer({ status: 600 })).toMatchObject({ outcome: 'http_error', retryable: false });
    expect(classifyAnswer({ status: 599 })).toMatchObject({ outcome: 'server_error', retryable: true });
  });

  it('echoes no error code that is not a string or has other characters before it', () => {
    expect(classifyAnswer({ status: 400, body: body({ error: 42 }) }).detail).toBe('answered 400');
    expect(classifyAnswer({ status: 401, body: body({ error: '<b>bad key' }) }).detail).toBe(
      'answered 401 (master API key refused)',
    );
  });
});

describe('a failure with no usable code', () => {
  const withCode = (code: string) => Object.assign(new Error('boom'), { code });

  it('is a transient connection error named by its type, whatever was thrown', () => {
    expect(classifyFailure(null, 300)).toEqual({
      outcome: 'connection_error',
      retryable: true,
      detail: 'request failed: object',
    });
    expect(classifyFailure('reset', 300).detail).toBe('request failed: string');
  });

  it('looks five causes deep for a code, no deeper', () => {
    const chain = (depth: number) => {
      let error: Error = withCode('CERT_HAS_EXPIRED');
      for (let i = 0; i < depth; i += 1) error = new Error('wrapped', { cause: error });
      return error;
    };
    expect(classifyFailure(chain(4), 300).outcome).toBe('tls_error');
    expect(classifyFailure(chain(5), 300)).toMatchObject({
      outcome: 'connection_error',
      detail: 'request failed: Error',
    });
  });

  it.each([
    'UNABLE_TO_GET_ISSUER_CERT',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
    'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
    'CERT_SIGNATURE_FAILURE',
    'CERT_NOT_YET_VALID',
    'CERT_HAS_EXPIRED',
    'ERROR_IN_CERT_NOT_BEFORE_FIELD',
    'ERROR_IN_CERT_NOT_AFTER_FIELD',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'CERT_CHAIN_TOO_LONG',
    'CERT_REVOKED',
    'INVALID_CA',
    'PATH_LENGTH_EXCEEDED',
    'INVALID_PURPOSE',
    'CERT_UNTRUSTED',
    'CERT_REJECTED',
    'HOSTNAME_MISMATCH',
  ])('fails at once on the certificate verdict %s', (code) => {
    expect(classifyFailure(withCode(code), 300)).toEqual({
      outcome: 'tls_error',
      retryable: false,
      detail: `certificate rejected: ${code}`,
    });
  });
});

describe('a confirmed site recorded without an outcome', () => {
  it('still counts among those abort puts the current key back on', () => {
    expect(mayHoldRotationKey({ status: 'confirmed' })).toBe(true);
  });
});
