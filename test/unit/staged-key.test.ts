import { describe, expect, it } from 'vitest';
import { fingerprint, maskKey } from '../../core/rules/keys.js';
import {
  type StagedKeyContext,
  type StagedKeyVerdict,
  stagedKeyVerdict,
} from '../../core/rules/staged-key.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { InMemorySecrets } from '../../sim/memory-secrets.js';
import { fakeKey, RecordingKeyChecker } from '../support/rotation-fixtures.js';
import { rejection, secret } from '../support/secret-guard.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/secret-key-AbCdEf';
const STAGED_ID = 'stripe/staged-key';
const CURRENT = fakeKey('test', 'VerdictCurrent');
const PREVIOUS = fakeKey('test', 'VerdictPrevious');
const NEXT = fakeKey('test', 'VerdictNext');
const LIVE = fakeKey('live', 'VerdictLive');
const PLACEHOLDER = secret('generated-placeholder-Hq2vW8kPz4');

function context(overrides: Partial<StagedKeyContext> = {}): StagedKeyContext {
  return {
    secretArn: ARN,
    stagedSecretId: STAGED_ID,
    keyMode: 'test',
    current: CURRENT,
    previous: PREVIOUS,
    ledger: new InMemoryLedger(),
    ...overrides,
  };
}

/** A ledger in which `key` was rotated in by a finished rotation. */
async function ledgerWhereServed(key: string, outcome: 'finished' | 'failed' = 'finished') {
  const ledger = new InMemoryLedger({ now: () => new Date('2025-03-01T10:00:00Z') });
  const id = { secretArn: ARN, token: '11111111-2222-4333-8444-555555555555' };
  await ledger.begin({
    ...id,
    trigger: 'staged',
    maskedKey: maskKey(key),
    keyFingerprint: fingerprint(key),
    sites: ['https://a.example'],
    sources: ['/test/sites'],
  });
  await ledger.update(id, {
    outcome,
    ...(outcome === 'finished' ? { finishedAt: '2025-03-01T10:05:00Z' } : {}),
  });
  return ledger;
}

/** The operator sentence of a refused verdict. */
function refusal(verdict: StagedKeyVerdict): string {
  if (verdict.accepted) throw new Error(`expected a refusal, got ${JSON.stringify(verdict)}`);
  return verdict.message;
}

/** Every verdict must be safe to print: no key in any field. */
function expectNoKey(verdict: unknown): void {
  const text = JSON.stringify(verdict);
  for (const key of [CURRENT, PREVIOUS, NEXT, LIVE, PLACEHOLDER]) expect(text).not.toContain(key);
}

