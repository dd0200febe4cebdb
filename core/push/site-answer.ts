/**
 * What a site's answer means: every HTTP answer, and every request that got none, becomes one verdict
 * (outcome, retryable or not, and words for an operator), as docs/architecture.md "Site answers and what
 * they mean" says. Pure functions: no I/O, nothing here ever sees the key or the master key.
 */
import { MAX_RESPONSE_BYTES } from '../http.js';
import type { SiteOutcome, SiteRecord } from '../ports.js';

/** Error codes sites put in their JSON bodies are short identifiers; anything else is not echoed. */
const ERROR_CODE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_LOCATION_CHARS = 200;

/** How one attempt ended. */
export interface AttemptVerdict {
  readonly outcome: Exclude<SiteOutcome, 'not_attempted'>;
  /** Transient failure worth another attempt. */
  readonly retryable: boolean;
  /** Words for an operator; built only from status, headers we allow, and error codes. */
  readonly detail: string;
  readonly httpStatus?: number;
  /** Retry-After of a 429/5xx answer, in ms. */
  readonly retryAfterMs?: number;
}

/** The status codes whose body decides the outcome or its explanation. */
export function answerNeedsBody(status: number): boolean {
  return status === 200 || status === 400 || status === 401;
}

function jsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function errorCodeOf(body: Record<string, unknown> | undefined): string | undefined {
  const code = body?.error;
  return typeof code === 'string' && ERROR_CODE_PATTERN.test(code) ? code : undefined;
}

export interface SiteAnswer {
  readonly status: number;
  /** The (capped) body, when `answerNeedsBody(status)`. */
  readonly body?: string;
  readonly location?: string;
  readonly retryAfterMs?: number;
}

/** Classifies a complete HTTP answer. */
export function classifyAnswer(answer: SiteAnswer): AttemptVerdict {
  const { status } = answer;
  const final = (outcome: AttemptVerdict['outcome'], detail: string): AttemptVerdict => ({
    outcome,
    retryable: false,
    detail,
    httpStatus: status,
  });
  const transient = (outcome: AttemptVerdict['outcome'], detail: string): AttemptVerdict => ({
    outcome,
    retryable: true,
    detail,
    httpStatus: status,
    ...(answer.retryAfterMs === undefined ? {} : { retryAfterMs: answer.retryAfterMs }),
  });

  if (status === 200) {
    const body = jsonObject(answer.body);
    return body?.success === true && body.message === 'secret_saved'
      ? final('confirmed', 'answered 200 secret_saved')
      : final('unexpected_body', 'answered 200 without {"success":true,"message":"secret_saved"}');
  }
  if (status >= 300 && status < 400) {
    const location = answer.location?.slice(0, MAX_LOCATION_CHARS);
    return final(
      'redirect',
      location === undefined
        ? `answered ${status} redirect (refused, not followed)`
        : `answered ${status} redirect to ${location} refused (not followed)`,
    );
  }
  if (status === 400) {
    const code = errorCodeOf(jsonObject(answer.body));
    return code === 'invalid_secret_format'
      ? final('invalid_secret_format', 'answered 400 invalid_secret_format')
      : final('http_error', code === undefined ? 'answered 400' : `answered 400 ${code}`);
  }
  if (status === 401) {
    const code = errorCodeOf(jsonObject(answer.body));
    return final('invalid_api_key', `answered 401 ${code ?? '(master API key refused)'}`);
  }
  if (status === 404 || status === 405)
    return final('endpoint_missing', `answered ${status}: endpoint missing`);
  if (status === 429) return transient('throttled', 'answered 429 (throttled)');
  if (status >= 500 && status < 600) return transient('server_error', `answered ${status}`);
  return final('http_error', `answered ${status}`);
}

/** OpenSSL verification results Node reports as `error.code`. */
const CERTIFICATE_ERROR_CODES = new Set([
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
]);

/** The attempt's own deadline settles as `timedOut` directly; these are the system's timeouts within it. */
const TIMEOUT_CODES = new Set([
  'ERR_TLS_HANDSHAKE_TIMEOUT',
  'ETIMEDOUT',
  // dns-queue.ts: the attempt's connect timeout passed while its lookup was still queued.
  'ELOOKUPABANDONED',
]);

/** The first `code` along an error's cause chain; never its message. */
function failureCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 5; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    current = cause;
  }
  return undefined;
}

/** Where an attempt was when it failed: before the status line and headers, or reading the body. */
export type AttemptPhase = 'answer' | 'body';

/** The verdict for an attempt cut by the per-attempt timeout (or a system timeout within it). */
export function timedOut(siteTimeoutMs: number, phase: AttemptPhase): AttemptVerdict {
  const waiting = phase === 'answer' ? 'waiting for an answer' : "reading the answer's body";
  return { outcome: 'timeout', retryable: true, detail: `timed out after ${siteTimeoutMs} ms ${waiting}` };
}

/** Classifies a request that produced no complete answer. */
export function classifyFailure(
  error: unknown,
  siteTimeoutMs: number,
  phase: AttemptPhase = 'answer',
): AttemptVerdict {
  const code = failureCode(error);
  if (code === undefined) {
    const name = error instanceof Error ? error.name : typeof error;
    return { outcome: 'connection_error', retryable: true, detail: `request failed: ${name}` };
  }
  if (TIMEOUT_CODES.has(code)) {
    return timedOut(siteTimeoutMs, phase);
  }
  if (CERTIFICATE_ERROR_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
    return { outcome: 'tls_error', retryable: false, detail: `certificate rejected: ${code}` };
  }
  return { outcome: 'connection_error', retryable: true, detail: `connection failed: ${code}` };
}

/**
 * Whether a site with this outcome may have stored the key it was sent: it confirmed, or the answer that
 * would say so was lost or unreadable (a timeout, a dropped connection, a 5xx, a 200 with another body or an
 * oversized one). Refusals before the key is taken (401, 404, 400, 3xx, 429, another 4xx), a certificate
 * refused, a non-https URL and a site never contacted leave what the site held.
 */
function mayHoldKeySent(outcome: SiteOutcome | undefined): boolean {
  return (
    outcome === 'confirmed' ||
    outcome === 'timeout' ||
    outcome === 'connection_error' ||
    outcome === 'server_error' ||
    outcome === 'unexpected_body' ||
    outcome === 'body_too_large'
  );
}

/**
 * Whether a snapshot site may hold the key a rotation sent it, from its ledger record: what `abort` must put
 * the current key back on. A site with no result recorded (`pending`) counts: the function may have stopped
 * mid-push (killed, timed out) after the site stored the key, with its answer in flight or its result still
 * buffered.
 */
export function mayHoldRotationKey(site: Pick<SiteRecord, 'status' | 'outcome'>): boolean {
  return site.status === 'pending' || site.status === 'confirmed' || mayHoldKeySent(site.outcome);
}

/** An answer whose body is over the response cap: the rest is not read, and the attempt is final. */
export function bodyTooLarge(status: number, how: 'announced' | 'sent'): AttemptVerdict {
  return {
    outcome: 'body_too_large',
    retryable: false,
    httpStatus: status,
    detail: `answered ${status} but ${how} a body over the ${MAX_RESPONSE_BYTES}-byte cap`,
  };
}
