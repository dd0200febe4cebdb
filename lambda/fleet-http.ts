/**
 * How one site is contacted: the endpoint URL, the dispatcher built for a fleet of distinct origins, and one
 * PUT of the key, read within the response cap and turned into a verdict (`site-answer.ts`). Retries,
 * canaries and concurrency are the push engine's (`push.ts`). The key and the master key go into the
 * request and nowhere else.
 */
import { createSecureContext } from 'node:tls';
import type { Dispatcher } from 'undici';
import { SETTINGS } from './contract.js';
import { MAX_RESPONSE_BYTES, parseRetryAfter, readCappedBody } from './http.js';
import {
  type AttemptPhase,
  type AttemptVerdict,
  answerNeedsBody,
  bodyTooLarge,
  classifyAnswer,
  classifyFailure,
  timedOut,
} from './site-answer.js';
import { Agent, request } from './undici-parts.js';

/** The template sites' endpoint (docs/architecture.md, "Site answers and what they mean"). */
export const SITE_ENDPOINT_PATH = '/api/export/settings/stripe_secret_key';
const USER_AGENT = 'stripe-key-rotator/1';

export interface FleetDispatcherOptions {
  /** PEM of the CA to trust instead of the default roots (tests, the simulated fleet). */
  readonly ca?: string;
  /** Bound on TCP connect + TLS handshake: a site's timeout. @default SITE_TIMEOUT_MS's default */
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
 * Without `ca`, the default roots apply, NODE_EXTRA_CA_CERTS included.
 */
export function createFleetDispatcher(options: FleetDispatcherOptions = {}): Dispatcher {
  const secureContext = createSecureContext(options.ca === undefined ? {} : { ca: options.ca });
  return new Agent({
    connections: 1,
    pipelining: 0,
    connect: {
      secureContext,
      maxCachedSessions: 0,
      timeout: options.connectTimeoutMs ?? SETTINGS.siteTimeoutMs.default,
    },
  });
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

/** One push's request, built once and sent to every site. */
export interface SitePut {
  readonly dispatcher: Dispatcher;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: string;
  /** Bound on one whole attempt: connect, TLS, headers and body. */
  readonly timeoutMs: number;
}

export function sitePut(options: {
  readonly dispatcher: Dispatcher;
  readonly key: string;
  readonly masterApiKey: string;
  readonly timeoutMs: number;
}): SitePut {
  return {
    dispatcher: options.dispatcher,
    headers: {
      'content-type': 'application/json',
      'x-api-key': options.masterApiKey,
      'user-agent': USER_AGENT,
    },
    payload: JSON.stringify({ value: options.key }),
    timeoutMs: options.timeoutMs,
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * One attempt at one endpoint: its verdict, whatever happened (this never throws), within `timeoutMs` for
 * every phase together (DNS, connect, TLS, headers, body). The signal aborts the request, but undici does not
 * abandon a connection still being set up (a site that accepts TCP and never completes TLS held an attempt for
 * the dispatcher's connect timeout, 10 s), so the attempt's verdict does not wait for the request to notice.
 */
export async function attemptPut(url: string, put: SitePut): Promise<AttemptVerdict> {
  const signal = AbortSignal.timeout(put.timeoutMs);
  const state: { phase: AttemptPhase } = { phase: 'answer' };
  let onAbort = (): void => undefined;
  const expired = new Promise<AttemptVerdict>((resolve) => {
    onAbort = () => resolve(timedOut(put.timeoutMs, state.phase));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([attemptWithin(url, put, signal, state), expired]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function attemptWithin(
  url: string,
  put: SitePut,
  signal: AbortSignal,
  state: { phase: AttemptPhase },
): Promise<AttemptVerdict> {
  const { timeoutMs } = put;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: 'PUT',
      dispatcher: put.dispatcher,
      headers: put.headers,
      body: put.payload,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (error) {
    return classifyFailure(error, timeoutMs);
  }
  state.phase = 'body';
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
      return bodyTooLarge(status, 'announced');
    }
    const { text, truncated } = await readCappedBody(body);
    if (strict && truncated) return bodyTooLarge(status, 'sent');
    return classifyAnswer({ ...answer, body: text });
  } catch (error) {
    body.destroy();
    return classifyFailure(error, timeoutMs, 'body');
  }
}
