/**
 * Enum-like values for the construct's string-valued props, as aws-cdk-lib offers them: `KeyMode.LIVE` or
 * `'live'` both type-check. The values themselves are the contract's (core/contract.ts); a test checks
 * that these objects cover every allowed value.
 */
import type { KeyMode as KeyModeValue, WhenNothingStaged as WhenNothingStagedValue } from '../core/index.js';

/** Which Stripe keys a deployment rotates. */
export const KeyMode = { LIVE: 'live', TEST: 'test' } as const satisfies Record<string, KeyModeValue>;
export type KeyMode = KeyModeValue;

/** What a rotation does when nothing new is staged. */
export const WhenNothingStaged = {
  /** Push the current key to every site again (drift repair for new or restored sites). */
  REPROPAGATE: 'repropagate',
  /** Fail the rotation, telling the operator how to stage a key. */
  FAIL: 'fail',
} as const satisfies Record<string, WhenNothingStagedValue>;
export type WhenNothingStaged = WhenNothingStagedValue;
