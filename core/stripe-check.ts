/**
 * Read-only check of a key with Stripe, once per step (never per site: Stripe rate-limits per account).
 * Decisions rest on the HTTP status, not on the error `type`. Transient answers (429, 5xx, network) are
 * retried through the project's one retry primitive (`retry.ts`), Retry-After included.
 */
import { Agent, request } from 'node:https';
import type { RotatorConfig } from './config.js';
import { KeyRejectedError } from './errors.js';
import { parseRetryAfter, readCappedBody } from './http.js';
import type { RotationLogger } from './log.js';
import type { KeyChecker, RotationLedger } from './ports.js';
import {
  attemptsText,
  type BackoffPolicy,
  DEFAULT_MAX_RETRY_AFTER_MS,
  RETRY,
  type RetryAdvice,
  type RetryPolicy,
  retrying,
} from './retry.js';
import { describeKey, fingerprint, type KeyMode, STRIPE_SECRET_KEY_PATTERN } from './rules/keys.js';

/** Bound on each Stripe request, and on connecting to Stripe. */
const STRIPE_TIMEOUT_MS = 10_000;

/**
 * Stripe is called a few times per step: Node's keep-alive HTTPS Agent (the function and the CLI alike), whose
 * idle sockets never keep a process alive. `ca` replaces the default roots (tests, the demo's Stripe stand-in).
 */
