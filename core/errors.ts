/**
 * The rotation's few error classes. Messages are written for an operator and never contain a secret
 * value (Stripe key, master API key, RotationToken): keys appear only as masked form + fingerprint.
 */

/** Deployment or input configuration is wrong (environment, site list, secrets): an operator must fix it. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  /** Every individual problem found, so one error reports them all. */
  readonly problems: readonly string[];

  constructor(message: string, options: { problems?: readonly string[]; cause?: unknown } = {}) {
    const problems = options.problems ?? [];
    super(problems.length > 0 ? `${message}\n${problems.map((p) => `  - ${p}`).join('\n')}` : message, {
      cause: options.cause,
    });
    this.problems = problems;
  }
}

/** The key being rotated to is unacceptable (format, mode, reuse, or refused by Stripe). */
export class KeyRejectedError extends Error {
  override readonly name = 'KeyRejectedError';
}

/** The secret is not in a state this step can act on (rotation disabled, unknown token, no AWSPENDING, ...). */
export class RotationStateError extends Error {
  override readonly name = 'RotationStateError';
}

/** One or more sites did not confirm the key; AWSCURRENT was not moved. */
export class PropagationError extends Error {
  override readonly name = 'PropagationError';
}
