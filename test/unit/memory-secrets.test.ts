import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { NOTHING_STAGED } from '../../core/contract.js';
import { ConfigurationError, RotationStateError } from '../../core/errors.js';
import type { RotationLogger } from '../../core/log.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from '../../core/ports.js';
import { ROTATION_STEPS } from '../../core/rotation/event.js';
import { rotate } from '../../core/rotation/steps.js';
import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { InMemorySecrets } from '../../sim/memory-secrets.js';
import {
  clock,
  fakeKey,
  MASTER_API_KEY,
  RecordingKeyChecker,
  ScriptedPusher,
  StaticSiteList,
} from '../support/rotation-fixtures.js';
import { rejection } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'MemoryCurrent');
const NEXT = fakeKey('test', 'MemoryNext');
const OTHER = fakeKey('test', 'MemoryOther');

const silent: RotationLogger = { debug() {}, info() {}, warn() {}, error() {} };

function secretWithCurrent(value = CURRENT) {
  const secrets = new InMemorySecrets({ region: 'eu-west-3', accountId: '123456789012' });
  const arn = secrets.createSecret('stripe/secret-key', value);
  return { secrets, arn };
}

async function labels(secrets: InMemorySecrets, arn: string) {
  return (await secrets.describe(arn)).versionIdsToStages;
}

