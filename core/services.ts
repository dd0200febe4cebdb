/**
 * The core's two outward services, the Stripe key check and the fleet push, wired once over their own
 * connections: the rotation function, the CLI and the demo all build them here. The fleet gets connections
 * built for thousands of distinct origins contacted once (no keep-alive, one shared TLS context); Stripe, a
 * single origin called a few times, gets its own keep-alive agent.
 */
import type { RotatorConfig } from './config.js';
import type { RotationLogger } from './log.js';
import type { KeyChecker, SitePusher } from './ports.js';
import { createFleetPusher, pushSettingsOf } from './push/engine.js';
import { FleetConnector } from './push/fleet-http.js';
import { createStripeAgent, StripeKeyChecker } from './stripe-check.js';

export interface SiteServicesOptions {
  readonly config: Pick<
    RotatorConfig,
    'pushConcurrency' | 'siteTimeoutMs' | 'siteAttempts' | 'canarySites' | 'stripeApiBase'
  >;
  readonly logger: RotationLogger;
  /** PEM of a CA trusted instead of the default roots, for the sites and Stripe (tests, the simulated fleet). */
  readonly ca?: string;
}

export interface SiteServices {
  readonly keyChecker: KeyChecker;
  readonly pusher: SitePusher;
  /** Ends every connection, so nothing keeps the process alive (the CLI); the Lambda keeps them warm. */
  close(): void;
}

export function createSiteServices({ config, logger, ca }: SiteServicesOptions): SiteServices {
  const trusted = ca === undefined ? {} : { ca };
  const stripeAgent = createStripeAgent(trusted);
  // Connecting to a site is part of its attempt: SITE_TIMEOUT_MS bounds it.
  const connector = new FleetConnector({ ...trusted, connectTimeoutMs: config.siteTimeoutMs });
  return {
    keyChecker: new StripeKeyChecker({ apiBase: config.stripeApiBase, agent: stripeAgent, logger }),
    pusher: createFleetPusher({ connector, logger, ...pushSettingsOf(config) }),
    close: () => {
      connector.destroy();
      stripeAgent.destroy();
    },
  };
}
