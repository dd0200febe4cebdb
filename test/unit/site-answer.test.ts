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
