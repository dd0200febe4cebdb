import fc from 'fast-check';
import { describe, it } from 'vitest';
import { formatDuration, parseDuration } from '../../cli/duration.js';

describe('parseDuration', () => {
  it('reads a number with its unit: ms, s, m or h', ({ expect }) => {
    expect(parseDuration('500ms')).toEqual({ ms: 500 });
    expect(parseDuration('30s')).toEqual({ ms: 30_000 });
    expect(parseDuration(' 2m ')).toEqual({ ms: 120_000 });
    expect(parseDuration('1h')).toEqual({ ms: 3_600_000 });
    expect(parseDuration('1.5s')).toEqual({ ms: 1_500 });
  });

  it('adds up a sum of parts such as 1m30s', ({ expect }) => {
    expect(parseDuration('1m30s')).toEqual({ ms: 90_000 });
    expect(parseDuration('1h2m3s4ms')).toEqual({ ms: 3_723_004 });
  });

  it('refuses a bare number, suggesting the units it might have meant', ({ expect }) => {
    expect(parseDuration('1000')).toEqual({ problem: 'has no unit: write 1000ms, 1000s or 1000m' });
  });

  it('refuses anything else, with examples', ({ expect }) => {
    for (const text of ['', 'abc', '10 s', '-5s', '5sec', 's', '1m 30s', '10S']) {
      expect(parseDuration(text), text).toEqual({
        problem: 'is not a duration (e.g. 500ms, 30s, 2m, 1h, 1m30s)',
      });
    }
  });

  it('reads decimals exactly, whatever floating point makes of them', ({ expect }) => {
    expect(parseDuration('2.01s')).toEqual({ ms: 2_010 });
    expect(parseDuration('0.27m')).toEqual({ ms: 16_200 });
    expect(parseDuration('1.10h')).toEqual({ ms: 3_960_000 });
  });

  it('refuses a repeated unit, or a smaller unit before a larger one', ({ expect }) => {
    for (const text of ['1s1s', '30s1m', '1h60m1h', '5ms1s']) {
      expect(parseDuration(text), text).toEqual({
        problem: 'repeats a unit or puts a smaller one first (write e.g. 1h30m)',
      });
    }
  });

  it('reads every two-decimal amount of every unit as the whole number of ms it is', ({ expect }) => {
    fc.assert(
      fc.property(fc.nat({ max: 99_999 }), fc.constantFrom('s', 'm', 'h'), (hundredths, unit) => {
        const factor = { s: 10, m: 600, h: 36_000 }[unit];
        const text = `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}${unit}`;
        expect(parseDuration(text)).toEqual({ ms: hundredths * factor });
      }),
    );
  });

  it('refuses a fraction of a millisecond', ({ expect }) => {
    expect(parseDuration('0.5ms')).toEqual({ problem: 'is not a whole number of milliseconds' });
  });
});

describe('formatDuration', () => {
  it('shows a duration in the largest unit that is exact', ({ expect }) => {
    expect(formatDuration(600_000)).toBe('10m');
    expect(formatDuration(10_000)).toBe('10s');
    expect(formatDuration(1_500)).toBe('1500ms');
    expect(formatDuration(7_200_000)).toBe('2h');
    expect(formatDuration(0)).toBe('0s');
  });

  it('shows a measured time to a readable precision: ms below a second, tenths of seconds above', ({
    expect,
  }) => {
    expect(formatDuration(12.4, 'measured')).toBe('12 ms');
    expect(formatDuration(999, 'measured')).toBe('999 ms');
    expect(formatDuration(1_530, 'measured')).toBe('1.5 s');
    expect(formatDuration(600_000, 'measured')).toBe('600.0 s');
  });

  it('is read back as the same duration, for every whole number of milliseconds', ({ expect }) => {
    fc.assert(
      fc.property(fc.nat({ max: 30 * 24 * 3_600_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toEqual({ ms });
      }),
    );
  });
});
