/** `abort`'s re-push, interruptible like `push`. */
import { createSiteServices, SETTINGS, type SitePusher, type SiteResult } from '../../core/index.js';
import { cliLogger } from './format.js';
import type { CliContext, StopSignal } from './frame.js';
import { interruptWindow } from './interrupt.js';
import { pushProgress } from './progress.js';

/**
 * The re-push's pusher: the function's own push settings, no canary (these sites already accepted a push
 * in this rotation), and a first SIGINT/SIGTERM during the push stops new requests and bounds the wait
 * for those in flight. Results are one per site unless that grace ran out (those sites have none; the request's onStart
 * tells which of them were contacted).
 */
export function interruptiblePusher(cli: CliContext, concurrency: number, verbose: boolean) {
  let signal: StopSignal | undefined;
  let size = 0;
  const pusher: SitePusher = {
    async push(request) {
      size = request.sites.length;
      const services = createSiteServices({
        config: {
          pushConcurrency: concurrency,
          siteTimeoutMs: SETTINGS.siteTimeoutMs.default,
          siteAttempts: SETTINGS.siteAttempts.default,
          canarySites: 0,
          stripeApiBase: SETTINGS.stripeApiBase.default,
        },
        logger: cliLogger(cli.stderr, verbose),
      });
      const interrupt = interruptWindow(cli);
      const progress = pushProgress(cli.progress, request.sites.length);
      try {
        const { answered } = await interrupt.push(services.pusher, request, (result: SiteResult) => {
          progress.report(result);
          request.onResult?.(result);
        });
        progress.finish();
        // What was received, stops worded as the interrupt (the engine's own report words them as its deadline).
        return { results: [...answered.values()] };
      } finally {
        signal = interrupt.signal;
        interrupt.close();
        // A request still in flight after an interrupt must not keep the process alive.
        services.close();
      }
    },
  };
  return { pusher, signal: () => signal, size: () => size };
}
