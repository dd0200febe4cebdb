/**
 * Interrupting a push from the CLI (`push`, `abort`): a first SIGINT/SIGTERM stops launching requests and
 * gives those in flight a bounded grace period, so the command can still report (and record) every answer
 * it received; a second signal exits at once (frame.ts).
 */
import {
  type PushReport,
  type PushRequest,
  pushUntilAborted,
  type SitePusher,
  type SiteResult,
} from '../../core/index.js';
import type { CliContext, StopSignal } from './frame.js';

/** After a first SIGINT/SIGTERM, how long requests already in flight may take to answer. */
export const INTERRUPT_GRACE_MS = 5_000;

export interface InterruptWindow {
  /** The first signal received, if any. */
  readonly signal: StopSignal | undefined;
  /** Aborted by the first signal, with the signal's name as its reason. */
  readonly abortSignal: AbortSignal;
  /**
   * Pushes with no deadline until a signal (then nothing new starts) and waits for the push to end, or for
   * the signal's grace period: the report (undefined when the grace ran out first) and every result received
   * by then, each also given to `onResult`; results arriving later are dropped.
   */
  push(
    pusher: SitePusher,
    request: Omit<PushRequest, 'remainingTimeMs' | 'onResult'>,
    onResult: (result: SiteResult) => void,
  ): Promise<{
    report: PushReport | undefined;
    answered: ReadonlyMap<string, SiteResult>;
    contacted: ReadonlySet<string>;
  }>;
  /** Removes the signal handlers. */
  close(): void;
}

/** Catches SIGINT and SIGTERM from now until `close()`; the first one aborts `stop`. */
export function interruptWindow(cli: CliContext, stop = new AbortController()): InterruptWindow {
  let signal: StopSignal | undefined;
  const remove = cli.onInterrupt((received) => {
    signal = received;
    cli.stderr.write(
      `\n${received}: no new site will be contacted; waiting up to ${INTERRUPT_GRACE_MS / 1000} s for the ` +
        'requests in flight (signal again to exit at once).\n',
    );
    stop.abort(received);
  });
  return {
    get signal() {
      return signal;
    },
    abortSignal: stop.signal,
    async push(pusher, request, onResult) {
      const { report, results, contacted } = await pushUntilAborted(pusher, request, onResult, {
        signal: stop.signal,
        graceMs: INTERRUPT_GRACE_MS,
      });
      return { report, answered: results, contacted };
    },
    close: remove,
  };
}
