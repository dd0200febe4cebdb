/**
 * The fleet pusher: PUTs the new key to every site, canaries first, then through a bounded worker pool, with
 * retries (exponential backoff, full jitter, Retry-After) for transient failures only, and stops launching
 * requests when the invocation's remaining time gets short. Answers are classified as architecture.md
 * "Site answers and what they mean" says. Nothing here ever writes the key or the master key anywhere but
 * into the request itself.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSecureContext } from 'node:tls';
import type { Dispatcher } from 'undici';
import { type BackoffPolicy, retryDelayMs } from './backoff.js';
import { ConfigurationError } from './errors.js';
import { MAX_RESPONSE_BYTES, parseRetryAfter, readCappedBody } from './http.js';
import type { RotationLogger } from './log.js';
import type {
  PushReport,
  PushRequest,
  PushStopReason,
  SiteOutcome,
  SitePusher,
  SiteResult,
} from './ports.js';
import { Agent, request } from './undici-parts.js';

/** The template sites' endpoint (seed guide, "Endpoint API Template"). */
export const SITE_ENDPOINT_PATH = '/api/export/settings/stripe_secret_key';
export const USER_AGENT = 'stripe-key-rotator/1';

export interface FleetPusherOptions {
  /** undici dispatcher, created once by the caller (tests: `new Agent({ connect: { ca } })`). */
  readonly dispatcher: Dispatcher;
  readonly logger: RotationLogger;
  /** Requests in flight at most (PUSH_CONCURRENCY). */
  readonly concurrency: number;
  /** Bound on one whole attempt: connect, TLS, headers and body (SITE_TIMEOUT_MS). */
  readonly siteTimeoutMs: number;
  /** Total tries for transient failures (SITE_ATTEMPTS). */
  readonly attempts: number;
  /** The first N sites, pushed one at a time before the rest (CANARY_SITES). */
  readonly canaryCount: number;
  /** Default `{ baseMs: 250, capMs: 8000 }`. */
  readonly backoff?: BackoffPolicy;
  /** A longer Retry-After makes the site give up (keeping its transient outcome). Default 30 000. */
  readonly maxRetryAfterMs?: number;
  /** No site or retry is launched with less remaining time than this. Default `siteTimeoutMs + 2000`. */
  readonly deadlineMarginMs?: number;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

export interface FleetDispatcherOptions {
  /** PEM of the CA to trust instead of the default roots (tests, the simulated fleet). */
  readonly ca?: string;
  /** Bound on TCP connect + TLS handshake. Default 10 000. */
  readonly connectTimeoutMs?: number;
}

/**
 * The undici dispatcher for the fleet push. Every site is a distinct origin contacted once per rotation, so
 * what a general-purpose Agent keeps per connection is waste here (bench/results.md measures it):
 * - one TLS context shared by every connection: otherwise `tls.connect` builds one per site, CA store
 *   included, about 0.2–0.6 ms of CPU each;
 * - no keep-alive (`pipelining: 0` sends `connection: close`): idle sockets of finished sites, each holding
 *   its TLS state until the keep-alive timeout, are what makes memory grow with the fleet;
 * - one connection per origin (a Client rather than a Pool) and no TLS session cache: nothing reuses them.
 * A retry opens a new connection. Stripe, called twice per rotation, is better served by a plain Agent.
 */
export function createFleetDispatcher(options: FleetDispatcherOptions = {}): Dispatcher {
  const secureContext = createSecureContext(options.ca === undefined ? {} : { ca: options.ca });
  return new Agent({
    connections: 1,
    pipelining: 0,
    connect: { secureContext, maxCachedSessions: 0, timeout: options.connectTimeoutMs ?? 10_000 },
  });
}

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 8000 };
const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
const DEADLINE_SLACK_MS = 2000;
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

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
  'ETIMEDOUT',
]);

/** The first `code` (or a timeout/abort name) along an error's cause chain; never its message. */
export function failureCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 5; depth += 1) {
    const { code, name, cause } = current as { code?: unknown; name?: unknown; cause?: unknown };
    if (name === 'TimeoutError' || name === 'AbortError') return name;
    if (typeof code === 'string') return code;
    current = cause;
  }
  return undefined;
}

