/**
 * When Secrets Manager starts a rotation. The L2 `RotationSchedule` only knows `rate(...)`; a fleet is best
 * updated off-peak, so a `cron(...)` expression with a window is offered as well and rendered
 * straight into the `AWS::SecretsManager::RotationSchedule` rotation rules.
 */
import type { Duration } from 'aws-cdk-lib';
import type { CfnRotationSchedule } from 'aws-cdk-lib/aws-secretsmanager';
import { ConfigurationError } from '../core/index.js';

const HOUR_MS = 3_600_000;
/** Secrets Manager refuses rotations closer together than this. */
const MIN_INTERVAL_HOURS = 4;
/** The CDK L2's upper bound for `automaticallyAfter`, kept for consistency. */
const MAX_INTERVAL_DAYS = 1000;

export class KeyRotationSchedule {
  /**
   * Rotate every `interval` (whole hours, at least 4 hours; 24 hours or more must be whole days).
   * Secrets Manager picks the time of day itself.
   */
  static every(interval: Duration): KeyRotationSchedule {
    const ms = interval.toMilliseconds();
    const shown = interval.toHumanString();
    if (!Number.isInteger(ms / HOUR_MS) || ms < MIN_INTERVAL_HOURS * HOUR_MS) {
      throw new ConfigurationError(
        `schedule: KeyRotationSchedule.every(${shown}) must be a whole number of hours, at least ${MIN_INTERVAL_HOURS} hours`,
      );
    }
    const hours = ms / HOUR_MS;
    if (hours < 24) return new KeyRotationSchedule(`rate(${hours} hours)`, undefined, hours);
    if (hours % 24 !== 0 || hours / 24 > MAX_INTERVAL_DAYS) {
      throw new ConfigurationError(
        `schedule: KeyRotationSchedule.every(${shown}) must be whole days (1–${MAX_INTERVAL_DAYS}) once it reaches 24 hours`,
      );
    }
    return new KeyRotationSchedule(`rate(${hours / 24} days)`, undefined, hours);
  }

  /**
   * Rotate inside a window that opens at the times of `expression`, e.g. `cron(0 2 ? * TUE *)` with a
   * 3-hour window: every Tuesday between 02:00 and 05:00 UTC. Minutes must be 0, the window is whole
   * hours (1–24) and cannot cross midnight UTC, and starts must be at least 4 hours apart.
   */
  static cron(expression: string, window: Duration): KeyRotationSchedule {
    const problems = cronProblems(expression, window);
    if (problems.length > 0) {
      throw new ConfigurationError(
        `schedule: KeyRotationSchedule.cron(${JSON.stringify(expression)}) is invalid:`,
        {
          problems,
        },
      );
    }
    const windowHours = window.toMilliseconds() / HOUR_MS;
    return new KeyRotationSchedule(
      expression.trim(),
      `${windowHours}h`,
      longestCronGapHours(expression),
      windowHours,
    );
  }

  private constructor(
    /** The `ScheduleExpression` as Secrets Manager receives it. */
    readonly scheduleExpression: string,
    /** The rotation window (`Duration` rule, e.g. `3h`), when one is set. */
    readonly window?: string,
    private readonly longestGapHours?: number,
    private readonly windowHours = 0,
  ) {}

  /**
   * The longest a healthy schedule goes without a successful rotation: the longest gap between two starts
   * plus the window (the watchdog's overdue threshold). Undefined for a cron expression whose gaps are not
   * derived here (days of the month, restricted months or years): the construct then asks for `overdueAfter`.
   */
  get overdueAfterHours(): number | undefined {
    return this.longestGapHours === undefined ? undefined : this.longestGapHours + this.windowHours;
  }

  /** The `RotationRules` of the CloudFormation resource. */
  toRotationRules(): CfnRotationSchedule.RotationRulesProperty {
    return this.window === undefined
      ? { scheduleExpression: this.scheduleExpression }
      : { scheduleExpression: this.scheduleExpression, duration: this.window };
  }
}

