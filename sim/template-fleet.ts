/**
 * A fleet of real HTTPS "template sites" on loopback, for integration tests, the CLI demo and benchmarks.
 *
 * Each site is its own TLS origin: its own loopback address (127.0.0.2, 127.0.0.3, ... or from
 * `firstAddress`), its own port (ephemeral unless `port` is given) and a certificate for that IP signed by a
 * throwaway CA. By default a site implements the template sites' endpoint exactly (`templateEndpoint`); any site's
 * behaviour can be replaced at runtime (`site.behave(...)`) with the builders below. Every site records what
 * it received, what it stores, and how many requests were in flight. Free of test-framework imports.
 *
 * ```ts
 * const fleet = await startTemplateFleet({ size: 3, masterApiKey });
 * const dispatcher = new Agent({ connect: { ca: fleet.caPem } });
 * fleet.site(1).behave(sequence([json(503, { error: 'busy' })]));
 * ...
 * await fleet.close();
 * ```
 */
import { setMaxListeners } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createTestCa,
  generateKeyPair,
  type ServerCredentials,
  type TestCertificateAuthority,
} from './tls.js';

/** The template sites' endpoint path. */
export const TEMPLATE_ENDPOINT_PATH = '/api/export/settings/stripe_secret_key';

/** A request as a site received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** Lower-cased header names, as Node parses them. */
  readonly headers: Readonly<IncomingHttpHeaders>;
  readonly rawBody: string;
  /** The body parsed as JSON, or undefined when it is not valid JSON. */
  readonly body: unknown;
  /** Monotonic arrival time, `performance.now()` milliseconds. */
  readonly receivedAt: number;
}

