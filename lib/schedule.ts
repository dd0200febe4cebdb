/**
 * When Secrets Manager starts a rotation. The L2 `RotationSchedule` only knows `rate(...)`; a fleet is best
 * updated off-peak, so a `cron(...)` expression with a window is offered as well and rendered
 * straight into the `AWS::SecretsManager::RotationSchedule` rotation rules.
 */
import type { Duration } from 'aws-cdk-lib';
import type { CfnRotationSchedule } from 'aws-cdk-lib/aws-secretsmanager';
import { ConfigurationError } from '../lambda/errors.js';

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
    if (hours < 24) return new KeyRotationSchedule(`rate(${hours} hours)`);
    if (hours % 24 !== 0 || hours / 24 > MAX_INTERVAL_DAYS) {
      throw new ConfigurationError(
        `schedule: KeyRotationSchedule.every(${shown}) must be whole days (1–${MAX_INTERVAL_DAYS}) once it reaches 24 hours`,
      );
    }
    return new KeyRotationSchedule(`rate(${hours / 24} days)`);
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
    return new KeyRotationSchedule(expression.trim(), `${window.toMilliseconds() / HOUR_MS}h`);
  }

  private constructor(
    /** The `ScheduleExpression` as Secrets Manager receives it. */
    readonly scheduleExpression: string,
    /** The rotation window (`Duration` rule, e.g. `3h`), when one is set. */
    readonly window?: string,
  ) {}

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
