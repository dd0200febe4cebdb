/**
 * The watchdog's decision: is the rotated secret's rotation disabled, overdue, or stuck with an old
 * AWSPENDING? Pure, so the same rules are tested against mocks and the emulator. The construct alarms on the
 * metrics with the same thresholds (docs: README, "Monitoring and alerts").
 */
import type { RotationState } from '../ports.js';

const HOUR_MS = 3_600_000;

export interface StalenessLimits {
  /** The schedule's longest period plus its window. */
  readonly overdueAfterHours: number;
  readonly pendingMaxHours: number;
}

export type StalenessFinding = 'rotation_disabled' | 'rotation_overdue' | 'pending_stuck';

export interface StalenessReport {
  readonly hoursSinceLastRotation: number;
  /** 0 when no rotation is pending. */
  readonly pendingAgeHours: number;
  readonly rotationEnabled: boolean;
  /** What an operator must look at; empty when the rotation is healthy. */
  readonly findings: readonly StalenessFinding[];
}

/** What each finding means for an operator, for the log line and the alarm descriptions. */
export const STALENESS_ADVICE: Readonly<Record<StalenessFinding, string>> = {
  rotation_disabled:
    'Rotation is disabled on the rotated secret: redeploy the stack (it owns the rotation schedule) or re-enable it.',
  rotation_overdue:
    'No rotation succeeded within the schedule: read the rotation function log and the ledger (status command), fix the cause, then rotate immediately.',
  pending_stuck:
    'An AWSPENDING version is older than allowed: a rotation is stuck. Read the function log; retry with "rotate" or clear it with "abort".',
};

function hoursBetween(from: Date, to: Date): number {
  // One decimal: enough for alarms on hours, and stable in logs.
  return Math.max(0, Math.round(((to.getTime() - from.getTime()) / HOUR_MS) * 10) / 10);
}

export function assessStaleness(state: RotationState, now: Date, limits: StalenessLimits): StalenessReport {
  // A secret never rotated is measured from its creation: it is overdue once a whole period passed.
  const hoursSinceLastRotation = hoursBetween(state.lastRotatedAt ?? state.createdAt, now);
  const pendingAgeHours =
    state.pendingCreatedAt === undefined ? 0 : hoursBetween(state.pendingCreatedAt, now);
  const findings: StalenessFinding[] = [];
  if (!state.rotationEnabled) findings.push('rotation_disabled');
  if (hoursSinceLastRotation > limits.overdueAfterHours) findings.push('rotation_overdue');
  if (pendingAgeHours > limits.pendingMaxHours) findings.push('pending_stuck');
  return { hoursSinceLastRotation, pendingAgeHours, rotationEnabled: state.rotationEnabled, findings };
}