describe('the staged key verdict, for a new key', () => {
  it('accepts a well-formed key of the deployment mode that was never in service, as a staged rotation', async () => {
    const verdict = await stagedKeyVerdict(NEXT, context());
    expect(verdict).toEqual({ accepted: true, staged: 'new', trigger: 'staged' });
  });

  it('refuses a malformed value, naming the staged key secret and never the value', async () => {
    const malformed = secret('sk_test_has-dashes-and-more-Abc123');
    const verdict = await stagedKeyVerdict(malformed, context());
    expect(verdict).toMatchObject({ accepted: false, staged: 'new', reason: 'malformed' });
    expect(refusal(verdict)).toMatch(new RegExp(`^The staged key in ${STAGED_ID} does not match`));
    expectNoKey(verdict);
  });

  it('refuses a truncated key as push does: one verdict for the rotation, stage, plan and push', async () => {
    const verdict = await stagedKeyVerdict(secret('sk_test_short'), context());
    expect(verdict).toMatchObject({ accepted: false, staged: 'new', reason: 'malformed' });
    expect(refusal(verdict)).toContain('looks truncated: 5 characters after the prefix');
    expectNoKey(verdict);
  });

  it('calls a truncated key malformed, not of the wrong mode, when KEY_MODE is not known', async () => {
    const verdict = await stagedKeyVerdict(secret('sk_live_short'), context({ keyMode: undefined }));
    expect(verdict).toMatchObject({ accepted: false, staged: 'new', reason: 'malformed' });
  });

  it('refuses a restricted key as malformed', async () => {
    const verdict = await stagedKeyVerdict(secret('rk_test_51RestrictedKeyAbcdefghijklmnop'), context());
    expect(verdict).toMatchObject({ accepted: false, reason: 'malformed' });
    expect(refusal(verdict)).toContain('restricted or publishable key');
  });

  it('refuses a key of the other mode than KEY_MODE', async () => {
    const verdict = await stagedKeyVerdict(LIVE, context());
    expect(verdict).toMatchObject({ accepted: false, reason: 'wrong_mode' });
    expect(refusal(verdict)).toContain('is a live key but this deployment rotates test keys (KEY_MODE=test)');
  });

  it('refuses a key of the other mode than the key in service, even when KEY_MODE agrees with the key', async () => {
    const verdict = await stagedKeyVerdict(LIVE, context({ keyMode: 'live' }));
    expect(verdict).toMatchObject({ accepted: false, staged: 'new', reason: 'wrong_mode' });
    expect(refusal(verdict)).toContain(
      `is a live key but the key in service (AWSCURRENT of ${ARN}) is a test key: a rotation never switches between test and live mode.`,
    );
  });

  it('checks the mode of the key in service when KEY_MODE is not known', async () => {
    const verdict = await stagedKeyVerdict(LIVE, context({ keyMode: undefined }));
    expect(verdict).toMatchObject({ accepted: false, reason: 'wrong_mode' });
  });

  it('accepts a key of either mode when the current value is a placeholder and KEY_MODE matches', async () => {
    const verdict = await stagedKeyVerdict(LIVE, context({ keyMode: 'live', current: PLACEHOLDER }));
    expect(verdict).toEqual({ accepted: true, staged: 'new', trigger: 'staged' });
  });

  it('compares with AWSCURRENT, not AWSPREVIOUS: a previous key of the other mode does not matter', async () => {
    const verdict = await stagedKeyVerdict(NEXT, context({ previous: fakeKey('live', 'OldLive') }));
    expect(verdict.accepted).toBe(true);
  });

  it('refuses the previous key (AWSPREVIOUS), showing it only masked', async () => {
    const verdict = await stagedKeyVerdict(PREVIOUS, context());
    expect(verdict).toMatchObject({ accepted: false, staged: 'new', reason: 'previous_key' });
    expect(refusal(verdict)).toContain(
      ': a rotation must move forward. Roll a new key in the Stripe Dashboard.',
    );
    expect(refusal(verdict)).toContain(
      `The staged key ${maskKey(PREVIOUS)} (fp ${fingerprint(PREVIOUS)}) is the previous key (AWSPREVIOUS) of ${ARN}`,
    );
    expectNoKey(verdict);
  });

  it('refuses a key a finished rotation already put in service, naming that rotation', async () => {
    const verdict = await stagedKeyVerdict(NEXT, context({ ledger: await ledgerWhereServed(NEXT) }));
    expect(verdict).toMatchObject({ accepted: false, reason: 'already_in_service' });
    expect(refusal(verdict)).toContain(
      'was already in service (rotation 11111111-2222-4333-8444-555555555555, finished 2025-03-01T10:05:00Z)',
    );
    expectNoKey(verdict);
  });

  it('accepts a key whose only earlier rotation did not finish: it never was in service', async () => {
    const verdict = await stagedKeyVerdict(
      NEXT,
      context({ ledger: await ledgerWhereServed(NEXT, 'failed') }),
    );
    expect(verdict.accepted).toBe(true);
  });

  it('does not apply the ledger rule without a ledger (status without a ledger table)', async () => {
    const verdict = await stagedKeyVerdict(NEXT, context({ ledger: undefined }));
    expect(verdict.accepted).toBe(true);
  });

  it('words the sentences for a key about to be staged when the origin is the operator input', async () => {
    const wrongMode = await stagedKeyVerdict(LIVE, context({ origin: 'input' }));
    const previous = await stagedKeyVerdict(PREVIOUS, context({ origin: 'input' }));
    expect(refusal(wrongMode)).toMatch(/^The key is a live key but/);
    expect(refusal(previous)).toMatch(
      new RegExp(`^The key ${maskKey(PREVIOUS)} \\(fp [0-9a-f]{12}\\) is the previous key`),
    );
  });
});

