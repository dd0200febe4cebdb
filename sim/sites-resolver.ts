/**
 * A stand-in resolver for fleets played by host names (sim/wildcard-fleet.ts): `site-<n>.sites.test` answers
 * one of the fleet's loopback addresses, every other name ENOTFOUND, so a bench or test that pushes to
 * thousands of named sites never asks the machine's resolver. A `lookup` as `net`/`tls.connect` take one
 * (the fleet connector's `lookup` option); sites-resolver-preload.ts installs it into a whole process, for
 * the bundled handler, which takes no option. Answers come on the next turn of the event loop, as a cached
 * answer would, without getaddrinfo's thread-pool cost.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** The fleet's domain (RFC 6761 reserves `.test`). */
export const SITES_DOMAIN = 'sites.test';

const SITE_NAME = /^site-(\d+)\.sites\.test$/i;

/** The host name of site `index`. */
export function siteHost(index: number): string {
  return `site-${index}.${SITES_DOMAIN}`;
}

type Answer = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** Answers site `n` with `addresses[n % addresses.length]`; counts what it answered in `counts`. */
export function sitesLookup(
  addresses: readonly string[],
  counts: { answered: number; refused: number } = { answered: 0, refused: 0 },
): LookupFunction {
  const lookup = (hostname: string, options: LookupOptions | Answer, callback?: Answer): void => {
    const answer = (typeof options === 'function' ? options : callback) as Answer;
    const all = typeof options === 'object' && options.all === true;
    const match = SITE_NAME.exec(hostname);
    setImmediate(() => {
      if (match === null || addresses.length === 0) {
        counts.refused += 1;
        answer(
          Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
            code: dns.NOTFOUND,
            syscall: 'getaddrinfo',
            hostname,
          }),
          '',
          0,
        );
        return;
      }
      counts.answered += 1;
      const address = addresses[Number(match[1]) % addresses.length] as string;
      if (all) answer(null, [{ address, family: 4 }]);
      else answer(null, address, 4);
    });
  };
  return lookup as LookupFunction;
}
