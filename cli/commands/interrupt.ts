/**
 * Interrupting a push from the CLI (`push`, `abort`): a first SIGINT/SIGTERM stops launching requests and
 * gives those in flight a bounded grace period, so the command can still report (and record) every answer
 * it received; a second signal exits at once (frame.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliContext, StopSignal } from './frame.js';

/** After a first SIGINT/SIGTERM, how long requests already in flight may take to answer. */
export const INTERRUPT_GRACE_MS = 5_000;

export interface InterruptWindow {
  /** The first signal received, if any. */
  readonly signal: StopSignal | undefined;
  /** For the push engine's `remainingTimeMs`: unlimited until a signal, then 0 (nothing new starts). */
  remainingTimeMs(): number;
  /** `work`, or undefined when a signal's grace period ran out first. */
  race<T>(work: Promise<T>): Promise<T | undefined>;
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
    remainingTimeMs: () => (signal === undefined ? Number.POSITIVE_INFINITY : 0),
    race: (work) => Promise.race([work, gracePeriod]),
    close() {
      remove();
      grace.abort();
    },
  };
}
