/**
 * Loopback addresses for simulated sites: each site is its own origin on 127.0.0.0/8, which Linux routes to
 * the local host out of the box (macOS needs `ifconfig lo0 alias`).
 */
import type { Server } from 'node:net';
import { createServer } from 'node:net';

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

export function listen(server: Server, port: number, host: string): Promise<number> {
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