describe('InMemorySecrets, with Secrets Manager label semantics', () => {
  it('creates a secret whose first version is AWSCURRENT, addressable by ARN or name', async () => {
    const { secrets, arn } = secretWithCurrent();

    expect(arn).toMatch(
      /^arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe\/secret-key-[A-Za-z0-9_-]{6}$/,
    );
    const description = await secrets.describe('stripe/secret-key');
    expect(description.arn).toBe(arn);
    expect(description.rotationEnabled).toBe(false);
    expect(Object.values(description.versionIdsToStages)).toEqual([[AWSCURRENT]]);
    expect(await secrets.readCurrent(arn)).toBe(CURRENT);
    expect(await secrets.getValue('stripe/secret-key', { stage: AWSCURRENT })).toBe(CURRENT);
  });

  it('reads a secret without a value as undefined, and an unknown secret as a configuration error naming it', async () => {
    const secrets = new InMemorySecrets();
    const empty = secrets.createSecret('stripe/staged-key');

    expect(await secrets.readCurrent(empty)).toBeUndefined();
    const error = await rejection(secrets.readCurrent('stripe/no-such-secret'));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('Secret stripe/no-such-secret does not exist');
    expect(await rejection(secrets.describe('stripe/no-such-secret'))).toBeInstanceOf(RotationStateError);
  });

  it('PutSecretValue without stages makes a new AWSCURRENT and moves AWSPREVIOUS', async () => {
    const { secrets, arn } = secretWithCurrent();
    const first = Object.keys(await labels(secrets, arn))[0];

    const second = secrets.putCurrent(arn, NEXT);

    expect(await labels(secrets, arn)).toEqual({ [second]: [AWSCURRENT], [first ?? '']: [AWSPREVIOUS] });
    expect(await secrets.getValue(arn, { stage: AWSPREVIOUS })).toBe(CURRENT);
  });

  it('starts a rotation like RotateSecret: rotation enabled, an empty AWSPENDING placeholder under a new token', async () => {
    const { secrets, arn } = secretWithCurrent();

    const token = secrets.startRotation(arn);

    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    const description = await secrets.describe(arn);
    expect(description.rotationEnabled).toBe(true);
    expect(description.versionIdsToStages[token]).toEqual([AWSPENDING]);
    expect(await secrets.getValue(arn, { stage: AWSPENDING, versionId: token })).toBeUndefined();
    expect(secrets.versions(arn)[0]).toEqual({ versionId: token, stages: [AWSPENDING], hasValue: false });
  });

  it('refuses a new rotation while the previous one is incomplete, until its AWSPENDING label is removed', async () => {
    const { secrets, arn } = secretWithCurrent();
    const stuck = secrets.startRotation(arn);
    await secrets.putPending(arn, stuck, NEXT);

    const refused = await rejection(Promise.resolve().then(() => secrets.startRotation(arn)));
    expect(refused).toBeInstanceOf(RotationStateError);
    expect(refused.message).toContain('A previous rotation of');
    expect(refused.message).toContain(`isn't complete (AWSPENDING is on version ${stuck})`);

    secrets.updateVersionStage(arn, AWSPENDING, { removeFromVersionId: stuck });
    const next = secrets.startRotation(arn);
    expect((await labels(secrets, arn))[next]).toEqual([AWSPENDING]);
    expect(await secrets.getValue(arn, { stage: AWSCURRENT })).toBe(CURRENT);
  });

  it('fills the placeholder with putPending, replays it harmlessly, and refuses another value under the same token', async () => {
    const { secrets, arn } = secretWithCurrent();
    const token = secrets.startRotation(arn);

    await secrets.putPending(arn, token, NEXT);
    await secrets.putPending(arn, token, NEXT);
    const conflict = await rejection(secrets.putPending(arn, token, OTHER));

    expect(conflict).toBeInstanceOf(RotationStateError);
    expect(conflict.message).toContain('ResourceExistsException');
    expect(await secrets.getValue(arn, { stage: AWSPENDING, versionId: token })).toBe(NEXT);
    expect(secrets.versions(arn)).toHaveLength(2);
  });

  it('promotes with RemoveFromVersionId: AWSCURRENT moves, AWSPREVIOUS follows, AWSPENDING stays until cleared', async () => {
    const { secrets, arn } = secretWithCurrent();
    const original = Object.keys(await labels(secrets, arn))[0] ?? '';
    const first = secrets.startRotation(arn);
    await secrets.putPending(arn, first, NEXT);
    await secrets.promote(arn, first, original);

    expect(await labels(secrets, arn)).toEqual({
      [first]: [AWSPENDING, AWSCURRENT],
      [original]: [AWSPREVIOUS],
    });

    await secrets.clearPending(arn, first);

    expect(await labels(secrets, arn)).toEqual({ [first]: [AWSCURRENT], [original]: [AWSPREVIOUS] });

    const second = secrets.startRotation(arn);
    await secrets.putPending(arn, second, OTHER);
    await secrets.promote(arn, second, first);

    await secrets.clearPending(arn, second);

    // The original version lost its last label: deprecated, no longer listed.
    expect(await labels(secrets, arn)).toEqual({ [second]: [AWSCURRENT], [first]: [AWSPREVIOUS] });
    expect(await secrets.getValue(arn, { stage: AWSCURRENT })).toBe(OTHER);
    expect(await secrets.getValue(arn, { stage: AWSPREVIOUS })).toBe(NEXT);
  });

  it('refuses to clear AWSPENDING from a version that does not carry it, changing nothing', async () => {
    const { secrets, arn } = secretWithCurrent();
    const current = Object.keys(await labels(secrets, arn))[0] ?? '';
    const before = await labels(secrets, arn);

    const refusal = await rejection(secrets.clearPending(arn, current));

    expect(refusal.message).toContain('InvalidParameterException');
    expect(await labels(secrets, arn)).toEqual(before);
  });

  it('refuses to move AWSCURRENT without naming the version that holds it, changing nothing', async () => {
    const { secrets, arn } = secretWithCurrent();
    const token = secrets.startRotation(arn);
    await secrets.putPending(arn, token, NEXT);
    const before = await labels(secrets, arn);

    const wrongFrom = await rejection(secrets.promote(arn, token, token));
    const noFrom = await rejection(
      Promise.resolve().then(() => secrets.updateVersionStage(arn, AWSCURRENT, { moveToVersionId: token })),
    );

    expect(wrongFrom.message).toContain(`AWSCURRENT is not attached to version ${token}`);
    expect(noFrom.message).toContain("RemoveFromVersionId can't be empty");
    expect(await labels(secrets, arn)).toEqual(before);
  });

  it('answers undefined for a version asked for with a label it does not carry', async () => {
    const { secrets, arn } = secretWithCurrent();
    const token = secrets.startRotation(arn);
    await secrets.putPending(arn, token, NEXT);

    expect(await secrets.getValue(arn, { stage: AWSCURRENT, versionId: token })).toBeUndefined();
  });

  it('carries a whole rotation of the real core: AWSCURRENT moves only at finishSecret', async () => {
    const secrets = new InMemorySecrets();
    const arn = secrets.createSecret('stripe/secret-key', CURRENT);
    const staged = secrets.createSecret('stripe/staged-key', NEXT);
    const master = secrets.createSecret('stripe/master-api-key', MASTER_API_KEY);
    const pusher = new ScriptedPusher();
    const deps = {
      config: loadConfig({
        STAGED_SECRET_ARN: staged,
        MASTER_API_KEY_SECRET_ARN: master,
        SITES_PARAMETER: '/test/sites',
        LEDGER_TABLE: 'test-ledger',
        KEY_MODE: 'test',
      }),
      secrets,
      siteList: new StaticSiteList(['https://a.example', 'https://b.example']),
      keyChecker: new RecordingKeyChecker(),
      pusher,
      ledger: new InMemoryLedger(),
      logger: silent,
      metrics: { record() {} },
    };
    const token = secrets.startRotation(arn);

    for (const Step of ROTATION_STEPS) {
      expect(await secrets.getValue(arn, { stage: AWSCURRENT })).toBe(CURRENT);
      await rotate({ Step, SecretId: arn, ClientRequestToken: token }, deps, clock());
    }

    expect(await secrets.getValue(arn, { stage: AWSCURRENT })).toBe(NEXT);
    expect(await secrets.getValue(arn, { stage: AWSPREVIOUS })).toBe(CURRENT);
    expect(pusher.requests.map((request) => request.key)).toEqual([NEXT]);
    expect(await secrets.readCurrent(staged)).toBe(NOTHING_STAGED.placeholder);
  });
});
