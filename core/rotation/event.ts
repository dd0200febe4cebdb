/**
 * The Secrets Manager rotation event. `@types/aws-lambda` does not declare `RotationToken`, so the
 * project owns this type. Parsed leniently (extra fields ignored), validated strictly.
 */
import { RotationStateError } from '../errors.js';

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export interface RotationEvent {
  readonly Step: RotationStep;
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  /** Identifies the caller for PutSecretValue (assumed-role / cross-account rotation). Sensitive: never logged. */
  readonly RotationToken?: string;
}

/** Version ids are UUIDs in practice; the API allows 32–64 characters. */
const TOKEN_PATTERN = /^[A-Za-z0-9-]{32,64}$/;

export function parseRotationEvent(input: unknown): RotationEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new RotationStateError(
      'Invalid rotation event: expected an object with Step, SecretId, ClientRequestToken',
    );
  }
  const event = input as Record<string, unknown>;
  const problems: string[] = [];

  const step = event.Step;
  if (typeof step !== 'string' || !(ROTATION_STEPS as readonly string[]).includes(step)) {
    problems.push(
      `Step ${typeof step === 'string' ? `"${step.slice(0, 40)}"` : 'is missing'}: expected one of ${ROTATION_STEPS.join(', ')}`,
    );
  }
  const secretId = event.SecretId;
  if (typeof secretId !== 'string' || secretId.trim() === '') problems.push('SecretId is missing');
  const token = event.ClientRequestToken;
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) {
    problems.push('ClientRequestToken is missing or not a version id (32–64 letters, digits, hyphens)');
  }
  const rotationToken = event.RotationToken;
  if (rotationToken !== undefined && rotationToken !== null && typeof rotationToken !== 'string') {
    problems.push('RotationToken must be a string when present');
  }
  if (problems.length > 0) throw new RotationStateError(`Invalid rotation event: ${problems.join('; ')}`);

  return {
    Step: step as RotationStep,
    SecretId: secretId as string,
    ClientRequestToken: token as string,
    ...(typeof rotationToken === 'string' && rotationToken !== '' ? { RotationToken: rotationToken } : {}),
  };
}
