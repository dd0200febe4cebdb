/**
 * The construct's documentation against the function's contract: JSDoc cannot import, so the `@default`s
 * and ranges of lib/props.ts restate core/contract.ts, and this checks that they still say the same.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FUNCTION_TIMEOUT_MAX_MS, POWERTOOLS_SETTINGS, SETTINGS } from '../../core/contract.js';

const source = readFileSync(new URL('../../lib/props.ts', import.meta.url), 'utf8');

/** The JSDoc comment of the prop `name`, whitespace and leading `*` collapsed. */
function jsdoc(name: string): string {
  const match = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*readonly ${name}\\??:`).exec(source);
  if (!match?.[1]) throw new Error(`no JSDoc for the prop ${name}`);
  return match[1].replace(/\n\s*\*/g, ' ').replace(/\s+/g, ' ');
}

describe("the construct's JSDoc", () => {
  it('states the defaults of the function settings', () => {
    expect(jsdoc('whenNothingStaged')).toContain(`@default '${SETTINGS.whenNothingStaged.default}'`);
    expect(jsdoc('pushConcurrency')).toContain(`@default ${SETTINGS.pushConcurrency.default}`);
    expect(jsdoc('siteTimeout')).toContain(
      `@default Duration.seconds(${SETTINGS.siteTimeoutMs.default / 1000})`,
    );
    expect(jsdoc('siteAttempts')).toContain(`@default ${SETTINGS.siteAttempts.default}`);
    expect(jsdoc('canarySites')).toContain(`@default ${SETTINGS.canarySites.default}`);
    expect(jsdoc('stripeCheck')).toContain(`@default ${SETTINGS.stripeCheck.default === 'on'}`);
    expect(jsdoc('timeout')).toContain(`@default Duration.minutes(${FUNCTION_TIMEOUT_MAX_MS / 60_000})`);
    expect(jsdoc('serviceName')).toContain(
      `@default \`${POWERTOOLS_SETTINGS.serviceName.default}-<keyMode>\``,
    );
  });

  it('states the bounds of the function settings', () => {
    const { pushConcurrency, siteTimeoutMs, siteAttempts, canarySites } = SETTINGS;
    expect(jsdoc('pushConcurrency')).toContain(`(${pushConcurrency.min}–${pushConcurrency.max})`);
    expect(jsdoc('siteTimeout')).toContain(`(${siteTimeoutMs.min} ms – ${siteTimeoutMs.max / 1000} s)`);
    expect(jsdoc('siteAttempts')).toContain(`${siteAttempts.min}–${siteAttempts.max}.`);
    expect(jsdoc('canarySites')).toContain(`(${canarySites.min}–${canarySites.max})`);
    for (const value of SETTINGS.whenNothingStaged.allowed) {
      expect(jsdoc('whenNothingStaged')).toContain(`\`${value}\``);
    }
  });
});
