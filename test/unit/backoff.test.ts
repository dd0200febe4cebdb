import { describe, expect, it } from 'vitest';
import { backoffDelayMs, RETRY, type RetryPolicy, retryDelayMs, retrying } from '../../core/retry.js';

const policy = { baseMs: 250, capMs: 8000 };

describe('backoff with full jitter', () => {
  it('waits between 0 and base · 2^retry', () => {
    expect(backoffDelayMs(0, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(0, policy, () => 0.5)).toBe(125);
    expect(backoffDelayMs(2, policy, () => 0.5)).toBe(500);
  });

  it('never exceeds the cap, however many retries', () => {
    expect(backoffDelayMs(5, policy, () => 0.5)).toBe(4000);
    expect(backoffDelayMs(60, policy, () => 0.5)).toBe(4000);
  });
});

describe('the delay before a retry', () => {
  it('is the jittered draw when the server asked for nothing', () => {
    expect(retryDelayMs(1, policy, () => 0.5)).toBe(250);
  });

  it('is never shorter than the Retry-After the server asked for', () => {
    expect(retryDelayMs(1, policy, () => 0.5, 3000)).toBe(3000);
  });

  it('keeps the draw when it is longer than the Retry-After', () => {
    expect(retryDelayMs(4, policy, () => 0.9, 100)).toBe(3600);
  });
});

describe('the attempt loop', () => {
  /** A loop whose waits are recorded instead of slept, with jitter fixed at half the draw. */
  function policy(overrides: Partial<RetryPolicy> = {}) {
    const waits: number[] = [];
    const retryPolicy: RetryPolicy = {
      attempts: 3,
      backoff: { baseMs: 100, capMs: 1000 },
      random: () => 0.5,
      sleep: async (ms) => waits.push(ms),
      ...overrides,
    };
    return { retryPolicy, waits };
  }
  /** Outcomes in order; a number asks for a retry after that many ms, 'again' for a retry, 'done' ends. */
  const scripted = (outcomes: readonly (number | 'again' | 'done')[]) => ({
    attempt: async (n: number) => outcomes[n - 1] ?? 'done',
    classify: (outcome: number | 'again' | 'done') =>
      outcome === 'done' ? undefined : outcome === 'again' ? RETRY : { retryAfterMs: outcome },
  });

  it('ends at the first outcome the classifier calls final, waiting the backoff between tries', async () => {
    const { retryPolicy, waits } = policy();
    const { attempt, classify } = scripted(['again', 'again', 'done']);
    await expect(retrying(retryPolicy, attempt, classify)).resolves.toEqual({
      last: 'done',
      attempts: 3,
      stop: 'final',
    });
    expect(waits).toEqual([50, 100]);
  });

  it('stops when every try is used, with the last outcome', async () => {
    const { retryPolicy, waits } = policy({ attempts: 2 });
    const { attempt, classify } = scripted(['again', 'again', 'done']);
    await expect(retrying(retryPolicy, attempt, classify)).resolves.toMatchObject({
      last: 'again',
      attempts: 2,
      stop: 'attempts',
    });
    expect(waits).toEqual([50]);
  });

  it('waits at least the Retry-After asked, and stops at once when it is longer than the limit', async () => {
    const { retryPolicy, waits } = policy({ maxRetryAfterMs: 5000 });
    const { attempt, classify } = scripted([3000, 9000]);
    await expect(retrying(retryPolicy, attempt, classify)).resolves.toEqual({
      last: 9000,
      attempts: 2,
      stop: 'retry_after',
      retryAfterMs: 9000,
    });
    expect(waits).toEqual([3000]);
  });

  it('makes no retry whose wait would leave less than the deadline margin', async () => {
    const { retryPolicy, waits } = policy({ deadline: { remainingTimeMs: () => 1_040, marginMs: 1_000 } });
    const { attempt, classify } = scripted(['again', 'again']);
    await expect(retrying(retryPolicy, attempt, classify)).resolves.toMatchObject({
      attempts: 1,
      stop: 'deadline',
    });
    expect(waits).toEqual([]);
  });

  it('tells onRetry of each wait before it starts, and lets an attempt that throws end the loop', async () => {
    const { retryPolicy } = policy();
    const heard: unknown[] = [];
    const failure = new Error('no answer');
    const attempt = async (n: number) => {
      if (n === 2) throw failure;
      return 'again' as const;
    };
    await expect(
      retrying(
        retryPolicy,
        attempt,
        () => RETRY,
        (outcome, n, delayMs) => heard.push([outcome, n, delayMs]),
      ),
    ).rejects.toBe(failure);
    expect(heard).toEqual([['again', 1, 50]]);
  });
});