function cronProblems(expression: string, window: Duration): string[] {
  const problems: string[] = [];
  const windowMs = window.toMilliseconds();
  const windowHours = windowMs / HOUR_MS;
  if (!Number.isInteger(windowHours) || windowHours < 1 || windowHours > 24) {
    problems.push(`the window ${window.toHumanString()} must be a whole number of hours between 1 and 24`);
  }

  const match = /^cron\((.*)\)$/.exec(expression.trim());
  const fields = match?.[1]?.trim().split(/\s+/) ?? [];
  if (!match || fields.length !== 6) {
    problems.push('expected cron(minutes hours day-of-month month day-of-week year), six fields');
    return problems;
  }
  const [minutes = '', hoursField = '', dayOfMonth = '', , dayOfWeek = ''] = fields;
  if (minutes !== '0')
    problems.push(`minutes must be 0 (Secrets Manager windows start on the hour), got "${minutes}"`);
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    problems.push('exactly one of day-of-month and day-of-week must be "?"');
  }

  const hours = parseHours(hoursField);
  if (hours === undefined) {
    problems.push(`hours "${hoursField}" must be an hour (0–23), a list, a range or a step such as 2/6`);
    return problems;
  }
  const gaps = hours.map((hour, i) => (hours[i + 1] ?? (hours[0] ?? 0) + 24) - hour);
  const smallest = Math.min(...gaps);
  if (hours.length > 1 && smallest < MIN_INTERVAL_HOURS) {
    problems.push(
      `hours "${hoursField}" start rotations ${smallest} h apart; Secrets Manager rotates at most every ${MIN_INTERVAL_HOURS} hours`,
    );
  }
  if (Number.isInteger(windowHours)) {
    const late = hours.find((hour) => hour + windowHours > 24);
    if (late !== undefined) {
      problems.push(`a ${windowHours} h window starting at ${late}:00 UTC would cross midnight UTC`);
    }
    if (hours.length > 1 && windowHours > smallest) {
      problems.push(`the ${windowHours} h window is longer than the ${smallest} h between two starts`);
    }
  }
  return problems;
}

const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * The longest time between two starts of a (valid) cron expression running every day or on days of the
 * week, every month and year; undefined for other forms.
 */
function longestCronGapHours(expression: string): number | undefined {
  const fields = /^cron\((.*)\)$/.exec(expression.trim())?.[1]?.trim().split(/\s+/) ?? [];
  const [, hoursField = '', dayOfMonth = '', month = '', dayOfWeek = '', year = ''] = fields;
  const hours = parseHours(hoursField);
  if (hours === undefined || month !== '*' || !['*', '?'].includes(year)) return undefined;
  const first = hours[0] ?? 0;
  const last = hours[hours.length - 1] ?? 0;
  const withinDay = Math.max(0, ...hours.slice(1).map((hour, i) => hour - (hours[i] ?? 0)));
  let days: number[];
  if (dayOfWeek === '?' || dayOfWeek === '*') {
    if (dayOfMonth !== '*' && dayOfMonth !== '?') return undefined;
    days = [0, 1, 2, 3, 4, 5, 6];
  } else {
    const parsed = parseWeekdays(dayOfWeek);
    if (parsed === undefined) return undefined;
    days = parsed;
  }
  // From the last start of one day to the first start of the next day the schedule runs.
  const betweenDays = days.map((day, i) => {
    const next = days[i + 1] ?? (days[0] ?? 0) + 7;
    return (next - day) * 24 + first - last;
  });
  return Math.max(withinDay, ...betweenDays);
}

/** Sorted distinct days of the week (0 = Sunday) of a cron day-of-week field of names, numbers, lists and ranges. */
function parseWeekdays(field: string): number[] | undefined {
  const day = (text: string): number | undefined => {
    const named = WEEKDAYS.indexOf(text.toUpperCase());
    if (named >= 0) return named;
    return /^[1-7]$/.test(text) ? Number(text) - 1 : undefined;
  };
  const days = new Set<number>();
  for (const part of field.split(',')) {
    const [from = '', to] = part.split('-');
    const start = day(from);
    const end = to === undefined ? start : day(to);
    if (start === undefined || end === undefined || start > end) return undefined;
    for (let d = start; d <= end; d += 1) days.add(d);
  }
  return [...days].sort((a, b) => a - b);
}

/** Sorted distinct hours of a cron hours field, or undefined when it is not a form we can check. */
function parseHours(field: string): number[] | undefined {
  const hours = new Set<number>();
  for (const part of field.split(',')) {
    const step = /^(\*|\d{1,2})(?:-(\d{1,2}))?(?:\/(\d{1,2}))?$/.exec(part);
    if (!step) return undefined;
    const [, from = '', to, every] = step;
    const start = from === '*' ? 0 : Number(from);
    const end = to !== undefined ? Number(to) : from === '*' || every !== undefined ? 23 : start;
    const increment = every !== undefined ? Number(every) : 1;
    if (start > 23 || end > 23 || start > end || increment < 1) return undefined;
    for (let hour = start; hour <= end; hour += increment) hours.add(hour);
  }
  return [...hours].sort((a, b) => a - b);
}
