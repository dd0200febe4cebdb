/**
 * How one site is contacted: the endpoint URL, the dispatcher built for a fleet of distinct origins, and one
 * PUT of the key, read within the response cap and turned into a verdict (`site-answer.ts`). Retries,
 * canaries and concurrency are the push engine's (`push.ts`). The key and the master key go into the
 * request and nowhere else.
 */
import { createSecureContext } from 'node:tls';
import type { Dispatcher } from 'undici';
import { SETTINGS } from './contract.js';
import { lookupQueue } from './dns-queue.js';
import { MAX_RESPONSE_BYTES, parseRetryAfter } from './http.js';
import {
  type AttemptPhase,
  type AttemptVerdict,
  answerNeedsBody,
  bodyTooLarge,
  classifyAnswer,
  classifyFailure,
  type SiteAnswer,
  timedOut,
} from './site-answer.js';
import { Agent } from './undici-parts.js';

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
 * - one connection per origin (a Client rather than a Pool) and no TLS session cache: nothing reuses them;
 * - host names looked up through `lookupQueue` (dns-queue.ts): a lookup outliving its attempt is dropped.
 * A retry opens a new connection. Stripe, called twice per rotation, is better served by a plain Agent.
 * Without `ca`, the default roots apply, NODE_EXTRA_CA_CERTS included.
 */
export function createFleetDispatcher(options: FleetDispatcherOptions = {}): Dispatcher {
  const secureContext = createSecureContext(options.ca === undefined ? {} : { ca: options.ca });
  const connectTimeoutMs = options.connectTimeoutMs ?? SETTINGS.siteTimeoutMs.default;
  return new Agent({
    connections: 1,
    pipelining: 0,
    connect: {
      secureContext,
      maxCachedSessions: 0,
      timeout: connectTimeoutMs,
      lookup: lookupQueue({ connectTimeoutMs }),
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

/** Passed to undici when the attempt stops reading an answer on purpose (cap reached or announced). */
function capReached(): Error {
  return new Error('response cap reached');
}

/**
 * One attempt at one endpoint: its verdict, whatever happened (this never throws), within `timeoutMs` for
 * every phase together (DNS, connect, TLS, headers, body): when the whole-attempt signal fires, the verdict
 * is settled at once, even while undici is still setting up the connection (it does not abandon one; a site
 * that accepts TCP and never completes TLS would otherwise hold the attempt for the connect timeout).
 *
 * Straight through `Dispatcher.dispatch` with a handler that keeps at most MAX_RESPONSE_BYTES of the body,
 * rather than `request()`: that API builds an async resource, a readable body stream and its async iterator
 * per site, about 0.15 ms of CPU per site at fleet scale (bench/README.md).
 */
export function attemptPut(url: string, put: SitePut): Promise<AttemptVerdict> {
  const { timeoutMs } = put;
  return new Promise<AttemptVerdict>((resolve) => {
    const signal = AbortSignal.timeout(timeoutMs);
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let phase: AttemptPhase = 'answer';
    const onAbort = (): void => {
      controller?.abort(signal.reason);
      settle(timedOut(timeoutMs, phase));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (verdict: AttemptVerdict): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(verdict);
    };

    let answer: SiteAnswer | undefined;
    let needsBody = false;
    let strict = true;
    const chunks: Buffer[] = [];
    let size = 0;
    const answered = (truncated: boolean): void => {
      if (answer === undefined) return;
      if (!needsBody) settle(classifyAnswer(answer));
      else if (strict && truncated) settle(bodyTooLarge(answer.status, 'sent'));
      else settle(classifyAnswer({ ...answer, body: Buffer.concat(chunks).toString('utf8') }));
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(started) {
        controller = started;
        if (signal.aborted) started.abort(signal.reason);
      },
      onResponseStart(response, status, headers) {
        answer = {
          status,
          location: headerValue(headers.location),
          retryAfterMs: parseRetryAfter(headers['retry-after']),
        };
        needsBody = answerNeedsBody(status);
        strict = status !== 401;
        phase = 'body';
        if (needsBody && strict && Number(headerValue(headers['content-length']) ?? 0) > MAX_RESPONSE_BYTES) {
          settle(bodyTooLarge(status, 'announced'));
          response.abort(capReached());
        }
      },
      onResponseData(response, chunk) {
        if (settled) return;
        if (size + chunk.length > MAX_RESPONSE_BYTES) {
          // Over the cap: keep what fits (a 401's explanation), classify, and drop the connection.
          if (needsBody) chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
          answered(true);
          response.abort(capReached());
          return;
        }
        size += chunk.length;
        if (needsBody) chunks.push(chunk);
      },
      onResponseEnd() {
        answered(false);
      },
      onResponseError(_response, error) {
        // A body that does not decide the outcome is read only as a courtesy: its failure changes nothing.
        if (answer !== undefined && !needsBody) answered(false);
        else settle(classifyFailure(error, timeoutMs, phase));
      },
    };
    try {
      const { origin, pathname, search } = new URL(url);
      put.dispatcher.dispatch(
        {
          origin,
          path: `${pathname}${search}`,
          method: 'PUT',
          headers: put.headers,
          body: put.payload,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        handler,
      );
    } catch (error) {
      settle(classifyFailure(error, timeoutMs));
    }
  });
}
