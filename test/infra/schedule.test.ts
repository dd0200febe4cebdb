import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../core/errors.js';
import { KeyRotationSchedule } from '../../lib/schedule.js';

function problemsOf(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected the schedule to be refused');
}

describe('a rotation schedule given as an interval', () => {
  it('renders hours below a day and whole days above as rate expressions', () => {
    expect(KeyRotationSchedule.every(Duration.hours(4)).toRotationRules()).toEqual({
      scheduleExpression: 'rate(4 hours)',
    });
    expect(KeyRotationSchedule.every(Duration.days(7)).toRotationRules()).toEqual({
      scheduleExpression: 'rate(7 days)',
    });
  });

  it('refuses intervals shorter than 4 hours, in minutes, or not whole days past 24 hours', () => {
    expect(problemsOf(() => KeyRotationSchedule.every(Duration.hours(3)))).toMatch(
      /every\(3 hours\).*at least 4/,
    );
    expect(problemsOf(() => KeyRotationSchedule.every(Duration.minutes(270)))).toMatch(
      /every\(4 hours 30 minutes\) must be a whole number of hours/,
    );
    expect(problemsOf(() => KeyRotationSchedule.every(Duration.hours(30)))).toMatch(
      /every\(1 day 6 hours\).*whole days/,
    );
    expect(problemsOf(() => KeyRotationSchedule.every(Duration.days(1001)))).toMatch(/whole days \(1–1000\)/);
  });
});

describe('a rotation schedule given as a cron window', () => {
  it('renders the expression and the window as Secrets Manager rotation rules', () => {
    expect(KeyRotationSchedule.cron('cron(0 2 ? * TUE *)', Duration.hours(3)).toRotationRules()).toEqual({
      scheduleExpression: 'cron(0 2 ? * TUE *)',
      duration: '3h',
    });
    expect(KeyRotationSchedule.cron('cron(0 1,13 * * ? *)', Duration.hours(4)).toRotationRules()).toEqual({
      scheduleExpression: 'cron(0 1,13 * * ? *)',
      duration: '4h',
    });
  });

  it('refuses minutes other than 0', () => {
    expect(problemsOf(() => KeyRotationSchedule.cron('cron(30 2 ? * TUE *)', Duration.hours(2)))).toMatch(
      /cron\(30 2 \? \* TUE \*\).*\n.*minutes must be 0.*"30"/,
    );
  });

  it('refuses a window that would cross midnight UTC', () => {
    expect(problemsOf(() => KeyRotationSchedule.cron('cron(0 22 ? * SAT *)', Duration.hours(3)))).toMatch(
      /3 h window starting at 22:00 UTC would cross midnight UTC/,
    );
  });

  it('refuses starts closer than 4 hours, including every hour', () => {
    expect(problemsOf(() => KeyRotationSchedule.cron('cron(0 1,3 * * ? *)', Duration.hours(1)))).toMatch(
      /hours "1,3" start rotations 2 h apart/,
    );
    expect(problemsOf(() => KeyRotationSchedule.cron('cron(0 * * * ? *)', Duration.hours(1)))).toMatch(
      /hours "\*" start rotations 1 h apart/,
    );
    expect(problemsOf(() => KeyRotationSchedule.cron('cron(0 0/6 * * ? *)', Duration.hours(8)))).toMatch(
      /8 h window is longer than the 6 h between two starts/,
    );
  });

  it('refuses malformed expressions and windows, reporting every problem at once', () => {
    const message = problemsOf(() => KeyRotationSchedule.cron('cron(15 2 * * TUE *)', Duration.minutes(90)));
    expect(message).toMatch(/the window 1 hour 30 minutes must be a whole number of hours between 1 and 24/);
    expect(message).toMatch(/minutes must be 0/);
    expect(message).toMatch(/exactly one of day-of-month and day-of-week must be "\?"/);
    expect(problemsOf(() => KeyRotationSchedule.cron('rate(7 days)', Duration.hours(2)))).toMatch(
      /six fields/,
    );
    expect(problemsOf(() => KeyRotationSchedule.cron('cron(0 2 ? * TUE)', Duration.hours(2)))).toMatch(
      /six fields/,
    );
    expect(problemsOf(() => KeyRotationSchedule.cron('cron(0 25 ? * TUE *)', Duration.hours(2)))).toMatch(
      /hours "25" must be an hour/,
    );
  });
});

describe("a schedule's overdue threshold (the longest gap between starts plus the window)", () => {
  it('is the interval of a rate schedule', () => {
    expect(KeyRotationSchedule.every(Duration.hours(6)).overdueAfterHours).toBe(6);
    expect(KeyRotationSchedule.every(Duration.days(30)).overdueAfterHours).toBe(720);
  });

  it('is a week plus the window for a weekly cron', () => {
    expect(KeyRotationSchedule.cron('cron(0 2 ? * TUE *)', Duration.hours(3)).overdueAfterHours).toBe(171);
  });

  it('takes the longest gap between days of the week and between hours of a day', () => {
    // Mon and Thu at 02:00 and 14:00: Thu 14:00 → Mon 02:00 is 84 h.
    expect(KeyRotationSchedule.cron('cron(0 2,14 ? * MON,THU *)', Duration.hours(1)).overdueAfterHours).toBe(
      85,
    );
    expect(KeyRotationSchedule.cron('cron(0 0/6 * * ? *)', Duration.hours(2)).overdueAfterHours).toBe(8);
    expect(KeyRotationSchedule.cron('cron(0 3 ? * 2-6 *)', Duration.hours(2)).overdueAfterHours).toBe(74);
  });

  it('is not derived for days of the month or restricted months', () => {
    expect(
      KeyRotationSchedule.cron('cron(0 2 1 * ? *)', Duration.hours(3)).overdueAfterHours,
    ).toBeUndefined();
    expect(
      KeyRotationSchedule.cron('cron(0 2 ? 1,7 MON *)', Duration.hours(3)).overdueAfterHours,
    ).toBeUndefined();
  });
});
