/**
 * A small HTTP proxy between the AWS SDK and the moto emulator that injects AWS faults per call: the SDK is
 * pointed at it with AWS_ENDPOINT_URL, each request is one AWS operation (its `X-Amz-Target` header names
 * it: `secretsmanager.PutSecretValue`, `AmazonSSM.GetParameter`, `DynamoDB_20120810.UpdateItem`), and a
 * plan decides, operation by operation, what happens to it:
 *
 * - `throttle`: answered 400 ThrottlingException, not forwarded (the SDK retries with backoff);
 * - `server_error`: answered 500 InternalServiceError, not forwarded;
 * - `reset_before`: the connection is reset before forwarding (the call never reached AWS);
 * - `reset_after`: forwarded, moto applies it, then the connection is reset (applied, answer lost);
 * - `kill_before` / `kill_after`: the caller's process is killed (the plan's `kill`) before forwarding, or
 *   after moto applied the call but before the answer: a crash between two awaited operations.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const AWS_FAULTS = [
  'throttle',
  'server_error',
  'reset_before',
  'reset_after',
  'kill_before',
  'kill_after',
] as const;
export type AwsFault = (typeof AWS_FAULTS)[number];

/** One AWS call through the proxy: its position since the plan was set, and its operation. */
export interface AwsOperation {
  readonly index: number;
  readonly target: string;
}

export interface FaultPlan {
  /** The fault for this call, or undefined to forward it unchanged. */
  decide(operation: AwsOperation): AwsFault | undefined;
  /** Kills the calling process (`kill_before`/`kill_after`). */
  kill(): void;
}

export interface AwsFaultProxy {
  /** The URL to give the SDK as AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  /** Every call since the last `use`, with the fault it got. */
  readonly calls: readonly (AwsOperation & { readonly fault: AwsFault | undefined })[];
  /** Applies `plan` to the calls from now on (undefined: forward everything); resets the call count. */
  use(plan: FaultPlan | undefined): void;
  close(): Promise<void>;
}

const ERROR_BODIES = {
  throttle: { status: 400, type: 'ThrottlingException', message: 'Rate exceeded (injected)' },
  server_error: { status: 500, type: 'InternalServiceError', message: 'Internal failure (injected)' },
} as const;

export async function startAwsFaultProxy(upstream: string): Promise<AwsFaultProxy> {
  const target = new URL(upstream);
  let plan: FaultPlan | undefined;
  let calls: (AwsOperation & { fault: AwsFault | undefined })[] = [];

  const forward = async (
    incoming: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> => {
    const outgoing = request({
      host: target.hostname,
      port: target.port,
      method: incoming.method,
      path: incoming.url,
      headers: { ...incoming.headers, host: target.host },
    });
    outgoing.end(body);
    const [answer] = (await once(outgoing, 'response')) as [IncomingMessage];
    const chunks: Buffer[] = [];
    for await (const chunk of answer) chunks.push(chunk as Buffer);
    return { status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) };
  };

  const handle = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const operation: AwsOperation = {
      index: calls.length,
      target: String(incoming.headers['x-amz-target'] ?? `${incoming.method} ${incoming.url}`),
    };
    const current = plan;
    const fault = current?.decide(operation);
    calls.push({ ...operation, fault });

    if (fault === 'throttle' || fault === 'server_error') {
      const { status, type, message } = ERROR_BODIES[fault];
      response.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': type,
        'x-amzn-requestid': `injected-${operation.index}`,
      });
      response.end(JSON.stringify({ __type: type, message }));
      return;
    }
    if (fault === 'reset_before' || fault === 'kill_before') {
      if (fault === 'kill_before') current?.kill();
      incoming.socket.destroy();
      return;
    }
    const answer = await forward(incoming, body);
    if (fault === 'reset_after' || fault === 'kill_after') {
      if (fault === 'kill_after') current?.kill();
      incoming.socket.destroy();
      return;
    }
    const headers = { ...answer.headers };
    // The body is sent whole: its framing is the proxy's, not moto's.
    delete headers['transfer-encoding'];
    headers['content-length'] = String(answer.body.length);
    response.writeHead(answer.status, headers);
    response.end(answer.body);
  };

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch(() => incoming.socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get calls() {
      return calls;
    },
    use(next) {
      plan = next;
      calls = [];
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
