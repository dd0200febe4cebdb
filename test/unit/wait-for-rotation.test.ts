/** Following a rotation: the caller's interrupt ends the wait at once, even while a look never answers. */
import { describe, expect, it } from 'vitest';
import { type SecretAdmin, waitForRotation } from '../../core/index.js';

describe('waitForRotation', () => {
  it('answers interrupted as soon as the signal aborts, while DescribeSecret never answers', async () => {
    const secrets = { details: () => new Promise(() => undefined) } as unknown as SecretAdmin;
    const stop = new AbortController();
    setTimeout(() => stop.abort('SIGINT'), 50);
    const started = performance.now();

    const ended = await waitForRotation(
      { secrets },
      { id: { secretArn: 'arn:x', token: 't' }, timeoutMs: 60_000, failedGraceMs: 0, pollIntervalMs: 1_000 },
      { signal: stop.signal },
    );

    expect(ended).toEqual({ outcome: 'interrupted', sites: [] });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