/** What a site does with a request. */
export type SiteReply =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  /** Streams `bytes` filler bytes, with or without a Content-Length announcing them. */
  | {
      readonly kind: 'stream';
      readonly status: number;
      readonly bytes: number;
      readonly declareLength: boolean;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Never answers; the connection stays open until the client gives up or the fleet closes. */
  | { readonly kind: 'hang' }
  /** Drops the connection without answering. */
  | { readonly kind: 'reset' };

/** The mutable state a behaviour may read or change. */
export interface SiteState {
  readonly url: string;
  /** The X-API-Key this site accepts (TEMPLATE_MASTER_API_KEY on a real site). */
  masterApiKey: string;
  /** The Stripe key the site currently stores (`set_setting('stripe_secret_key', value)`). */
  storedKey: string | undefined;
}

export type SiteBehaviour = (request: ReceivedRequest, site: SiteState) => SiteReply | Promise<SiteReply>;

export interface TemplateSite extends SiteState {
  readonly index: number;
  readonly host: string;
  readonly port: number;
  /** Every request received, in order (empty when the fleet does not record requests). */
  readonly requests: readonly ReceivedRequest[];
  /** Counted even when requests are not recorded. */
  readonly requestCount: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Delay before every reply of this site, in ms. */
  latencyMs: number;
  /** Replaces how this site answers from the next request on. */
  behave(behaviour: SiteBehaviour): void;
  /** Back to the template endpoint's semantics. */
  restore(): void;
  /** Serves another certificate from the next TLS handshake on (e.g. one the client must reject). */
  useCredentials(credentials: ServerCredentials): void;
}

export interface TemplateFleetOptions {
  readonly size: number;
  /** The master API key every site accepts initially (change one with `site.masterApiKey = ...`). */
  readonly masterApiKey: string;
  /** CA signing the sites' certificates; a fresh one by default. */
  readonly ca?: TestCertificateAuthority;
  /** Address of the first site; the next ones count up, skipping .0 and .255. Default `127.0.0.2`. */
  readonly firstAddress?: string;
  /** Port every site listens on; default 0 (an ephemeral port per site). */
  readonly port?: number;
  /** Initial delay before every reply, in ms. Default 0. */
  readonly latencyMs?: number;
  /** Keep every received request (default true); turn off for large benchmarks to bound memory. */
  readonly recordRequests?: boolean;
}

export interface TemplateFleet {
  readonly ca: TestCertificateAuthority;
  /** The CA certificate to trust: `new Agent({ connect: { ca: fleet.caPem } })`. */
  readonly caPem: string;
  /** `https://<address>:<port>` for every site, in order. */
  readonly urls: readonly string[];
  readonly sites: readonly TemplateSite[];
  /** A site by index or by URL (a trailing path or slash is ignored). */
  site(indexOrUrl: number | string): TemplateSite;
  /** Requests being handled right now, fleet-wide. */
  readonly inFlight: number;
  /** Highest fleet-wide `inFlight` observed since start or `resetStats()`. */
  readonly maxInFlight: number;
  readonly requestCount: number;
  /** Forgets recorded requests and counters (not stored keys or behaviours). */
  resetStats(): void;
  /** Destroys every connection and stops every server; pending replies are dropped. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Reply and behaviour builders

/** A JSON answer, as Flask's `jsonify` writes it. */
export function json(
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): SiteReply {
  return {
    kind: 'answer',
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: `${JSON.stringify(value)}\n`,
  };
}

function werkzeugError(status: number, title: string, text: string, headers: Record<string, string> = {}) {
  const body =
    `<!doctype html>\n<html lang=en>\n<title>${status} ${title}</title>\n` +
    `<h1>${title}</h1>\n<p>${text}</p>\n`;
  return {
    kind: 'answer',
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', ...headers },
    body,
  } as const satisfies SiteReply;
}

/** Python's `re.match(r'^sk_(test|live)_[A-Za-z0-9]+$', value)`: `$` also matches before a final newline. */
const TEMPLATE_KEY_PATTERN = /^sk_(test|live)_[A-Za-z0-9]+\n?$/;

/** Python truthiness of a JSON value (`data or {}`, `if not value`). */
function pythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/**
 * The template sites' endpoint (a Flask view), answer for answer: 404 for other paths, 405 for other methods, 401 for a wrong
 * X-API-Key, 415/400 when the body is not JSON (Flask 3 `get_json()`), 500 where the Python code would raise,
 * 400 `invalid_secret_format` for a bad value, else store it and answer 200 `secret_saved`.
 */
export const templateEndpoint: SiteBehaviour = (request, site) => {
  if (request.path !== TEMPLATE_ENDPOINT_PATH) {
    return werkzeugError(
      404,
      'Not Found',
      'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.',
    );
  }
  if (request.method !== 'PUT') {
    return werkzeugError(405, 'Method Not Allowed', 'The method is not allowed for the requested URL.', {
      allow: 'OPTIONS, PUT',
    });
  }
  if (request.headers['x-api-key'] !== site.masterApiKey) {
    return json(401, { success: false, error: 'invalid_api_key' });
  }
  const mimeType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (
    !(mimeType === 'application/json' || (mimeType.startsWith('application/') && mimeType.endsWith('+json')))
  ) {
    return werkzeugError(
      415,
      'Unsupported Media Type',
      "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
    );
  }
  if (request.body === undefined) {
    return werkzeugError(
      400,
      'Bad Request',
      'The browser (or proxy) sent a request that this server could not understand.',
    );
  }
  const data = pythonTruthy(request.body) ? request.body : {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return werkzeugError(500, 'Internal Server Error', 'The server encountered an internal error.');
  }
  const value = (data as Record<string, unknown>).value;
  if (!pythonTruthy(value)) return json(400, { success: false, error: 'invalid_secret_format' });
  if (typeof value !== 'string') {
    return werkzeugError(500, 'Internal Server Error', 'The server encountered an internal error.');
  }
  if (!TEMPLATE_KEY_PATTERN.test(value)) return json(400, { success: false, error: 'invalid_secret_format' });
  site.storedKey = value;
  return json(200, { success: true, message: 'secret_saved' });
};

/** Always the same reply. */
export function always(reply: SiteReply): SiteBehaviour {
  return () => reply;
}

/** The i-th request gets `first[i]`; once they are used up, `then` (the template endpoint by default). */
export function sequence(
  first: readonly (SiteReply | SiteBehaviour)[],
  then: SiteBehaviour = templateEndpoint,
): SiteBehaviour {
  let served = 0;
  return (request, site) => {
    const next = first[served];
    served += 1;
    if (next === undefined) return then(request, site);
    return typeof next === 'function' ? next(request, site) : next;
  };
}

/** Never answers. */
export function hang(): SiteBehaviour {
  return () => ({ kind: 'hang' });
}

/** Drops the connection without an answer. */
export function reset(): SiteBehaviour {
  return () => ({ kind: 'reset' });
}

/** Redirects (307 by default) to `location`. */
export function redirect(location: string, status = 307): SiteBehaviour {
  return () => ({ kind: 'answer', status, headers: { location }, body: '' });
}

/** Answers with `bytes` bytes of body (status 200 by default). */
export function hugeBody(
  bytes: number,
  options: { status?: number; declareLength?: boolean } = {},
): SiteBehaviour {
  return () => ({
    kind: 'stream',
    status: options.status ?? 200,
    bytes,
    declareLength: options.declareLength ?? true,
    headers: { 'content-type': 'application/json' },
  });
}

/** Waits `ms` before behaving like `behaviour`. */
export function delayed(ms: number, behaviour: SiteBehaviour = templateEndpoint): SiteBehaviour {
  return async (request, site) => {
    // Unreferenced: a pending delay must not keep a finished test or demo alive.
    await sleep(ms, undefined, { ref: false });
    return behaviour(request, site);
  };
}

// ---------------------------------------------------------------------------------------------------------
// The fleet

const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
const START_BATCH = 64;
const STREAM_CHUNK = Buffer.alloc(64 * 1024, 0x20);

function addressToNumber(address: string): number {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || parts[0] !== 127) {
    throw new Error(`firstAddress ${address} is not an IPv4 loopback address (127.0.0.0/8)`);
  }
  return parts.reduce((sum, part) => sum * 256 + part, 0);
}

function numberToAddress(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** `count` consecutive loopback addresses from `first`, skipping those ending in .0 or .255. */
export function loopbackAddresses(first: string, count: number): string[] {
  const addresses: string[] = [];
  const last = addressToNumber('127.255.255.254');
  for (let value = addressToNumber(first); addresses.length < count; value += 1) {
    if (value > last) throw new Error(`not enough loopback addresses after ${first} for ${count} sites`);
    const lastOctet = value & 255;
    if (lastOctet !== 0 && lastOctet !== 255) addresses.push(numberToAddress(value));
  }
  return addresses;
}

interface Counters {
  inFlight: number;
  maxInFlight: number;
  requestCount: number;
}

class Site implements TemplateSite {
  requests: ReceivedRequest[] = [];
  requestCount = 0;
  inFlight = 0;
  maxInFlight = 0;
  storedKey: string | undefined = undefined;
  private behaviour: SiteBehaviour = templateEndpoint;
  readonly sockets = new Set<Socket>();

  constructor(
    readonly index: number,
    readonly host: string,
    public port: number,
    public masterApiKey: string,
    public latencyMs: number,
    readonly server: Server,
    private readonly fleet: Counters,
    private readonly record: boolean,
    private readonly closing: AbortSignal,
  ) {}

  get url(): string {
    return `https://${this.host}:${this.port}`;
  }

  behave(behaviour: SiteBehaviour): void {
    this.behaviour = behaviour;
  }

  restore(): void {
    this.behaviour = templateEndpoint;
  }

  useCredentials(credentials: ServerCredentials): void {
    this.server.setSecureContext({ cert: credentials.cert, key: credentials.key });
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.requestCount += 1;
    this.fleet.requestCount += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.fleet.inFlight += 1;
    this.fleet.maxInFlight = Math.max(this.fleet.maxInFlight, this.fleet.inFlight);
    res.once('close', () => {
      this.inFlight -= 1;
      this.fleet.inFlight -= 1;
    });
    const receivedAt = performance.now();

    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (size > MAX_REQUEST_BODY_BYTES) {
        res.writeHead(413).end();
        return;
      }
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        headers: req.headers,
        rawBody,
        body,
        receivedAt,
      };
      if (this.record) this.requests.push(request);
      this.reply(request, res).catch(() => res.destroy());
    });
  }

  private async reply(request: ReceivedRequest, res: ServerResponse): Promise<void> {
    const reply = await this.behaviour(request, this);
    if (this.latencyMs > 0) await sleep(this.latencyMs, undefined, { signal: this.closing });
    if (res.destroyed || this.closing.aborted) return;
    switch (reply.kind) {
      case 'answer':
        res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
        return;
      case 'stream':
        await streamBody(res, reply);
        return;
      case 'hang':
        return;
      case 'reset':
        res.socket?.destroy();
        return;
    }
  }
}