export function createStripeAgent(options: { readonly ca?: string } = {}): Agent {
  // An idle socket is closed after 4 s, before Stripe or a frozen Lambda makes it stale.
  return new Agent({
    keepAlive: true,
    timeout: 4_000,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
}

export interface StripeKeyCheckerOptions {
  readonly apiBase: string;
  readonly agent: Agent;
  readonly logger: RotationLogger;
  /** Bound on each Stripe request. @default STRIPE_TIMEOUT_MS (10 s) */
  readonly timeoutMs?: number;
  /** Tries for a transient answer (429, 5xx, network). @default 3 */
  readonly attempts?: number;
  /** Delays between tries. @default { baseMs: 500, capMs: 4000 } */
  readonly backoff?: BackoffPolicy;
  /** A longer Retry-After ends the check at once instead of waiting. @default DEFAULT_MAX_RETRY_AFTER_MS */
  readonly maxRetryAfterMs?: number;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** Up to 0.5 s, then 1 s before the third try: the delays the check has always allowed, now jittered. */
const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 4000 };

/** One try at a GET: Stripe's answer, or why none arrived. */
type Try = { readonly answer: StripeAnswer } | { readonly failure: unknown };

interface StripeAnswer {
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
  /** Retry-After of the answer, in ms. */
  readonly retryAfterMs: number | undefined;
}

/** The answer to a key that Stripe refused; `undefined` means the key is usable. */
type Refusal = string | undefined;

export class StripeKeyChecker implements KeyChecker {
  private readonly timeoutMs: number;
  private readonly retryPolicy: RetryPolicy & { readonly maxRetryAfterMs: number };

  constructor(private readonly options: StripeKeyCheckerOptions) {
    this.timeoutMs = options.timeoutMs ?? STRIPE_TIMEOUT_MS;
    this.retryPolicy = {
      attempts: options.attempts ?? 3,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
      random: options.random ?? Math.random,
    };
  }

  async check(
    key: string,
    mode: KeyMode,
    referenceKey?: string,
    knownAccount?: string,
  ): Promise<string | undefined> {
    const shown = describeKey(key);
    const balance = await this.get('/v1/balance', key);
    const refusal = refusalOf(balance);
    if (refusal) throw new KeyRejectedError(`Stripe refused the new key ${shown}: ${refusal}`);
    const livemode = balance.body?.livemode;
    if (livemode !== (mode === 'live')) {
      throw new KeyRejectedError(
        `Stripe reports the new key ${shown} as ${livemode === true ? 'live' : livemode === false ? 'test' : 'of unknown mode'} but this deployment rotates ${mode} keys`,
      );
    }

    if (!referenceKey || referenceKey === key || !STRIPE_SECRET_KEY_PATTERN.test(referenceKey)) {
      // No current key to vouch (a first rotation from a placeholder): an account on record still binds.
      if (knownAccount !== undefined) return this.sameAccount(key, knownAccount);
      this.options.logger.warn(
        'Stripe account continuity not verified: no usable current key to compare with',
        {
          key: shown,
        },
      );
      return undefined;
    }
    const [next, current] = await settledBoth(
      this.get('/v1/account', key),
      this.get('/v1/account', referenceKey),
    );
    const nextRefusal = refusalOf(next);
    if (nextRefusal)
      throw new KeyRejectedError(`Stripe refused the new key ${shown} on /v1/account: ${nextRefusal}`);
    const nextAccount = next.body?.id;
    const currentRefusal = refusalOf(current);
    if (currentRefusal) {
      // The current key may have expired in Stripe (grace period over) or been revoked: rotating away from it
      // must stay possible, but never to a key of another account. Compare with the account on record.
      if (knownAccount !== undefined) return this.sameAccount(key, knownAccount, nextAccount);
      throw new KeyRejectedError(
        `Stripe refused the current key ${describeKey(referenceKey)} (${currentRefusal}), so it cannot vouch that the new key ${shown} ` +
          `belongs to the same Stripe account, and no account is on record for the current key. If ${String(nextAccount)} is the right ` +
          `account, set STRIPE_ACCOUNT=${String(nextAccount)} on the rotation function for this rotation, then retry.`,
      );
    }
    const currentAccount = current.body?.id;
    if (typeof nextAccount !== 'string' || nextAccount !== currentAccount) {
      throw new KeyRejectedError(
        `The new key ${shown} belongs to Stripe account ${String(nextAccount)}, not to the current key's account ${String(currentAccount)}`,
      );
    }
    this.options.logger.info('Stripe accepted the new key', { key: shown, account: nextAccount, livemode });
    return nextAccount;
  }

  /** The key's account (`known` when already read) must be `expected`: on record, or STRIPE_ACCOUNT. */
  private async sameAccount(key: string, expected: string, known?: unknown): Promise<string> {
    const shown = describeKey(key);
    let account = known;
    if (account === undefined) {
      const answer = await this.get('/v1/account', key);
      const refusal = refusalOf(answer);
      if (refusal)
        throw new KeyRejectedError(`Stripe refused the new key ${shown} on /v1/account: ${refusal}`);
      account = answer.body?.id;
    }
    if (typeof account !== 'string' || account !== expected) {
      throw new KeyRejectedError(
        `The new key ${shown} belongs to Stripe account ${String(account)}, not to ${expected}, the account on record for the current key (or STRIPE_ACCOUNT)`,
      );
    }
    this.options.logger.info('Stripe accepted the new key', {
      key: shown,
      account,
      expectedAccount: expected,
    });
    return account;
  }

  private async get(path: string, key: string): Promise<StripeAnswer> {
    const { last, attempts, stop, retryAfterMs } = await retrying(
      this.retryPolicy,
      () =>
        this.getOnce(path, key).then(
          (answer): Try => ({ answer }),
          (failure: unknown): Try => ({ failure }),
        ),
      transientTry,
    );
    if ('answer' in last && stop === 'final') return last.answer;
    const failure =
      'answer' in last ? new Error(`Stripe answered ${last.answer.status} on ${path}`) : last.failure;
    const unreachable = `Stripe could not be reached for the key check (${attemptsText(attempts)} on ${path})`;
    throw new Error(
      stop === 'retry_after'
        ? `${unreachable}: it asked to retry after ${retryAfterMs} ms, more than the ${this.retryPolicy.maxRetryAfterMs} ms limit`
        : unreachable,
      { cause: failure },
    );
  }

  /** One GET, bounded as a whole (connect, TLS, headers, body) by `timeoutMs`; a failure rejects. */
  private getOnce(path: string, key: string): Promise<StripeAnswer> {
    return new Promise<StripeAnswer>((resolve, reject) => {
      const call = request(`${this.options.apiBase}${path}`, {
        method: 'GET',
        agent: this.options.agent,
        headers: { authorization: `Bearer ${key}`, 'user-agent': 'stripe-key-rotator' },
      });
      const timer = setTimeout(() => {
        call.destroy(
          Object.assign(new Error(`no answer from Stripe within ${this.timeoutMs} ms`), {
            code: 'ETIMEDOUT',
          }),
        );
      }, this.timeoutMs);
      call.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      call.on('response', (response) => {
        readCappedBody(response).then(
          ({ text }) => {
            clearTimeout(timer);
            resolve(stripeAnswer(response.statusCode ?? 0, text, response.headers['retry-after']));
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      });
      call.end();
    });
  }
}

/**
 * Both results, once both calls are over: unlike `Promise.all`, nothing is left running (retrying, sleeping,
 * sending the key again) after the check has thrown and the caller has destroyed its agent.
 */
async function settledBoth<A, B>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return [a.value, b.value];
}

function stripeAnswer(status: number, text: string, retryAfter: string | undefined): StripeAnswer {
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    body = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    body = undefined;
  }
  return { status, body, retryAfterMs: parseRetryAfter(retryAfter) };
}

/** Rotations looked at for the account on record of the current key. */
const ACCOUNT_HISTORY_LIMIT = 25;

/**
 * The Stripe account the current key is known to belong to: STRIPE_ACCOUNT when the operator set it
 * (deliberately, e.g. after Stripe stopped accepting the current key), else the account Stripe reported
 * when the rotation that introduced the current key verified it (its ledger record). Never a secret.
 */
export async function expectedStripeAccount(
  { stripeAccount }: Pick<RotatorConfig, 'stripeAccount'>,
  ledger: Pick<RotationLedger, 'history'>,
  secretArn: string,
  currentKey: string | undefined,
): Promise<string | undefined> {
  if (stripeAccount !== undefined) return stripeAccount;
  if (currentKey === undefined) return undefined;
  const currentFingerprint = fingerprint(currentKey);
  const records = await ledger.history(secretArn, ACCOUNT_HISTORY_LIMIT);
  return records.find((record) => record.keyFingerprint === currentFingerprint && record.stripeAccount)
    ?.stripeAccount;
}

/** 429, 5xx and failures to get an answer are worth another try, Retry-After included; any other answer is final. */
function transientTry(attempt: Try): RetryAdvice | undefined {
  if (!('answer' in attempt)) return RETRY;
  const { answer } = attempt;
  return answer.status === 429 || answer.status >= 500 ? answer : undefined;
}

function refusalOf(answer: StripeAnswer): Refusal {
  if (answer.status === 200) return undefined;
  const error = answer.body?.error;
  const code =
    typeof error === 'object' && error !== null ? (error as Record<string, unknown>).code : undefined;
  if (answer.status === 401) {
    return code === 'api_key_expired'
      ? 'the key has expired (401 api_key_expired)'
      : 'the key is revoked, expired or mistyped (401)';
  }
  if (answer.status === 403) return 'the key lacks permission (403): a restricted key cannot be rotated in';
  return `unexpected answer ${answer.status}`;
}
