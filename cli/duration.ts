/**
 * Durations as an operator types and reads them: `500ms`, `30s`, `2m`, `1h`, or a sum such as `1m30s`.
 * A bare number is refused rather than guessed: `--timeout 10` meant 10 ms to one reader and 10 s to another.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
type Unit = keyof typeof UNIT_MS;

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/** Largest first: `1h30m`, never `30m1h` or `1s1s`. */
const ORDER: readonly Unit[] = ['h', 'm', 's', 'ms'];

/** Milliseconds, or why `text` is not a duration. */
export function parseDuration(text: string): { ms: number } | { problem: string } {
  const trimmed = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    return { problem: `has no unit: write ${trimmed}ms, ${trimmed}s or ${trimmed}m` };
  }
  if (!WHOLE.test(trimmed)) return { problem: 'is not a duration (e.g. 500ms, 30s, 2m, 1h, 1m30s)' };
  let ms = 0;
  let lastRank = -1;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    const rank = ORDER.indexOf(unit as Unit);
    if (rank <= lastRank) return { problem: 'repeats a unit or puts a smaller one first (write e.g. 1h30m)' };
    lastRank = rank;
    // 2.01 × 1000 is 2009.9999999999998 in floating point: a whole number within rounding error counts.
    const part = Number(amount) * UNIT_MS[unit as Unit];
    const whole = Math.round(part);
    if (Math.abs(part - whole) > 1e-6) return { problem: 'is not a whole number of milliseconds' };
    ms += whole;
  }
  return { ms };
}

/**
 * How a duration is shown: `exact`, as an operator types it, in the largest unit that shows it exactly
 * (600000 → `10m`, 1500 → `1500ms`; read back by `parseDuration`); `measured`, a time that was measured,
 * to a readable precision (850 → `850 ms`, 1530 → `1.5 s`).
 */
export type DurationStyle = 'exact' | 'measured';

export function formatDuration(ms: number, style: DurationStyle = 'exact'): string {
  if (style === 'measured') return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return ms === 0 ? '0s' : `${ms}ms`;
}
