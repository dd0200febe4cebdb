/**
 * The account continuity check fails closed: whatever way the `/v1/account` call of either key fails —
 * refused, reset, silent, an outage, an answer that is not an account — the check rejects, and no key
 * passes for lack of an answer. `/v1/balance` succeeds throughout, so only the account step is at stake.
 */

import type { Agent } from 'node:https';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripeAgent, StripeKeyChecker } from '../../core/index.js';
import { createTestCa } from '../../sim/tls.js';
import { fakeKey } from '../support/rotation-fixtures.js';
import { rejection } from '../support/secret-guard.js';

const CURRENT = fakeKey('live', 'FailsClosedCurrent');
const NEXT = fakeKey('live', 'FailsClosedNext');

type AccountFault = 'reset' | 'silent' | 'outage' | 'not_json' | 'no_id';

/** Which key's account call fails, and how; the other key's answers acct_1Same. */
let fault: { key: string; how: AccountFault } | undefined;
let server: Server;
let agent: Agent;
let apiBase: string;

beforeAll(async () => {
  const ca = await createTestCa();
  server = createServer(await ca.issue({ ips: ['127.0.0.1'] }), (req, res) => {
    const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const answer = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (req.url === '/v1/balance') return answer(200, JSON.stringify({ object: 'balance', livemode: true }));
    if (fault?.key !== key) return answer(200, JSON.stringify({ object: 'account', id: 'acct_1Same' }));
    switch (fault.how) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'silent':
        return;
      case 'outage':
        return answer(503, JSON.stringify({ error: { message: 'unavailable' } }));
      case 'not_json':
        return answer(200, '<html>maintenance</html>');
      case 'no_id':
        return answer(200, JSON.stringify({ object: 'account' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiBase = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent = createStripeAgent({ ca: ca.certPem });
});

afterAll(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function checker(): StripeKeyChecker {
  return new StripeKeyChecker({
    apiBase,
    agent,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    timeoutMs: 300,
    attempts: 2,
    backoff: { baseMs: 5, capMs: 10 },
  });
}

const FAULTS: readonly AccountFault[] = ['reset', 'silent', 'outage', 'not_json', 'no_id'];

describe('the Stripe account check, when the account call fails', () => {
  it('passes when both keys answer with the same account (the baseline the faults break)', async () => {
    fault = undefined;
    await expect(checker().check(NEXT, 'live', CURRENT)).resolves.toBe('acct_1Same');
  });

  for (const [whose, key] of [
    ['the new key', NEXT],
    ['the current key', CURRENT],
  ] as const) {
    it.for(FAULTS)(`rejects when the account call of ${whose} fails: %s`, async (how) => {
      fault = { key, how };
      const error = await rejection(checker().check(NEXT, 'live', CURRENT));
      expect(error).toBeInstanceOf(Error);
      expect(error.message).not.toContain(key);
    });
  }

  it.for(FAULTS)('rejects when the account on record cannot be read for the new key: %s', async (how) => {
    fault = { key: NEXT, how };
    const error = await rejection(checker().check(NEXT, 'live', undefined, 'acct_1Same'));
    expect(error).toBeInstanceOf(Error);
  });
});
