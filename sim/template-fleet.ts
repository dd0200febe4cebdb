/**
 * A fleet of real HTTPS "template sites" on loopback, for integration tests, the CLI demo and benchmarks.
 *
 * Each site is its own TLS origin: its own loopback address (127.0.0.2, 127.0.0.3, ... or from
 * `firstAddress`), its own port (ephemeral unless `port` is given) and a certificate for that IP signed by a
 * throwaway CA. By default a site implements the template sites' endpoint exactly (`templateEndpoint`); any site's
 * behaviour can be replaced at runtime (`site.behave(...)`) with the builders of `site-behaviours.ts`. Every site records what
 * it received, what it stores, and how many requests were in flight. Free of test-framework imports.
 *
 * ```ts
 * const fleet = await startTemplateFleet({ size: 3, masterApiKey });
 * const connector = new FleetConnector({ ca: fleet.caPem });
 * fleet.site(1).behave(sequence([json(503, { error: 'busy' })]));
 * ...
 * await fleet.close();
 * ```
 */
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { listen, loopbackAddresses } from './loopback.js';
import {
  type ReceivedRequest,
  type SiteBehaviour,
  type SiteReply,
  type SiteState,
  templateEndpoint,
} from './site-behaviours.js';
import {
  createTestCa,
  generateKeyPair,
  type ServerCredentials,
  type TestCertificateAuthority,
} from './tls.js';

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
  /** What the site does with new TCP connections from now on (`refuse` also drops the open ones). */
  readonly connectionMode: ConnectionMode;
  /** Changes `connectionMode`; resolves once the listening socket is closed or bound again. */
  setConnectionMode(mode: ConnectionMode): Promise<void>;
}

/**
 * Faults below HTTP: `serve` (TLS then HTTP, the default); `silent` accepts TCP and never answers the
 * ClientHello; `reset` accepts and sends a TCP reset; `refuse` stops listening, so connecting is refused.
 */
export type ConnectionMode = 'serve' | 'silent' | 'reset' | 'refuse';

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
// The fleet

const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
const START_BATCH = 64;
const STREAM_CHUNK = Buffer.alloc(64 * 1024, 0x20);

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
  connectionMode: ConnectionMode = 'serve';
  private behaviour: SiteBehaviour = templateEndpoint;
  readonly sockets = new Set<Socket>();
  /** Accepts TCP connections and hands them to `server` (TLS + HTTP), unless a connection fault says otherwise. */
  readonly front: TcpServer = createTcpServer((socket) => this.accept(socket));

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

  async setConnectionMode(mode: ConnectionMode): Promise<void> {
    const wasRefusing = this.connectionMode === 'refuse';
    this.connectionMode = mode;
    if (mode === 'refuse' && !wasRefusing) {
      // close() waits for every open connection: end them, as a stopped server would.
      const closed = new Promise<void>((resolve) => this.front.close(() => resolve()));
      for (const socket of this.sockets) socket.destroy();
      await closed;
    } else if (mode !== 'refuse' && wasRefusing) {
      await listen(this.front, this.port, this.host);
    }
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    // A client giving up on a silent site resets the connection: expected, not a crash.
    socket.on('error', () => undefined);
    if (this.connectionMode === 'silent') return;
    if (this.connectionMode === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    this.server.emit('connection', socket);
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
        await streamBody(res, reply, this.closing);
        return;
      case 'hang':
        return;
      case 'reset':
        res.socket?.destroy();
        return;
    }
  }
}

async function streamBody(
  res: ServerResponse,
  reply: Extract<SiteReply, { kind: 'stream' }>,
  closing: AbortSignal,
): Promise<void> {
  res.writeHead(reply.status, {
    ...reply.headers,
    ...(reply.declareLength ? { 'content-length': String(reply.bytes) } : {}),
  });
  let left = reply.bytes;
  const chunkBytes = Math.min(reply.pace?.chunkBytes ?? STREAM_CHUNK.length, STREAM_CHUNK.length);
  while (left > 0 && !res.destroyed && !closing.aborted) {
    if (reply.pace !== undefined && left < reply.bytes) {
      // Unreferenced and cut by the fleet's close: a paced body must not keep a finished run alive.
      await sleep(reply.pace.intervalMs, undefined, { ref: false, signal: closing }).catch(() => undefined);
      if (res.destroyed || closing.aborted) break;
    }
    const chunk = STREAM_CHUNK.subarray(0, Math.min(left, chunkBytes));
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
  if (!res.destroyed && left === 0) res.end();
}

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
    // Handshake failures (the client rejecting a certificate) are expected in tests, not crashes.
    server.on('tlsClientError', () => undefined);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => site.handle(req, res));
    site.port = await listen(site.front, options.port ?? 0, host);
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
          if (!site.front.listening) {
            resolve();
            return;
          }
          site.front.close(() => resolve());
        }),
    ),
  );
}
