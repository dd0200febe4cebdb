/**
 * What Node's host-name check costs per connection, by the certificate object it is handed: the detailed one
 * Node asks for (`getPeerCertificate(true)`: every issuer as JS objects, with DER and digests) against the leaf
 * alone (`false`), which the fleet connector hands it instead (core/push/fleet-http.ts, `leafCertificateOnly`).
 * One TLS connection to a loopback server with a throwaway ECDSA P-256 CA, as in the fleet; each Node binary
 * (this one, and BENCH_LAMBDA_NODE when set) runs in its own process. `tsx bench/peer-certificate.ts` prints
 * the figures as JSON; bench/run.ts puts them in results.md.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTestCa } from '../sim/tls.js';
import { scratchDir } from './processes.js';

export interface PeerCertificateCost {
  readonly node: string;
  readonly calls: number;
  /** CPU per call, microseconds (median of the rounds). */
  readonly detailedUs: number;
  readonly leafUs: number;
}

const CALLS = 2000;
const ROUNDS = 5;

/** Plain JavaScript, so any Node binary runs it as it is. */
const SCRIPT = `
const { readFileSync } = require('node:fs');
const tls = require('node:tls');
const [certFile, keyFile, caFile, calls, rounds] = process.argv.slice(1);
const server = tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (s) => s.on('error', () => {}));
server.listen(0, '127.0.0.1', () => {
  const socket = tls.connect({ host: '127.0.0.1', port: server.address().port, ca: readFileSync(caFile) });
  socket.once('secureConnect', () => {
    const cost = (detailed) => {
      const before = process.cpuUsage();
      for (let i = 0; i < Number(calls); i += 1) socket.getPeerCertificate(detailed);
      const used = process.cpuUsage(before);
      return (used.user + used.system) / Number(calls);
    };
    const detailed = [];
    const leaf = [];
    cost(true);
    cost(false);
    for (let round = 0; round < Number(rounds); round += 1) {
      detailed.push(cost(true));
      leaf.push(cost(false));
    }
    const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    process.stdout.write(JSON.stringify({ detailedUs: median(detailed), leafUs: median(leaf) }));
    socket.destroy();
    server.close();
  });
});
`;

export async function measurePeerCertificate(): Promise<PeerCertificateCost[]> {
  const ca = await createTestCa('bench peer-certificate CA');
  const leaf = await ca.issue({ ips: ['127.0.0.1'] });
  const dir = scratchDir('bench-peer-certificate-');
  const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'ca.pem') };
  writeFileSync(files.cert, leaf.cert);
  writeFileSync(files.key, leaf.key);
  writeFileSync(files.ca, ca.certPem);
  const nodes = [process.execPath, process.env.BENCH_LAMBDA_NODE?.trim()].filter(
    (node): node is string => node !== undefined && node !== '',
  );
  return nodes.map((node) => {
    const run = spawnSync(
      node,
      ['-e', SCRIPT, files.cert, files.key, files.ca, String(CALLS), String(ROUNDS)],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (run.status !== 0) throw new Error(`peer-certificate measurement failed on ${node}: ${run.stderr}`);
    const version = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
    const { detailedUs, leafUs } = JSON.parse(run.stdout) as { detailedUs: number; leafUs: number };
    return { node: version, calls: CALLS, detailedUs, leafUs };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  measurePeerCertificate().then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
