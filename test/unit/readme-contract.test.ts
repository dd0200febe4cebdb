import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { range, SETTINGS, type SettingSpec } from '../../core/contract.js';

/** The README's "Handler configuration" table, as rows of cells keyed by the variable. */
function readmeSettingsTable(): Map<string, readonly string[]> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split('## Handler configuration')[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<string, readonly string[]>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const variable = /^`([A-Z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (variable !== undefined) rows.set(variable, cells.slice(2, -1));
  }
  return rows;
}

describe("the README's handler configuration table", () => {
  const rows = readmeSettingsTable();
  const settings: readonly SettingSpec[] = Object.values(SETTINGS);

  it('lists exactly the variables the function reads', () => {
    expect([...rows.keys()].sort()).toEqual(settings.map((setting) => setting.variable).sort());
  });

  it.each(settings.map((setting) => [setting.variable, setting] as const))(
    'states the contract of %s: required or its default, and its bounds',
    (variable, setting) => {
      const [required = '', shownDefault = '', meaning = ''] = rows.get(variable) ?? [];
      expect(required).toBe(setting.default === undefined ? 'yes' : 'no');
      expect(shownDefault).toBe(setting.default === undefined ? '' : `\`${setting.default}\``);
      if (setting.min !== undefined && setting.max !== undefined) {
        expect(meaning).toContain(`(${range({ min: setting.min, max: setting.max })})`);
      }
      for (const value of setting.allowed ?? []) expect(meaning).toContain(`\`${value}\``);
    },
  );
});
