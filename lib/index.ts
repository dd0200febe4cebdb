/**
 * The package's construct entry: `import { StripeKeyRotation } from 'stripe-key-rotator'`. Everything a CDK
 * app needs to deploy the rotation in its own stacks, and nothing of the CLI or the tests.
 */
export { ConfigurationError } from '../core/index.js';
export { KeyMode, WhenNothingStaged } from './modes.js';
export type { StripeKeyRotationProps } from './props.js';
export type { IStripeKeyRotation, StripeKeyRotationAttributes } from './rotation-base.js';
export type { IRotationWatchdog } from './rotation-watchdog.js';
export { KeyRotationSchedule } from './schedule.js';
export { type ExistingSiteListOptions, type NewSiteListOptions, SiteListParameter } from './site-list.js';
export { StripeKeyRotation } from './stripe-key-rotation.js';
