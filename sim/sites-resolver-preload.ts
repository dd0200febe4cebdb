/**
 * Loaded with `--import` into a process whose code takes no resolver of its own (the bundled rotation
 * handler, bench/deployed.ts): every host-name lookup in it goes to `sitesLookup` over the loopback addresses
 * in SIM_SITES_ADDRESSES (comma-separated), so none leaves the machine. On exit it writes how many lookups it
 * answered and refused to stderr (SITES_RESOLVER_REPORT), so a run can tell the stand-in was used.
 *
 * Both doors are replaced: `dns.lookup` on the module object, which net reads when a connect has no `lookup`
 * of its own, and the ES module binding (`syncBuiltinESMExports`).
 */
import dns from 'node:dns';
import { writeSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { sitesLookup } from './sites-resolver.js';

const counts = { answered: 0, refused: 0 };
const lookup = sitesLookup((process.env.SIM_SITES_ADDRESSES ?? '').split(',').filter(Boolean), counts);

dns.lookup = lookup as typeof dns.lookup;
dns.promises.lookup = ((hostname: string, options: dns.LookupOptions = {}) =>
  new Promise((resolve, reject) =>
    lookup(hostname, { ...options, all: false }, (error, address, family) =>
      error ? reject(error) : resolve({ address: address as string, family: family ?? 4 }),
    ),
  )) as typeof dns.promises.lookup;
syncBuiltinESMExports();
process.on('exit', () => {
  writeSync(2, `sites resolver: answered ${counts.answered}, refused ${counts.refused}\n`);
});
