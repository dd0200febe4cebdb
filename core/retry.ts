/**
 * The one retry primitive of the project: a policy (tries, exponential backoff with full jitter, the longest
 * Retry-After worth waiting for, a deadline with its margin) and one attempt loop that a classifier drives.
 * The fleet push, the Stripe check and the ledger's batch writer all retry through it, so "whether to try
 * again, and when" has one answer; each caller only says what an attempt's outcome means.
 */
import { setTimeout as sleep } from 'node:timers/promises';

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

/** Whether to try again and how: one policy per caller, built once and shared by its loops. */
export interface RetryPolicy {
  /** Tries in all, the first included (≥ 1). */
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
  /** A longer Retry-After stops the loop instead of waiting. @default DEFAULT_MAX_RETRY_AFTER_MS */
  readonly maxRetryAfterMs?: number;
  /**
   * Time left for the whole work, and the least a retry must leave of it after its wait: a retry that would
   * leave less is not made. None: no deadline.
   */
  readonly deadline?: { readonly remainingTimeMs: () => number; readonly marginMs: number };
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/**
 * What the classifier says of an outcome worth another try; `undefined` from the classifier makes the
 * outcome final. Anything with a `retryAfterMs` field will do (a verdict as it is), so that classifying
 * allocates nothing.
 */
export interface RetryAdvice {
  /** What the server asked to wait (Retry-After), in ms. */
  readonly retryAfterMs?: number | undefined;
}

/** Retry, with no wait asked by the server. */
export const RETRY: RetryAdvice = Object.freeze({});

/**
 * Why the loop ended: `final` = the classifier did not ask for a retry; `attempts` = every try is used;
 * `retry_after` = the server asked for longer than `maxRetryAfterMs`; `deadline` = the wait would leave
 * less than the deadline's margin.
 */
export type RetryStop = 'final' | 'attempts' | 'retry_after' | 'deadline';

export interface Retried<T> {
  /** The last attempt's outcome. */
  readonly last: T;
  readonly attempts: number;
  readonly stop: RetryStop;
  /** The Retry-After that ended the loop (`retry_after`). */
  readonly retryAfterMs?: number;
}

/**
 * Runs `attempt` until the classifier calls an outcome final or the policy stops the retries, waiting the
 * policy's delay between tries; `onRetry` hears of each wait before it starts. An attempt that throws ends
 * the loop with its error: callers that retry failures turn them into outcomes first.
 */
export async function retrying<T>(
  policy: RetryPolicy,
  attempt: (attempt: number) => Promise<T>,
  classify: (outcome: T) => RetryAdvice | undefined,
  onRetry?: (outcome: T, attempt: number, delayMs: number) => void,
): Promise<Retried<T>> {
  for (let attempts = 1; ; attempts += 1) {
    const last = await attempt(attempts);
    const advice = classify(last);
    if (advice === undefined) return { last, attempts, stop: 'final' };
    if (attempts >= policy.attempts) return { last, attempts, stop: 'attempts' };
    const { retryAfterMs } = advice;
    if (retryAfterMs !== undefined && retryAfterMs > (policy.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS)) {
      return { last, attempts, stop: 'retry_after', retryAfterMs };
    }
    const delayMs = retryDelayMs(attempts - 1, policy.backoff, policy.random ?? Math.random, retryAfterMs);
    const { deadline } = policy;
    if (deadline !== undefined && deadline.remainingTimeMs() - delayMs < deadline.marginMs) {
      return { last, attempts, stop: 'deadline' };
    }
    onRetry?.(last, attempts, delayMs);
    await (policy.sleep ?? sleep)(delayMs);
  }
}
