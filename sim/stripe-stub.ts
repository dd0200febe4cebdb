/**
 * A local HTTPS stand-in for the two read-only Stripe endpoints the rotation calls
 * (`GET /v1/balance`, `GET /v1/account`), answering like Stripe does for known, unknown and expired keys.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerCredentials } from './tls.js';

export type StubKey =
  | { readonly account: string; readonly livemode: boolean }
  | { readonly expired: true }
  | { readonly restricted: true }
  /** Every call with this key on `/v1/account` answers 503 (an outage seen by one key), with Retry-After if given. */
  | {
      readonly account: string;
      readonly livemode: boolean;
      readonly accountUnavailable: { readonly retryAfter?: string };
    };

export interface StripeStub {
  /** Base URL to use as STRIPE_API_BASE. */
  readonly url: string;
  readonly keys: Map<string, StubKey>;
  /** Paths requested, in order (the keys used are not recorded). */
  readonly requests: string[];
  /**
   * The next N requests answer 503 (a Stripe outage), or `status` (e.g. 429, rate limited), with a
   * Retry-After header when `retryAfter` is given.
   */
  failNext(count: number, how?: { readonly status?: number; readonly retryAfter?: string }): void;
  close(): Promise<void>;
}

export async function startStripeStub(
  credentials: ServerCredentials,
  host = '127.0.0.1',
): Promise<StripeStub> {
  const keys = new Map<string, StubKey>();
  const requests: string[] = [];
  let failures = 0;
  let failure: { readonly status?: number; readonly retryAfter?: string } = {};

  const server: Server = createServer(credentials, (req, res) => {
    const path = req.url ?? '';
    requests.push(path);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (failures > 0) {
      failures -= 1;
      const status = failure.status ?? 503;
      return answer(
        status,
        status === 429
          ? { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' } }
          : { error: { type: 'api_error', message: 'Service unavailable' } },
        failure.retryAfter === undefined ? {} : { 'retry-after': failure.retryAfter },
      );
    }
    const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const known = keys.get(key);
    if (!known) {
      return answer(401, {
        error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${key.slice(0, 8)}****` },
      });
    }
    if ('expired' in known) {
      return answer(401, {
        error: { type: 'invalid_request_error', code: 'api_key_expired', message: 'Expired API Key' },
      });
    }
    if ('restricted' in known) {
      return answer(403, {
        error: { type: 'invalid_request_error', message: 'The provided key does not have access' },
      });
    }
    if (req.method === 'GET' && path === '/v1/balance') {
      return answer(200, { object: 'balance', livemode: known.livemode, available: [], pending: [] });
    }
    if (req.method === 'GET' && path === '/v1/account') {
      if ('accountUnavailable' in known) {
        const { retryAfter } = known.accountUnavailable;
        return answer(
          503,
          { error: { type: 'api_error', message: 'Service unavailable' } },
          retryAfter === undefined ? {} : { 'retry-after': retryAfter },
        );
      }
      return answer(200, { id: known.account, object: 'account' });
    }
    return answer(404, { error: { type: 'invalid_request_error', message: 'Unrecognized request URL' } });
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://${host}:${port}`,
    keys,
    requests,
    failNext(count, how = {}) {
      failures = count;
      failure = how;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
