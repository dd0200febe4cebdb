/**
 * The logging surface the core needs; Powertools' Logger satisfies it. Attributes are identifiers only
 * (step, secret ARN, version id, site URL, status, attempt, duration, masked key + fingerprint).
 */
export interface RotationLogger {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}