async function streamBody(res: ServerResponse, reply: Extract<SiteReply, { kind: 'stream' }>): Promise<void> {
  res.writeHead(reply.status, {
    ...reply.headers,
    ...(reply.declareLength ? { 'content-length': String(reply.bytes) } : {}),
  });
  let left = reply.bytes;
  while (left > 0 && !res.destroyed) {
    const chunk = left >= STREAM_CHUNK.length ? STREAM_CHUNK : STREAM_CHUNK.subarray(0, left);
    left -= chunk.length;
    if (!res.write(chunk)) {
      // Waits for the client to read; a client that stops reading destroys the connection, ending the wait.
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end();
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`site ${host} did not get a TCP port`));
        return;
      }
      resolve(address.port);
    });
  });
}

/** Starts `size` HTTPS template sites; call `close()` when done. */
export async function startTemplateFleet(options: TemplateFleetOptions): Promise<TemplateFleet> {
  const ca = options.ca ?? (await createTestCa());
  const leafKeys = await generateKeyPair();
  const hosts = loopbackAddresses(options.firstAddress ?? '127.0.0.2', options.size);
  const counters: Counters = { inFlight: 0, maxInFlight: 0, requestCount: 0 };
  const closing = new AbortController();
  // Every pending reply of every site waits on this one signal.
  setMaxListeners(0, closing.signal);
  const sites: Site[] = [];

  const startSite = async (index: number, host: string): Promise<Site> => {
    const credentials = await ca.issue({ ips: [host], keys: leafKeys });
    const server = createServer({ cert: credentials.cert, key: credentials.key });
    const site = new Site(
      index,
      host,
      0,
      options.masterApiKey,
      options.latencyMs ?? 0,
      server,
      counters,
      options.recordRequests ?? true,
      closing.signal,
    );
    server.on('connection', (socket: Socket) => {
      site.sockets.add(socket);
      socket.once('close', () => site.sockets.delete(socket));
    });
    // Handshake failures (the client rejecting a certificate) are expected in tests, not crashes.
    server.on('tlsClientError', () => undefined);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => site.handle(req, res));
    site.port = await listen(server, options.port ?? 0, host);
    return site;
  };

  // In batches: certificate signing runs on the thread pool, and thousands of sites start in seconds.
  for (let start = 0; start < hosts.length; start += START_BATCH) {
    const batch = hosts.slice(start, start + START_BATCH);
    const started = await Promise.allSettled(batch.map((host, offset) => startSite(start + offset, host)));
    for (const outcome of started) if (outcome.status === 'fulfilled') sites.push(outcome.value);
    const failure = started.find((outcome) => outcome.status === 'rejected');
    if (failure !== undefined) {
      await closeSites(sites, closing);
      throw failure.reason;
    }
  }

  const byOrigin = new Map(sites.map((site) => [site.url, site]));
  return {
    ca,
    caPem: ca.certPem,
    urls: sites.map((site) => site.url),
    sites,
    site(indexOrUrl) {
      const found =
        typeof indexOrUrl === 'number' ? sites[indexOrUrl] : byOrigin.get(new URL(indexOrUrl).origin);
      if (found === undefined) throw new Error(`no site ${String(indexOrUrl)} in this fleet`);
      return found;
    },
    get inFlight() {
      return counters.inFlight;
    },
    get maxInFlight() {
      return counters.maxInFlight;
    },
    get requestCount() {
      return counters.requestCount;
    },
    resetStats() {
      counters.maxInFlight = counters.inFlight;
      counters.requestCount = 0;
      for (const site of sites) {
        site.requests = [];
        site.requestCount = 0;
        site.maxInFlight = site.inFlight;
      }
    },
    close: () => closeSites(sites, closing),
  };
}

async function closeSites(sites: readonly Site[], closing: AbortController): Promise<void> {
  closing.abort();
  await Promise.all(
    sites.map(
      (site) =>
        new Promise<void>((resolve) => {
          for (const socket of site.sockets) socket.destroy();
          if (!site.server.listening) {
            resolve();
            return;
          }
          site.server.close(() => resolve());
        }),
    ),
  );
}

/**
 * An `https://` URL on `host` where nothing listens: the port was just bound and released, so a connection is
 * refused. Use an address no fleet uses, so nothing else grabs the port in between.
 */
export async function unusedLoopbackUrl(host = '127.3.0.1'): Promise<string> {
  const server = createServer();
  const port = await listen(server, 0, host);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `https://${host}:${port}`;
}
