/**
 * How one site is contacted: the endpoint URL, the connector built for a fleet of distinct origins, and one
 * PUT of the key over its own TLS connection, read within the response cap (`http1-response.ts`) and turned
 * into a verdict (`site-answer.ts`). Retries, canaries and concurrency are the push engine's (`push.ts`).
 * The key and the master key go into the request and nowhere else.
 */
import { isIP, type LookupFunction } from 'node:net';
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { SETTINGS } from './contract.js';
import { lookupQueue } from './dns-queue.js';
import { MAX_RESPONSE_BYTES, parseRetryAfter } from './http.js';
import { AnswerReader } from './http1-response.js';
import {
  type AttemptPhase,
  type AttemptVerdict,
  answerNeedsBody,
  bodyTooLarge,
  classifyAnswer,
  classifyFailure,
  timedOut,
} from './site-answer.js';

/** The template sites' endpoint (docs/architecture.md, "Site answers and what they mean"). */
export const SITE_ENDPOINT_PATH = '/api/export/settings/stripe_secret_key';
const USER_AGENT = 'stripe-key-rotator/1';

export interface FleetConnectorOptions {
  /** PEM of the CA to trust instead of the default roots (tests, the simulated fleet). */
  readonly ca?: string;
  /** How long a site's attempt may last: queued host-name lookups older than this are dropped. @default SITE_TIMEOUT_MS's default */
  readonly connectTimeoutMs?: number;
}

/**
 * What every connection of a fleet push shares. Every site is a distinct origin contacted once per rotation,
 * so nothing is pooled or kept alive (bench/results.md measures what that saves):
 * - one TLS context for every connection: otherwise `tls.connect` builds one per site, CA store included;
 * - one connection per attempt, closed once the answer is read (`connection: close`), no TLS session cache;
 * - host names looked up through `lookupQueue` (dns-queue.ts): a lookup outliving its attempt is dropped.
 * Certificates and host names are verified as by any Node TLS client; without `ca`, the default roots apply,
 * NODE_EXTRA_CA_CERTS included.
 */
export class FleetConnector {
  readonly #secureContext: SecureContext;
  readonly #lookup: LookupFunction;
  readonly #open = new Set<TLSSocket>();

  constructor(options: FleetConnectorOptions = {}) {
    this.#secureContext = createSecureContext(options.ca === undefined ? {} : { ca: options.ca });
    this.#lookup = lookupQueue({
      connectTimeoutMs: options.connectTimeoutMs ?? SETTINGS.siteTimeoutMs.default,
    });
  }

  /** A TLS connection to `target`'s host and port, tracked until it closes. */
  open(target: URL): TLSSocket {
    // URL keeps the brackets of an IPv6 literal; SNI is for host names only (RFC 6066 §3).
    const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const socket = connect({
      host,
      port: target.port === '' ? 443 : Number(target.port),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      secureContext: this.#secureContext,
      ALPNProtocols: ['http/1.1'],
      lookup: this.#lookup,
    });
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    return socket;
  }

  /** Closes every connection still open: their attempts end as connection errors. */
  destroy(): void {
    for (const socket of this.#open) socket.destroy();
  }
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
  readonly connector: FleetConnector;
  /** The request's headers after `host`, and its body: the same bytes for every site. */
  readonly headersAndBody: string;
  /** Bound on one whole attempt: connect, TLS, headers and body. */
  readonly timeoutMs: number;
}

/** What a header value may hold (RFC 9110 §5.5): no CR, LF or other control character. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The request every site receives. A header value that could split the request (a master key holding a
 * newline) is refused here, naming the header but never the value; the rotation checks both keys earlier.
 */
export function sitePut(options: {
  readonly connector: FleetConnector;
  readonly key: string;
  readonly masterApiKey: string;
  readonly timeoutMs: number;
}): SitePut {
  const payload = JSON.stringify({ value: options.key });
  const headers: readonly (readonly [string, string])[] = [
    ['content-type', 'application/json'],
    ['x-api-key', options.masterApiKey],
    ['user-agent', USER_AGENT],
    ['content-length', String(Buffer.byteLength(payload))],
    ['connection', 'close'],
  ];
  for (const [name, value] of headers) {
    if (!HEADER_VALUE.test(value)) throw new TypeError(`The ${name} header value is not valid in HTTP`);
  }
  return {
    connector: options.connector,
    headersAndBody: `${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${payload}`,
    timeoutMs: options.timeoutMs,
  };
}

/**
 * One attempt at one endpoint: its verdict, whatever happened (this never throws), within `timeoutMs` for
 * every phase together (DNS, connect, TLS, headers, body). An answer whose body does not decide the outcome
 * is classified from its status line and headers alone; a body over MAX_RESPONSE_BYTES is not read further.
 */
export function attemptPut(url: string, put: SitePut): Promise<AttemptVerdict> {
  const { timeoutMs } = put;
  return new Promise<AttemptVerdict>((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch (error) {
      resolve(classifyFailure(error, timeoutMs));
      return;
    }
    let phase: AttemptPhase = 'answer';
    let settled = false;
    let socket: TLSSocket | undefined;
    const settle = (verdict: AttemptVerdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => settle(timedOut(timeoutMs, phase)), timeoutMs);

    const reader = new AnswerReader(MAX_RESPONSE_BYTES);
    let needsBody = false;
    let strict = true;
    /** The verdict once the answer decides it: its head alone, or its head and (capped) body. */
    const verdict = (): AttemptVerdict | undefined => {
      const { head } = reader;
      if (head === undefined) return undefined;
      if (phase === 'answer') {
        phase = 'body';
        needsBody = answerNeedsBody(head.status);
        strict = head.status !== 401;
        // A body that does not decide the outcome is not waited for.
        if (!needsBody) return classifyAnswer(answerOf(head));
        if (strict && (head.contentLength ?? 0) > MAX_RESPONSE_BYTES) {
          return bodyTooLarge(head.status, 'announced');
        }
      }
      if (!reader.complete) return undefined;
      if (strict && reader.truncated) return bodyTooLarge(head.status, 'sent');
      return classifyAnswer({ ...answerOf(head), body: reader.body().toString('utf8') });
    };
    const read = (): void => {
      const decided = verdict();
      if (decided !== undefined) settle(decided);
    };
    const failed = (error: unknown): void => settle(classifyFailure(error, timeoutMs, phase));

    try {
      socket = put.connector.open(target);
    } catch (error) {
      failed(error);
      return;
    }
    socket.once('secureConnect', () => {
      socket?.write(
        `PUT ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\n${put.headersAndBody}`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
        read();
      } catch (error) {
        failed(error);
      }
    });
    socket.once('end', () => {
      try {
        reader.end();
        read();
      } catch (error) {
        failed(error);
      }
    });
    socket.on('error', failed);
    // Closed with neither an answer nor an error (e.g. destroyed by `FleetConnector.destroy`).
    socket.once('close', () => failed(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' })));
  });
}

function answerOf(head: { status: number; location?: string; retryAfter?: string }) {
  return {
    status: head.status,
    location: head.location,
    retryAfterMs: parseRetryAfter(head.retryAfter),
  };
}
