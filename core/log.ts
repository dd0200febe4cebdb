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

/** A logger that adds `fields` (e.g. step, secret ARN, version id) to every line. */
export function withFields(logger: RotationLogger, fields: Record<string, unknown>): RotationLogger {
  return {
    debug: (message, ...attributes) => logger.debug(message, Object.assign({}, fields, ...attributes)),
    info: (message, ...attributes) => logger.info(message, Object.assign({}, fields, ...attributes)),
    warn: (message, ...attributes) => logger.warn(message, Object.assign({}, fields, ...attributes)),
    error: (message, ...attributes) => logger.error(message, Object.assign({}, fields, ...attributes)),
  };
}
