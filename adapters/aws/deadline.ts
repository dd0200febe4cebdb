/**
 * The deadline on every AWS call: the SDK's `requestTimeout` bounds one attempt only, and its retries (with
 * their backoff) come on top. Each call gets an AbortSignal that fires at the deadline (the SDK's documented
 * way to cancel a request: docs/aws-calls.md), and the call's promise ends then whatever the SDK is doing,
 * with an error naming the service and the operation.
 */

/** The part of an SDK client (or a DynamoDB document client) the deadline wraps. */
interface Sendable {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's overloaded `send`, whatever the client.
  send(command: any, options?: any): Promise<any>;
}

const BOUNDED = Symbol('aws-call-deadline');

/** Milliseconds the next call may take (a function: in the Lambda it shrinks with the invocation). */
export type CallDeadline = () => number;

/**
 * Bounds every `send` of `client` by `deadlineMs()` milliseconds; `service` names it in the error
 * ("Secrets Manager did not answer DescribeSecret within 15 s"). `stop`, when it aborts, ends every call at
 * once with an AbortError (the operator's interrupt). Returns the same client.
 */
export function withCallDeadline<C extends Sendable>(
  client: C,
  service: string,
  deadlineMs: CallDeadline,
  stop?: AbortSignal,
): C {
  const marked = client as C & { [BOUNDED]?: true };
  if (marked[BOUNDED]) return client;
  const send = client.send.bind(client);
  marked.send = (command: unknown, options?: { abortSignal?: AbortSignal }) => {
    const ms = Math.max(0, Math.floor(deadlineMs()));
    const timer = AbortSignal.timeout(ms);
    const given = [options?.abortSignal, stop].filter((signal) => signal !== undefined);
    const abortSignal = given.length === 0 ? timer : AbortSignal.any([...given, timer]);
    const operation = operationName(command);
    const expired = (cause?: unknown) =>
      Object.assign(
        new Error(
          `${service} did not answer ${operation} within ${formatSeconds(ms)} (the call was abandoned)`,
          { cause },
        ),
        { name: 'TimeoutError' },
      );
    const stopped = () =>
      Object.assign(
        new Error(`${service} ${operation} was abandoned: ${String(stop?.reason ?? 'stopped')}`),
        {
          name: 'AbortError',
        },
      );
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_, reject) => {
      onAbort = () => {
        // The caller's own signal is the SDK's to report.
        if (stop?.aborted === true) reject(stopped());
        else if (timer.aborted) reject(expired());
      };
      abortSignal.addEventListener('abort', onAbort, { once: true });
    });
    return Promise.race([send(command, { ...options, abortSignal }), deadline])
      .catch((error: unknown) => {
        if (stop?.aborted === true) throw stopped();
        // The SDK's own AbortError when the deadline fired mid-request: the same failure, said once.
        if (timer.aborted && options?.abortSignal?.aborted !== true) throw expired(error);
        throw unreachable(error, service, operation) ?? error;
      })
      .finally(() => {
        if (onAbort !== undefined) abortSignal.removeEventListener('abort', onAbort);
      });
  };
  marked[BOUNDED] = true;
  return client;
}

/** Node's codes for a connection that could not be made or was lost: the service is not reachable there. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

/** A network failure as an error naming the service and the operation (name `ConnectionError`), else undefined. */
function unreachable(error: unknown, service: string, operation: string): Error | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (!(error instanceof Error) || typeof code !== 'string' || !NETWORK_CODES.has(code)) return undefined;
  // A refused dual-stack connection is an AggregateError with no message of its own.
  const what = error.message || code;
  return Object.assign(
    new Error(`${service} could not be reached for ${operation} (${what})`, { cause: error }),
    {
      name: 'ConnectionError',
    },
  );
}

function operationName(command: unknown): string {
  const name = (command as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? '';
  return name.replace(/Command$/, '') || 'a request';
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