/** Classifies a request that produced no complete answer. */
export function classifyFailure(error: unknown, siteTimeoutMs: number): AttemptVerdict {
  const code = failureCode(error);
  if (code === undefined) {
    const name = error instanceof Error ? error.name : typeof error;
    return { outcome: 'connection_error', retryable: true, detail: `request failed: ${name}` };
  }
  // Only our own whole-attempt signal aborts a request.
  if (code === 'TimeoutError' || code === 'AbortError' || TIMEOUT_CODES.has(code)) {
    return { outcome: 'timeout', retryable: true, detail: `timed out after ${siteTimeoutMs} ms` };
  }
  if (CERTIFICATE_ERROR_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
    return { outcome: 'tls_error', retryable: false, detail: `certificate rejected: ${code}` };
  }
  if (code === 'UND_ERR_INVALID_ARG') {
    // A malformed header value (e.g. a master key with a newline): no attempt will ever succeed.
    return {
      outcome: 'connection_error',
      retryable: false,
      detail: `request refused by the HTTP client: ${code}`,
    };
  }
  return { outcome: 'connection_error', retryable: true, detail: `connection failed: ${code}` };
}

/** The endpoint URL for a site, or undefined when the site is not an https URL. */
export function endpointUrl(site: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(site);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' || parsed.search !== '' || parsed.hash !== '') return undefined;
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}${SITE_ENDPOINT_PATH}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function attemptsText(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}

interface Settings {
  readonly dispatcher: Dispatcher;
  readonly logger: RotationLogger;
  readonly concurrency: number;
  readonly siteTimeoutMs: number;
  readonly attempts: number;
  readonly canaryCount: number;
  readonly backoff: BackoffPolicy;
  readonly maxRetryAfterMs: number;
  readonly deadlineMarginMs: number;
  readonly random: () => number;
}

function settingsFrom(options: FleetPusherOptions): Settings {
  const settings: Settings = {
    dispatcher: options.dispatcher,
    logger: options.logger,
    concurrency: options.concurrency,
    siteTimeoutMs: options.siteTimeoutMs,
    attempts: options.attempts,
    canaryCount: options.canaryCount,
    backoff: options.backoff ?? DEFAULT_BACKOFF,
    maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
    deadlineMarginMs: options.deadlineMarginMs ?? options.siteTimeoutMs + DEADLINE_SLACK_MS,
    random: options.random ?? Math.random,
  };
  const problems: string[] = [];
  const whole = (name: string, value: number, min: number): void => {
    if (!Number.isSafeInteger(value) || value < min)
      problems.push(`${name}=${value} must be a whole number ≥ ${min}`);
  };
  whole('concurrency', settings.concurrency, 1);
  whole('siteTimeoutMs', settings.siteTimeoutMs, 1);
  whole('attempts', settings.attempts, 1);
  whole('canaryCount', settings.canaryCount, 0);
  whole('backoff.baseMs', settings.backoff.baseMs, 0);
  whole('backoff.capMs', settings.backoff.capMs, 0);
  whole('maxRetryAfterMs', settings.maxRetryAfterMs, 0);
  whole('deadlineMarginMs', settings.deadlineMarginMs, 0);
  if (problems.length > 0) throw new ConfigurationError('invalid fleet pusher options', { problems });
  return settings;
}

export function createFleetPusher(options: FleetPusherOptions): SitePusher {
  const settings = settingsFrom(options);
  return { push: (request) => new PushRun(settings, request).run() };
}

/** The state of one push; one instance per `push()` call, shared by its workers. */
class PushRun {
  private readonly results: (SiteResult | undefined)[];
  private readonly headers: Record<string, string>;
  private readonly payload: string;
  private cursor = 0;
  private stoppedBecause: PushStopReason | undefined;
  private stopDetail = '';
  private callbackFailed = false;
  private callbackError: unknown;

