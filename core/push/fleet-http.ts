/**
 * How one site is contacted: the endpoint URL, the connector built for a fleet of distinct origins, and one
 * PUT of the key over its own TLS connection through Node's HTTP client, read within the response cap and
 * turned into a verdict (`site-answer.ts`). Retries, canaries and concurrency are the push engine's
 * (`push.ts`). The key and the master key go into the request and nowhere else.
 */
import { type ClientRequest, request as httpRequest, validateHeaderValue } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import { connect, createSecureContext, type PeerCertificate, type SecureContext, TLSSocket } from 'node:tls';
import { SETTINGS } from '../contract.js';
import { MAX_RESPONSE_BYTES, parseRetryAfter, readCappedBody } from '../http.js';
import { lookupQueue } from './dns-queue.js';
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

/** The template sites' endpoint (docs/architecture.md, "Site answers and what they mean"). */
export const SITE_ENDPOINT_PATH = '/api/export/settings/stripe_secret_key';
const USER_AGENT = 'stripe-key-rotator/1';

export interface FleetConnectorOptions {
  /** PEM of the CA to trust instead of the default roots (tests, the simulated fleet). */
  readonly ca?: string;
  /** How long a site's attempt may last: queued host-name lookups older than this are dropped. @default SITE_TIMEOUT_MS's default */
  readonly connectTimeoutMs?: number;
  /** The resolver behind the lookup queue, as `tls.connect` takes one (tests and benches that must not reach DNS). @default dns.lookup */
  readonly lookup?: LookupFunction;
}

/**
 * What every connection of a fleet push shares. Every site is a distinct origin contacted once per rotation,
 * so nothing is pooled or kept alive (bench/results.md measures what that saves):
 * - one TLS context for every connection: otherwise `tls.connect` builds one per site, CA store included;
 * - one connection per attempt, closed once the answer is read (`connection: close`), no TLS session cache;
 * - host names looked up through `lookupQueue` (dns-queue.ts): a lookup outliving its attempt is dropped.
 * Certificates and host names are verified as by any Node TLS client (the host-name check is handed the leaf
 * certificate alone: `leafCertificateOnly`); without `ca`, the default roots apply, NODE_EXTRA_CA_CERTS included.
 */
export class FleetConnector {
  readonly #secureContext: SecureContext;
  readonly #lookup: LookupFunction;
  readonly #open = new Set<TLSSocket>();

  constructor(options: FleetConnectorOptions = {}) {
    this.#secureContext = createSecureContext(options.ca === undefined ? {} : { ca: options.ca });
    this.#lookup = lookupQueue({
      connectTimeoutMs: options.connectTimeoutMs ?? SETTINGS.siteTimeoutMs.default,
      lookup: options.lookup,
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
    // Typed as the overloads it stands in for; its one caller is Node's own host-name check (below).
    socket.getPeerCertificate = leafCertificateOnly as TLSSocket['getPeerCertificate'];
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    return socket;
  }

  /** Closes every connection still open: their attempts end as connection errors. */
  destroy(): void {
    for (const socket of this.#open) socket.destroy();
  }
}

/**
 * Once the handshake is done, Node's TLS client asks the socket for the peer's *detailed* certificate (every
 * issuer up to the root as JS objects, each with its DER and three digests) only to pass it to
 * `checkServerIdentity`, which reads the leaf's `subject` and `subjectaltname`. The leaf alone holds both,
 * for a fraction of the CPU: about 0.15 ms less per connection on Node 20 and 0.05 ms on Node 24, up to a
 * tenth of a push's CPU (bench/results.md, "The host-name check's certificate"). The chain is verified by
 * OpenSSL, which neither object feeds. A custom `checkServerIdentity` needing the chain would not get it:
 * none is passed. test/integration/push.test.ts pins that Node's check receives the leaf and still refuses a
 * wrong name.
 */
function leafCertificateOnly(this: TLSSocket): PeerCertificate {
  return TLSSocket.prototype.getPeerCertificate.call(this, false);
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
  /** Every header but `host`, which names each site. */
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: string;
  /** Bound on one whole attempt: connect, TLS, headers and body. */
  readonly timeoutMs: number;
}

/**
 * The request every site receives. A header value Node would refuse to send (a master key holding a newline)
 * is refused here, once for the whole push, naming the header but never the value; the rotation checks both
 * keys earlier still.
 */
export function sitePut(options: {
  readonly connector: FleetConnector;
  readonly key: string;
  readonly masterApiKey: string;
  readonly timeoutMs: number;
}): SitePut {
  const payload = JSON.stringify({ value: options.key });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-api-key': options.masterApiKey,
    'user-agent': USER_AGENT,
    'content-length': String(Buffer.byteLength(payload)),
    connection: 'close',
  };
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderValue(name, value);
    } catch (error) {
      throw new TypeError(`The ${name} header value is not valid in HTTP`, { cause: error });
    }
  }
  return { connector: options.connector, headers, payload, timeoutMs: options.timeoutMs };
}

/**
 * One attempt at one endpoint: its verdict, whatever happened (this never throws), within `timeoutMs` for
 * every phase together (DNS, connect, TLS, headers, body). Node's `http.request` over the connector's TLS
 * connection, with no Agent: its parser (llhttp) reads the answer, strictly (no lenient parsing) and within
 * its 16 KiB header limit. An answer whose body does not decide the outcome is classified from its status
 * and headers alone; a body over MAX_RESPONSE_BYTES is not read further. Not undici: bench/README.md.
 */
export function attemptPut(url: string, put: SitePut): Promise<AttemptVerdict> {
  const { timeoutMs } = put;
  return new Promise<AttemptVerdict>((resolve) => {
    let phase: AttemptPhase = 'answer';
    let settled = false;
    let request: ClientRequest | undefined;
    const settle = (verdict: AttemptVerdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request?.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => settle(timedOut(timeoutMs, phase)), timeoutMs);
    const failed = (error: unknown): void => settle(classifyFailure(error, timeoutMs, phase));

    try {
      const target = new URL(url);
      request = httpRequest({
        method: 'PUT',
        path: `${target.pathname}${target.search}`,
        headers: { host: target.host, ...put.headers },
        createConnection: () => put.connector.open(target),
      });
    } catch (error) {
      failed(error);
      return;
    }
    request.on('error', failed);
    // A 101 is no answer to a PUT: Node emits it here, not as a response, and would otherwise wait it out.
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      settle(classifyAnswer({ status: response.statusCode ?? 101 }));
    });
    request.on('response', (response) => {
      phase = 'body';
      const status = response.statusCode ?? 0;
      const answer: SiteAnswer = {
        status,
        location: response.headers.location,
        retryAfterMs: parseRetryAfter(response.headers['retry-after']),
      };
      // A body that does not decide the outcome is not waited for.
      if (!answerNeedsBody(status)) return settle(classifyAnswer(answer));
      // A 401's explanation is kept up to the cap; any other over-cap body makes the attempt final.
      const strict = status !== 401;
      if (strict && Number(response.headers['content-length'] ?? 0) > MAX_RESPONSE_BYTES) {
        return settle(bodyTooLarge(status, 'announced'));
      }
      readCappedBody(response).then(({ text, truncated }) => {
        settle(
          strict && truncated ? bodyTooLarge(status, 'sent') : classifyAnswer({ ...answer, body: text }),
        );
      }, failed);
    });
    request.end(put.payload);
  });
}
