/**
 * The one retry policy of the project: exponential backoff with full jitter, a cap, and an optional
 * server-requested delay (`Retry-After`) as a floor. The fleet push, the Stripe check and the ledger's
 * batch writer all wait through it, so "how long before the next try" has one answer.
 */

/**
 * The longest Retry-After worth waiting for, in ms: a server asking for more gives up the attempt rather
 * than hold a worker (or a Lambda invocation) idle.
 */
export const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;

export interface BackoffPolicy {
  /** Upper bound of the first retry's delay, in ms; doubles with every retry. */
  readonly baseMs: number;
  /** No delay drawn from the policy exceeds this, in ms. */
  readonly capMs: number;
}

/**
 * Full jitter: uniformly random in [0, min(cap, base · 2^retry)), so clients failing together do not retry
 * together. `retry` counts from 0 (the delay before the second attempt).
 */
export function backoffDelayMs(retry: number, policy: BackoffPolicy, random: () => number): number {
  return random() * Math.min(policy.capMs, policy.baseMs * 2 ** retry);
}

/** The delay before retry number `retry`: the policy's draw, but never shorter than what the server asked. */
export function retryDelayMs(
  retry: number,
  policy: BackoffPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  const drawn = backoffDelayMs(retry, policy, random);
  return retryAfterMs === undefined ? drawn : Math.max(drawn, retryAfterMs);
}

/** "1 attempt", "3 attempts": how retried work says how often it tried. */
export function attemptsText(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}