  constructor(
    private readonly settings: Settings,
    private readonly request: PushRequest,
  ) {
    this.results = new Array<SiteResult | undefined>(request.sites.length);
    this.headers = {
      'content-type': 'application/json',
      'x-api-key': request.masterApiKey,
      'user-agent': USER_AGENT,
    };
    this.payload = JSON.stringify({ value: request.key });
  }

  async run(): Promise<PushReport> {
    const started = performance.now();
    const { sites } = this.request;
    const canaries = Math.min(this.settings.canaryCount, sites.length);

    while (this.cursor < canaries && this.mayLaunch()) {
      const result = await this.pushAndRecord(this.cursor++);
      if (result.outcome !== 'confirmed' && result.outcome !== 'invalid_secret_format') {
        this.halt('canary_failed', `canary ${result.site} did not confirm (${result.outcome})`);
      }
    }
    if (this.cursor < sites.length && this.mayLaunch()) {
      const workers = Math.min(this.settings.concurrency, sites.length - this.cursor);
      await Promise.all(Array.from({ length: workers }, () => this.worker()));
    }
    if (this.callbackFailed) throw this.callbackError;

    for (const [index, site] of sites.entries()) {
      if (this.results[index] !== undefined) continue;
      await this.record(index, {
        site,
        outcome: 'not_attempted',
        detail: `not attempted: ${this.stopDetail}`,
        attempts: 0,
        durationMs: 0,
      });
      if (this.callbackFailed) throw this.callbackError;
    }

    const results = this.results.filter((result): result is SiteResult => result !== undefined);
    const confirmed = results.filter((result) => result.outcome === 'confirmed').length;
    const notAttempted = results.filter((result) => result.outcome === 'not_attempted').length;
    this.settings.logger.info('fleet push finished', {
      sites: sites.length,
      confirmed,
      failed: sites.length - confirmed - notAttempted,
      notAttempted,
      stoppedBecause: this.stoppedBecause,
      durationMs: Math.round(performance.now() - started),
    });
    return this.stoppedBecause === undefined ? { results } : { results, stoppedBecause: this.stoppedBecause };
  }

  private async worker(): Promise<void> {
    while (this.cursor < this.request.sites.length && this.mayLaunch()) {
      await this.pushAndRecord(this.cursor++);
    }
  }

  /** False once the push stopped; records the deadline as the reason when time is short. */
  private mayLaunch(): boolean {
    if (this.stoppedBecause !== undefined || this.callbackFailed) return false;
    if (this.request.remainingTimeMs() < this.settings.deadlineMarginMs) {
      this.halt('deadline', `less than ${this.settings.deadlineMarginMs} ms of invocation time was left`);
      return false;
    }
    return true;
  }

  private halt(reason: PushStopReason, detail: string): void {
    if (this.stoppedBecause !== undefined) return;
    this.stoppedBecause = reason;
    this.stopDetail = detail;
  }

  private async pushAndRecord(index: number): Promise<SiteResult> {
    const site = this.request.sites[index] ?? '';
    const result = await this.pushSite(site);
    if (result.outcome === 'invalid_secret_format') {
      this.halt('key_rejected', `${site} rejected the key as invalid_secret_format`);
    }
    await this.record(index, result);
    return result;
  }

  private async record(index: number, result: SiteResult): Promise<void> {
    this.results[index] = result;
    const attributes = {
      site: result.site,
      outcome: result.outcome,
      httpStatus: result.httpStatus,
      attempts: result.attempts,
      durationMs: result.durationMs,
    };
    if (result.outcome === 'confirmed') this.settings.logger.info('site confirmed', attributes);
    else this.settings.logger.warn('site not confirmed', { ...attributes, detail: result.detail });
    try {
      await this.request.onResult?.(result);
    } catch (error) {
      // The caller could not record a result (e.g. the ledger): stop launching and surface its error.
      if (!this.callbackFailed) this.callbackError = error;
      this.callbackFailed = true;
    }
  }

