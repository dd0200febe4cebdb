import { describe, expect, it } from 'vitest';
import { backoffDelayMs, retryDelayMs } from '../../core/push/backoff.js';

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