describe('the staged key verdict, with the Stripe check', () => {
  it('asks Stripe about a new key last, with its mode and the key in service as reference', async () => {
    const checker = new RecordingKeyChecker();
    const verdict = await stagedKeyVerdict(NEXT, context({ keyChecker: checker }));
    expect(verdict.accepted).toBe(true);
    expect(checker.calls).toEqual([{ key: NEXT, mode: 'test', referenceKey: CURRENT }]);
  });

  it('turns a refusal by Stripe into a refused verdict with Stripe’s sentence', async () => {
    const checker = new RecordingKeyChecker();
    checker.refuse = 'Stripe refused the new key sk_test_… (401)';
    const verdict = await stagedKeyVerdict(NEXT, context({ keyChecker: checker }));
    expect(verdict).toEqual({
      accepted: false,
      staged: 'new',
      reason: 'stripe_refused',
      message: 'Stripe refused the new key sk_test_… (401)',
    });
  });

  it('throws when Stripe cannot be reached: no verdict can be given', async () => {
    const unreachable = {
      check: async () => {
        throw new Error('Stripe could not be reached for the key check (3 attempts on /v1/balance)');
      },
    };
    const error = await rejection(stagedKeyVerdict(NEXT, context({ keyChecker: unreachable })));
    expect(error.message).toContain('could not be reached');
  });

  it('does not call Stripe for a key another rule refuses, nor for a re-propagation', async () => {
    const checker = new RecordingKeyChecker();
    await stagedKeyVerdict(PREVIOUS, context({ keyChecker: checker }));
    await stagedKeyVerdict(NEXT, context({ keyChecker: checker, ledger: await ledgerWhereServed(NEXT) }));
    await stagedKeyVerdict('none', context({ keyChecker: checker }));
    expect(checker.calls).toHaveLength(0);
  });
});

describe('the staged key verdict, when nothing new is staged', () => {
  for (const [label, value, staged] of [
    ['empty', '', 'nothing'],
    ['the placeholder "none"', 'none', 'nothing'],
    ['the placeholder "NONE"', 'NONE', 'nothing'],
    ['the current key', CURRENT, 'current'],
  ] as const) {
    it(`re-propagates the current key when the staged value is ${label}`, async () => {
      const verdict = await stagedKeyVerdict(value, context());
      expect(verdict).toEqual({ accepted: true, staged, trigger: 'repropagation' });
    });
  }

  it('refuses with WHEN_NOTHING_STAGED=fail, saying why nothing new is staged', async () => {
    const empty = await stagedKeyVerdict('none', context({ whenNothingStaged: 'fail' }));
    const same = await stagedKeyVerdict(CURRENT, context({ whenNothingStaged: 'fail' }));
    expect(empty).toEqual({
      accepted: false,
      staged: 'nothing',
      reason: 'nothing_staged',
      message: `Nothing new is staged in ${STAGED_ID} (it holds none: nothing staged) and WHEN_NOTHING_STAGED=fail.`,
    });
    expect(await stagedKeyVerdict(' ', context({ whenNothingStaged: 'fail' }))).toMatchObject({
      message: `Nothing new is staged in ${STAGED_ID} (it is empty) and WHEN_NOTHING_STAGED=fail.`,
    });
    expect(same).toMatchObject({ staged: 'current', reason: 'nothing_staged' });
    expect(refusal(same)).toContain('(it holds the current key)');
    expectNoKey(same);
  });

  it('refuses to re-propagate a current value that is not a key (the deploy-time placeholder)', async () => {
    const verdict = await stagedKeyVerdict('none', context({ current: PLACEHOLDER }));
    expect(verdict).toMatchObject({ accepted: false, staged: 'nothing', reason: 'current_unusable' });
    expect(refusal(verdict)).toContain('the current value cannot be re-propagated');
    expectNoKey(verdict);
  });

  it('refuses to re-propagate a current key of the other mode than KEY_MODE', async () => {
    const verdict = await stagedKeyVerdict('none', context({ keyMode: 'live' }));
    expect(verdict).toMatchObject({ accepted: false, reason: 'current_unusable' });
    expect(refusal(verdict)).toContain('is a test key but this deployment rotates live keys');
  });

  it('refuses to re-propagate when the rotated secret holds no value', async () => {
    const verdict = await stagedKeyVerdict('none', context({ current: undefined }));
    expect(verdict).toMatchObject({ accepted: false, reason: 'current_unusable' });
    expect(refusal(verdict)).toContain('it is missing');
  });
});

