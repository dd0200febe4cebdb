/**
 * The campaign's fault scripts: what one simulated site does wrong during a case, how fast-check generates
 * it (shrinking towards a healthy site), and how it is put on a site and lifted again. Every fault of
 * issue #13's list is here, at the layer it happens: TCP (refused, reset, silent before TLS), TLS (a
 * certificate from another CA) or HTTP (everything else).
 */
import fc from 'fast-check';
import {
  always,
  hangAfterHeaders,
  hugeBody,
  json,
  redirect,
  type SiteBehaviour,
  sequence,
  slowBody,
  templateEndpoint,
} from '../../sim/site-behaviours.js';
import type { TemplateSite } from '../../sim/template-fleet.js';
import type { ServerCredentials } from '../../sim/tls.js';

export const FAULT_KINDS = [
  'server_error_then_ok',
  'throttled_retry_after',
  'unauthorized',
  'invalid_secret_format',
  'endpoint_missing',
  'wrong_body',
  'redirect',
  'hang_before_tls',
  'hang_after_headers',
  'slow_body',
  'oversized_body',
  'connection_reset',
  'connection_refused',
  'wrong_certificate',
  'stores_then_times_out',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A site's script for one case: healthy, or one fault (transient ones last `times` answers). */
export type SiteScript = { readonly kind: 'healthy' } | { readonly kind: FaultKind; readonly times: number };

/** Mostly healthy sites, as in a real fleet; shrinking goes towards `healthy` (the first alternative). */
export const siteScript: fc.Arbitrary<SiteScript> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'healthy' } as const) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom(...FAULT_KINDS), times: fc.integer({ min: 1, max: 2 }) }),
  },
);

/** What a site needs to play a fault and to be put right again. */
export interface SiteKit {
  readonly site: TemplateSite;
  readonly masterApiKey: string;
  readonly otherMasterApiKey: string;
  /** A certificate for the site's address from the trusted CA, and one from a CA nobody trusts. */
  readonly credentials: ServerCredentials;
  readonly wrongCredentials: ServerCredentials;
}

/** Stores the key like the template endpoint, then never answers: the site holds a key nobody saw confirmed. */
const storesThenTimesOut: SiteBehaviour = async (request, site) => {
  await templateEndpoint(request, site);
  return { kind: 'hang' };
};

function behaviourFor(kind: FaultKind, times: number): SiteBehaviour | undefined {
  const repeated = (reply: ReturnType<typeof json>) => sequence(Array.from({ length: times }, () => reply));
  switch (kind) {
    case 'server_error_then_ok':
      return repeated(json(503, { error: 'maintenance' }));
    case 'throttled_retry_after':
      // Retry-After of 0 or 1 s: honoured, and inside the pusher's limit.
      return repeated(json(429, { error: 'rate_limited' }, { 'retry-after': String(times - 1) }));
    case 'invalid_secret_format':
      return always(json(400, { success: false, error: 'invalid_secret_format' }));
    case 'endpoint_missing':
      return always(json(404, { error: 'not_found' }));
    case 'wrong_body':
      return always(json(200, { success: true, message: 'saved' }));
    case 'redirect':
      return redirect('https://127.0.0.1/elsewhere');
    case 'hang_after_headers':
      return hangAfterHeaders();
    case 'slow_body':
      return slowBody(1024, 16, 100);
    case 'oversized_body':
      return hugeBody(256 * 1024);
    case 'stores_then_times_out':
      return storesThenTimesOut;
    default:
      return undefined;
  }
}

/** Puts `script` on the site (which must be in its healthy state). */
export async function applyScript(kit: SiteKit, script: SiteScript): Promise<void> {
  if (script.kind === 'healthy') return;
  const { site } = kit;
  switch (script.kind) {
    case 'unauthorized':
      site.masterApiKey = kit.otherMasterApiKey;
      return;
    case 'hang_before_tls':
      await site.setConnectionMode('silent');
      return;
    case 'connection_reset':
      await site.setConnectionMode('reset');
      return;
    case 'connection_refused':
      await site.setConnectionMode('refuse');
      return;
    case 'wrong_certificate':
      site.useCredentials(kit.wrongCredentials);
      return;
    default: {
      const behaviour = behaviourFor(script.kind, script.times);
      if (behaviour !== undefined) site.behave(behaviour);
    }
  }
}

/** Lifts the script's fault: the template endpoint, the right master key and certificate, connections served. */
export async function liftFaults(kit: SiteKit, script: SiteScript): Promise<void> {
  const { site } = kit;
  site.restore();
  site.masterApiKey = kit.masterApiKey;
  if (script.kind === 'wrong_certificate') site.useCredentials(kit.credentials);
  await site.setConnectionMode('serve');
}
