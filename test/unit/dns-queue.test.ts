import type { LookupFunction } from 'node:net';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { LookupAbandonedError, lookupQueue } from '../../core/push/dns-queue.js';

type Answer = Parameters<Parameters<LookupFunction>[2]>;

/** A resolver that answers only when told to, and a clock the test moves. */
function harness(connectTimeoutMs: number, inFlight = 2) {
  let clock = 0;
  const pending: { hostname: string; answer: (...answer: Answer) => void }[] = [];
  const resolver: LookupFunction = (hostname, _options, callback) => {
    pending.push({ hostname, answer: callback });
  };
  const lookup = lookupQueue({ connectTimeoutMs, inFlight, lookup: resolver, now: () => clock });
  const answers = new Map<string, Answer>();
  const answerCount = new Map<string, number>();
  const ask = (hostname: string): void =>
    lookup(hostname, {}, (...answer: Answer) => {
      answers.set(hostname, answer);
      answerCount.set(hostname, (answerCount.get(hostname) ?? 0) + 1);
    });
  return {
    ask,
    answers,
    answerCount,
    pending,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('lookupQueue', () => {
  it('passes at most `inFlight` lookups to the resolver at once, the rest in order as answers come', ({
    expect,
  }) => {
    const h = harness(1_000);
    for (const host of ['a', 'b', 'c', 'd']) h.ask(host);

    expect(h.pending.map((p) => p.hostname)).toEqual(['a', 'b']);
    h.pending[0]?.answer(null, '192.0.2.1', 4);
    expect(h.answers.get('a')).toEqual([null, '192.0.2.1', 4]);
    expect(h.pending.map((p) => p.hostname)).toEqual(['a', 'b', 'c']);
  });

  it('answers a lookup still queued after its connect timeout with LookupAbandonedError, without resolving it', ({
    expect,
  }) => {
    const h = harness(100);
    for (const host of ['a', 'b', 'stale-1', 'stale-2']) h.ask(host);
    h.advance(1_601);
    h.ask('fresh');

    h.pending[0]?.answer(null, '192.0.2.1', 4);

    expect(h.answers.get('stale-1')?.[0]).toBeInstanceOf(LookupAbandonedError);
    expect(h.answers.get('stale-2')?.[0]).toBeInstanceOf(LookupAbandonedError);
    expect(h.pending.map((p) => p.hostname)).toEqual(['a', 'b', 'fresh']);
  });

  it('answers every lookup exactly once and never runs more than inFlight, whatever the timing', ({
    expect,
  }) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ gapMs: fc.nat(80), answerFirst: fc.boolean() }), { maxLength: 40 }),
        (inFlight, events) => {
          const h = harness(100, inFlight);
          let answered = 0;
          events.forEach(({ gapMs, answerFirst }, index) => {
            h.advance(gapMs);
            const open = h.pending.slice(answered);
            if (answerFirst && open.length > 0) {
              answered += 1;
              open[0]?.answer(null, '192.0.2.1', 4);
            }
            h.ask(`host-${index}`);
            expect(h.pending.length - answered).toBeLessThanOrEqual(inFlight);
          });
          // Drain: answer everything still running until nothing is left.
          while (answered < h.pending.length) {
            h.advance(1_000);
            h.pending[answered]?.answer(null, '192.0.2.1', 4);
            answered += 1;
          }
          expect(h.answerCount.size).toBe(events.length);
          expect([...h.answerCount.values()].every((n) => n === 1)).toBe(true);
        },
      ),
    );
  });
});