describe('a key the rotated secret held before, whatever the ledger says', () => {
  /** The secret after two rotations the ledger never saw: OLDEST deprecated, PREVIOUS, then CURRENT. */
  function secretWithHistory(oldest: string) {
    const secrets = new InMemorySecrets();
    const arn = secrets.createSecret('stripe/secret-key', oldest);
    secrets.putCurrent(arn, PREVIOUS);
    secrets.putCurrent(arn, CURRENT);
    return { secrets, arn };
  }

  it('refuses a key held by a deprecated version, naming the version and never the key', async () => {
    const oldest = fakeKey('test', 'VerdictBeforeTheLedger');
    const { secrets, arn } = secretWithHistory(oldest);
    const [, , deprecated] = secrets.versions(arn);

    const verdict = await stagedKeyVerdict(oldest, context({ secretArn: arn, versions: secrets }));

    expect(verdict).toMatchObject({ accepted: false, staged: 'new', reason: 'already_in_service' });
    expect(refusal(verdict)).toContain(`was already in service (version ${deprecated?.versionId} of ${arn}`);
    expectNoKey(verdict);
  });

  it('refuses a key a version held with surrounding whitespace (a pasted newline), as createSecret took it', async () => {
    const oldest = fakeKey('test', 'VerdictPastedOnce');
    const { secrets, arn } = secretWithHistory(`${oldest}\n`);

    const verdict = await stagedKeyVerdict(oldest, context({ secretArn: arn, versions: secrets }));

    expect(verdict).toMatchObject({ accepted: false, reason: 'already_in_service' });
  });

  it('dates the version that held the key when Secrets Manager tells its creation date', async () => {
    const versions = {
      findVersion: async () => ({ versionId: 'v-old', createdDate: new Date('2024-05-06T07:08:09Z') }),
    };

    const dated = await stagedKeyVerdict(NEXT, context({ versions }));
    const undated = await stagedKeyVerdict(
      NEXT,
      context({ versions: { findVersion: async () => ({ versionId: 'v-old', createdDate: undefined }) } }),
    );

    expect(refusal(dated)).toContain(
      `(version v-old of ${ARN}, created 2024-05-06T07:08:09.000Z): a rotation must move forward. Roll a new key`,
    );
    expect(refusal(undated)).toContain(
      `(version v-old of ${ARN}): a rotation must move forward. Roll a new key`,
    );
  });

  it('accepts a key no version held, and ignores the version of the rotation under way', async () => {
    const { secrets, arn } = secretWithHistory(fakeKey('test', 'VerdictOldest'));
    const token = secrets.startRotation(arn);
    await secrets.putPending(arn, token, NEXT);

    const verdict = await stagedKeyVerdict(NEXT, context({ secretArn: arn, versions: secrets }));

    expect(verdict).toEqual({ accepted: true, staged: 'new', trigger: 'staged' });
  });
});
