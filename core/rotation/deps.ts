/** What the rotation core is given: configuration, ports, logging, metrics and clocks. */
import type { RotatorConfig } from '../config.js';
import type { MetricName } from '../contract.js';
import type { RotationLogger } from '../log.js';
import type {
  KeyChecker,
  Notifier,
  RotationLedger,
  SecretStore,
  SiteListSource,
  SitePusher,
} from '../ports.js';

/** The metrics the core records; the runtime adds `RotationStepFailed` around it. */
export type RotationMetricName = Exclude<MetricName, 'RotationStepFailed'>;

/** Metrics sink (Powertools Metrics in the Lambda); units in `METRICS` (contract.ts). */
export interface RotationMetrics {
  record(name: RotationMetricName, value: number): void;
}

export interface RotationDeps {
  readonly config: RotatorConfig;
  /** The rotated secret, the secrets read alongside it, and the staged key's reset once it is in service. */
  readonly secrets: SecretStore;
  readonly siteList: SiteListSource;
  readonly keyChecker: KeyChecker;
  readonly pusher: SitePusher;
  readonly ledger: RotationLedger;
  readonly logger: RotationLogger;
  readonly metrics: RotationMetrics;
  /** Told when AWSCURRENT moved; absent: no notice (config.successNoticeTopicArn unset). */
  readonly notifier?: Notifier;
  /** Wall clock for ledger timestamps. @default () => new Date() */
  readonly now?: () => Date;
}

/** The part of the Lambda context the core uses. */
export interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

/** The deps' wall clock, or the real one. */
export function wallClock(deps: Pick<RotationDeps, 'now'>): () => Date {
  return deps.now ?? (() => new Date());
}
