/**
 * Interrupting a push from the CLI (`push`, `abort`): a first SIGINT/SIGTERM stops launching requests and
 * gives those in flight a bounded grace period, so the command can still report (and record) every answer
 * it received; a second signal exits at once (frame.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PushReport, PushRequest, SitePusher, SiteResult } from '../../core/index.js';
import type { CliContext, StopSignal } from './frame.js';

/** After a first SIGINT/SIGTERM, how long requests already in flight may take to answer. */
export const INTERRUPT_GRACE_MS = 5_000;

export interface InterruptWindow {
  /** The first signal received, if any. */
  readonly signal: StopSignal | undefined;
  /**
   * Pushes with no deadline until a signal (then nothing new starts) and waits for the push to end, or for
   * the signal's grace period: the report (undefined when the grace ran out first) and every result received
   * by then, each also given to `onResult`; results arriving later are dropped.
   */
  push(
    pusher: SitePusher,
    request: Omit<PushRequest, 'remainingTimeMs' | 'onResult'>,
    onResult: (result: SiteResult) => void,
  ): Promise<{ report: PushReport | undefined; answered: ReadonlyMap<string, SiteResult> }>;
  /** Removes the signal handlers. */
  close(): void;
}

export function interruptWindow(cli: CliContext): InterruptWindow {
  let signal: StopSignal | undefined;
  const grace = new AbortController();
  let endGrace: (value: undefined) => void = () => undefined;
  const gracePeriod = new Promise<undefined>((resolve) => {
    endGrace = resolve;
  });
  const remove = cli.onInterrupt((received) => {
    signal = received;
    cli.stderr.write(
      `\n${received}: no new site will be contacted; waiting up to ${INTERRUPT_GRACE_MS / 1000} s for the ` +
        'requests in flight (signal again to exit at once).\n',
    );
    sleep(INTERRUPT_GRACE_MS, undefined, { signal: grace.signal }).then(
      () => endGrace(undefined),
      () => undefined,
    );
  });
  return {
    get signal() {
      return signal;
    },
    async push(pusher, request, onResult) {
      const answered = new Map<string, SiteResult>();
      let reporting = true;
      const report = await Promise.race([
        pusher.push({
          ...request,
          remainingTimeMs: () => (signal === undefined ? Number.POSITIVE_INFINITY : 0),
          onResult: (result) => {
            if (!reporting) return;
            answered.set(result.site, result);
            onResult(result);
          },
        }),
        gracePeriod,
      ]);
      reporting = false;
      return { report, answered };
    },
    close() {
      remove();
      grace.abort();
    },
  };
}