  private async pushSite(site: string): Promise<SiteResult> {
    const started = performance.now();
    const url = endpointUrl(site);
    if (url === undefined) {
      return {
        site,
        outcome: 'tls_error',
        detail: 'refused: not an https URL, nothing sent',
        attempts: 0,
        durationMs: 0,
      };
    }
    const finish = (verdict: AttemptVerdict, attempts: number, detail: string): SiteResult => ({
      site,
      outcome: verdict.outcome,
      ...(verdict.httpStatus === undefined ? {} : { httpStatus: verdict.httpStatus }),
      detail: this.scrub(detail),
      attempts,
      durationMs: Math.round(performance.now() - started),
    });

    for (let attempts = 1; ; attempts += 1) {
      const verdict = await this.attempt(url);
      if (!verdict.retryable) {
        return finish(
          verdict,
          attempts,
          attempts === 1 ? verdict.detail : `${verdict.detail} (${attemptsText(attempts)})`,
        );
      }
      if (attempts >= this.settings.attempts) {
        return finish(verdict, attempts, `${verdict.detail} (${attemptsText(attempts)})`);
      }
      if (verdict.retryAfterMs !== undefined && verdict.retryAfterMs > this.settings.maxRetryAfterMs) {
        return finish(
          verdict,
          attempts,
          `${verdict.detail}; Retry-After of ${verdict.retryAfterMs} ms exceeds the ${this.settings.maxRetryAfterMs} ms limit, gave up after ${attemptsText(attempts)}`,
        );
      }
      const delayMs = retryDelayMs(
        attempts - 1,
        this.settings.backoff,
        this.settings.random,
        verdict.retryAfterMs,
      );
      if (this.request.remainingTimeMs() - delayMs < this.settings.deadlineMarginMs) {
        return finish(
          verdict,
          attempts,
          `${verdict.detail}; no time left to retry before the invocation deadline (${attemptsText(attempts)})`,
        );
      }
      this.settings.logger.debug('retrying site', {
        site,
        attempt: attempts,
        delayMs: Math.round(delayMs),
        outcome: verdict.outcome,
        httpStatus: verdict.httpStatus,
      });
      await sleep(delayMs);
    }
  }

  private async attempt(url: string): Promise<AttemptVerdict> {
    const timeoutMs = this.settings.siteTimeoutMs;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: 'PUT',
        dispatcher: this.settings.dispatcher,
        headers: this.headers,
        body: this.payload,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      return classifyFailure(error, timeoutMs);
    }
    const { statusCode: status, headers, body } = response;
    try {
      const answer = {
        status,
        location: headerValue(headers.location),
        retryAfterMs: parseRetryAfter(headers['retry-after']),
      };
      if (!answerNeedsBody(status)) {
        // Read (bounded) so the connection can be reused; a larger body destroys the socket instead.
        await body.dump({ limit: MAX_RESPONSE_BYTES });
        return classifyAnswer(answer);
      }
      const strict = status !== 401;
      if (strict && Number(headerValue(headers['content-length']) ?? 0) > MAX_RESPONSE_BYTES) {
        body.destroy();
        return this.tooLarge(status, 'announced');
      }
      const { text, truncated } = await readCappedBody(body);
      if (strict && truncated) return this.tooLarge(status, 'sent');
      return classifyAnswer({ ...answer, body: text });
    } catch (error) {
      body.destroy();
      return classifyFailure(error, timeoutMs);
    }
  }

  private tooLarge(status: number, how: 'announced' | 'sent'): AttemptVerdict {
    return {
      outcome: 'body_too_large',
      retryable: false,
      httpStatus: status,
      detail: `answered ${status} but ${how} a body over the ${MAX_RESPONSE_BYTES}-byte cap`,
    };
  }

  /** A site controls Location and error codes: make sure it cannot make us log what we sent it. */
  private scrub(text: string): string {
    let clean = text;
    for (const value of [this.request.key, this.request.masterApiKey]) {
      if (value.length === 0) continue;
      clean = clean.replaceAll(value, '[redacted]');
      const encoded = encodeURIComponent(value);
      if (encoded !== value) clean = clean.replaceAll(encoded, '[redacted]');
    }
    return clean;
  }
}
