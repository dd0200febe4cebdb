import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../core/contract.js';
import { KeyMode, WhenNothingStaged } from '../../lib/modes.js';

describe('the enum-like values of the construct props', () => {
  it('KeyMode offers exactly the key modes the rotation function accepts', () => {
    expect(Object.values(KeyMode).sort()).toEqual([...SETTINGS.keyMode.allowed].sort());
  });

  it('WhenNothingStaged offers exactly the choices the rotation function accepts', () => {
    expect(Object.values(WhenNothingStaged).sort()).toEqual([...SETTINGS.whenNothingStaged.allowed].sort());
  });
});
