/**
 * Any number of HTTPS template sites played by one HTTPS server per loopback address, all on one port, with
 * one wildcard certificate for `*.sites.test`: site n is `https://site-<n>.sites.test:<port>`, told apart by
 * its Host header, and reached through sites-resolver.ts. Where template-fleet.ts gives each site its own
 * address and certificate (thousands of listeners), this plays 50,000 sites in a few listeners; the
 * addresses only spread the client's connections over more ephemeral ports. Each site answers as the
 * template endpoint does (site-behaviours.ts), after `latencyMs`. Requests are counted, not recorded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { performance } from 'node:perf_hooks';
import { listen, loopbackAddresses } from './loopback.js';
import { type SiteState, templateEndpoint } from './site-behaviours.js';
import { SITES_DOMAIN, siteHost } from './sites-resolver.js';
import { createTestCa, type TestCertificateAuthority } from './tls.js';

export interface WildcardFleetOptions {
  readonly size: number;
  readonly masterApiKey: string;
  /** The listeners' loopback addresses: `first` and the next `count - 1`. */
  readonly addresses?: { readonly first: string; readonly count: number };
  readonly latencyMs?: number;
  readonly ca?: TestCertificateAuthority;
}

export interface WildcardFleet {
  readonly caPem: string;
  readonly ca: TestCertificateAuthority;
  readonly addresses: readonly string[];
  readonly urls: readonly string[];
  latencyMs: number;
  /** Requests answered since the start or the last `reset`. */
  readonly requests: number;
  /** How many sites store `key`. */
  storing(key: string): number;
  /** Forgets every stored key and the request count. */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function startWildcardFleet(options: WildcardFleetOptions): Promise<WildcardFleet> {
  const ca = options.ca ?? (await createTestCa());
  const { first, count } = options.addresses ?? { first: '127.0.60.1', count: 8 };
  const addresses = loopbackAddresses(first, count);
  const credentials = await ca.issue({ dnsNames: [`*.${SITES_DOMAIN}`] });
  const stored = new Map<string, string>();
  let requests = 0;
  let port = 0;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const receivedAt = performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      requests += 1;
      const host = (req.headers.host ?? '').split(':')[0] ?? '';
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const site: SiteState = {
        url: `https://${host}:${port}`,
        masterApiKey: options.masterApiKey,
        storedKey: stored.get(host),
      };
      const path = (req.url ?? '').split('?')[0] ?? '';
      const reply = async () => {
        const answer = await templateEndpoint(
          { method: req.method ?? '', path, headers: req.headers, rawBody, body, receivedAt },
          site,
        );
        if (site.storedKey !== undefined) stored.set(host, site.storedKey);
        if (answer.kind !== 'answer') throw new Error(`the template endpoint answered ${answer.kind}`);
        res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
      };
      setTimeout(() => void reply().catch(() => res.destroy()), fleet.latencyMs);
    });
  };

  const servers: Server[] = [];
  for (const address of addresses) {
    const server = createServer({ ...credentials, sessionTimeout: 0 }, handle);
    server.on('tlsClientError', () => undefined);
    port = await listen(server, port, address);
    servers.push(server);
  }

  const fleet: WildcardFleet = {
    ca,
    caPem: ca.certPem,
    addresses,
    urls: Array.from({ length: options.size }, (_, index) => `https://${siteHost(index)}:${port}`),
    latencyMs: options.latencyMs ?? 0,
    get requests() {
      return requests;
    },
    storing(key) {
      let n = 0;
      for (const value of stored.values()) if (value === key) n += 1;
      return n;
    },
    reset() {
      stored.clear();
      requests = 0;
    },
    async close() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
  return fleet;
}
