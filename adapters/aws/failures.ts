/**
 * AWS failures an operator can fix (unknown secret or table, missing credentials, region or permission,
 * an endpoint that is not the service), turned into ConfigurationError naming what was being done.
 */
import { ConfigurationError } from '../../core/index.js';

/** AWS error names that mean the command is pointed at the wrong thing or lacks credentials or rights. */
const OPERATOR_FIXABLE = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'CredentialsProviderError',
  'ParameterNotFound',
]);

export interface FailureContext {
  /** The profile the clients were built with, named when its credentials cannot be loaded. */
  readonly profile: string | undefined;
  /** AWS_ENDPOINT_URL, named (its origin only) when the endpoint's answer is not an AWS answer. */
  readonly endpoint: string | undefined;
  /** The region the clients were given (flag or AWS_REGION), named when the service cannot be reached. */
  readonly region: string | undefined;
}

/** The deadline's names for a service that did not answer, or could not be reached (deadline.ts). */
const UNREACHABLE = new Set(['TimeoutError', 'ConnectionError']);

/** The service did not answer in time or could not be reached at all. */
export function isUnreachable(error: unknown): error is Error {
  return error instanceof Error && UNREACHABLE.has(error.name);
}

/**
 * An AWS failure the operator must fix as a ConfigurationError naming what was being done (`doing`);
 * anything else is returned unchanged.
 */
export function explainAwsFailure(error: unknown, doing: string, context: FailureContext): unknown {
  if (error instanceof ConfigurationError) return error;
  const { endpoint } = context;
  if (isUnreachable(error)) {
    // Not a configuration error for sure (a network outage looks the same): exit 1, with what to check.
    const where =
      endpoint === undefined ? "the region's AWS endpoint" : `AWS_ENDPOINT_URL=${origin(endpoint)}`;
    return new Error(
      `${doing} failed: ${error.message}. Check the endpoint (${where}), the region ` +
        `(${context.region ?? 'from the profile'}), the network and proxy, and the credentials`,
      { cause: error },
    );
  }
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const httpStatus = (current as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (/region is missing|region not accepted/i.test(current.message)) {
      return new ConfigurationError(
        `${doing} failed: ${current.message} (pass --region or set AWS_REGION, e.g. eu-west-3)`,
        { cause: error },
      );
    }
    if (current.name === 'CredentialsProviderError') {
      const profile = context.profile;
      const hint =
        profile === undefined
          ? 'no AWS credentials: set a profile with --profile / AWS_PROFILE, or the usual AWS_* variables'
          : `no credentials for profile "${profile}": is it defined in ~/.aws/config or ~/.aws/credentials ` +
            '(AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)? Check its spelling';
      return new ConfigurationError(`${doing} failed: ${hint}`, { cause: error });
    }
    if (OPERATOR_FIXABLE.has(current.name)) {
      return new ConfigurationError(`${doing} failed: ${current.name}: ${current.message}`, { cause: error });
    }
    // An endpoint that is not the AWS service (a 404 page, a proxy): the SDK cannot read its answer.
    if (
      httpStatus !== undefined &&
      (current.name === 'UnknownError' || /deserialization error/i.test(current.message))
    ) {
      const where =
        endpoint === undefined
          ? ''
          : // The origin only: a proxy URL may carry credentials (user:password@) or a token in its path.
            `: AWS_ENDPOINT_URL=${URL.canParse(endpoint) ? new URL(endpoint).origin : '(not a URL)'} is set, is it the service's endpoint?`;
      return new ConfigurationError(
        `${doing} failed: the endpoint answered HTTP ${httpStatus} with something other than an AWS answer${where}`,
        { cause: error },
      );
    }
    current = current.cause;
  }
  return error;
}

/** The origin only: a proxy URL may carry credentials (user:password@) or a token in its path. */
function origin(endpoint: string): string {
  return URL.canParse(endpoint) ? new URL(endpoint).origin : '(not a URL)';
}
