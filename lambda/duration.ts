/**
 * Durations as an operator types and reads them: `500ms`, `30s`, `2m`, `1h`, or a sum such as `1m30s`.
 * A bare number is refused rather than guessed: `--timeout 10` meant 10 ms to one reader and 10 s to another.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
type Unit = keyof typeof UNIT_MS;

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/** Milliseconds, or why `text` is not a duration. */
export function parseDuration(text: string): { ms: number } | { problem: string } {
  const trimmed = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    return { problem: `has no unit: write ${trimmed}ms, ${trimmed}s or ${trimmed}m` };
  }
  if (!WHOLE.test(trimmed)) return { problem: 'is not a duration (e.g. 500ms, 30s, 2m, 1h, 1m30s)' };
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit as Unit];
  if (!Number.isInteger(ms)) return { problem: 'is not a whole number of milliseconds' };
  return { ms };
}

/** `ms` in the largest unit that shows it exactly: 600000 → `10m`, 1500 → `1500ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return ms === 0 ? '0s' : `${ms}ms`;
}
