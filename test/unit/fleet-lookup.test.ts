/**
 * The fleet connector resolves host names through the `lookup` it is given, and then never through the
 * machine's resolver: tests and benches that push to hosts that never resolve inject one instead of
 * reaching DNS.
 */
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import type { LookupFunction } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FleetConnector } from '../../core/push/fleet-http.js';

/** A lookup that answers ENOTFOUND at once, recording each host name it was asked for. */
function refusingLookup(code: string): { lookup: LookupFunction; asked: string[] } {
  const asked: string[] = [];
  const lookup: LookupFunction = (hostname, _options, callback) => {
    asked.push(hostname);
    setImmediate(() => callback(Object.assign(new Error(`lookup of ${hostname} refused`), { code }), '', 0));
  };
  return { lookup, asked };
}

/** The error the connection to `url` ends with. */
function connectionError(connector: FleetConnector, url: string): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    connector.open(new URL(url)).once('error', resolve);
  });
}

/** Replaces dns.lookup for both the module object and ES module imports of it (restored after each test). */
function spyOnDns(): { asked: string[] } {
  const { lookup, asked } = refusingLookup('ENOTFOUND');
  vi.spyOn(dns, 'lookup').mockImplementation(lookup as typeof dns.lookup);
  syncBuiltinESMExports();
  return { asked };
}

afterEach(() => {
  vi.restoreAllMocks();
  syncBuiltinESMExports();
});

describe('the fleet connector’s host-name lookups', () => {
  it('go through the injected lookup and never through dns.lookup', async () => {
    const machine = spyOnDns();
    const injected = refusingLookup('EINJECTED');
    const connector = new FleetConnector({ lookup: injected.lookup, connectTimeoutMs: 1_000 });

    const error = await connectionError(connector, 'https://site-1.unresolvable.invalid:8443');

    expect(error.code).toBe('EINJECTED');
    expect(injected.asked).toEqual(['site-1.unresolvable.invalid']);
    expect(machine.asked).toEqual([]);
    connector.destroy();
  });

  it('go through dns.lookup when none is injected (what the first case rules out)', async () => {
    const machine = spyOnDns();
    const connector = new FleetConnector({ connectTimeoutMs: 1_000 });

    const error = await connectionError(connector, 'https://site-2.unresolvable.invalid:8443');

    expect(error.code).toBe('ENOTFOUND');
    expect(machine.asked).toEqual(['site-2.unresolvable.invalid']);
    connector.destroy();
  });
});
