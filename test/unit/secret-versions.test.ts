import { describe, expect, it } from 'vitest';
import { RotationStateError } from '../../core/errors.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from '../../core/ports.js';
import { SecretsManagerRefusal, SecretVersions } from '../../sim/secret-versions.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/secret-key-AbCdEf';
const V1 = '11111111-1111-4111-8111-111111111111';
const V2 = '22222222-2222-4222-8222-222222222222';
const V3 = '33333333-3333-4333-8333-333333333333';

/** A secret whose AWSCURRENT (version V1) holds "first". */
function secret(): SecretVersions {
  const versions = new SecretVersions(ARN);
  versions.put(V1, 'first');
  return versions;
}

/** The refusal an operation throws, for assertions on its AWS exception and message. */
function refusalOf(operation: () => void): SecretsManagerRefusal {
  try {
    operation();
  } catch (error) {
    if (error instanceof SecretsManagerRefusal) return error;
    throw error;
  }
  throw new Error('expected the operation to be refused');
}

describe('SecretVersions: PutSecretValue', () => {
  it('labels a value AWSCURRENT by default, and moves AWSPREVIOUS to the version AWSCURRENT leaves', () => {
    const versions = secret();

    versions.put(V2, 'second');
    versions.put(V3, 'third');

    expect(versions.stagesByVersion()).toEqual({ [V3]: [AWSCURRENT], [V2]: [AWSPREVIOUS] });
    expect(versions.read()?.value).toBe('third');
    expect(versions.read({ stage: AWSPREVIOUS })?.value).toBe('second');
  });

  it('moves the labels it is given from wherever they were, without touching AWSCURRENT', () => {
    const versions = secret();
    versions.put(V2, 'pending', [AWSPENDING]);

    versions.put(V3, 'other pending', [AWSPENDING]);

    expect(versions.stagesByVersion()).toEqual({ [V1]: [AWSCURRENT], [V3]: [AWSPENDING] });
  });

  it('replays the same value under the same token as a no-op', () => {
    const versions = secret();
    versions.put(V2, 'pending', [AWSPENDING]);

    versions.put(V2, 'pending', [AWSPENDING]);

    expect(versions.list()).toHaveLength(2);
    expect(versions.read({ versionId: V2 })?.value).toBe('pending');
  });

  it('refuses another value under a token that already holds one (ResourceExistsException)', () => {
    const versions = secret();
    versions.put(V2, 'pending', [AWSPENDING]);

    const refusal = refusalOf(() => versions.put(V2, 'something else', [AWSPENDING]));

    expect(refusal.exception).toBe('ResourceExistsException');
    expect(refusal.message).toBe(
      `Version ${V2} of ${ARN} already holds a different value (ResourceExistsException)`,
    );
    expect(versions.read({ versionId: V2 })?.value).toBe('pending');
  });

  it('refuses a token that is not a version id, and its refusals are RotationStateErrors', () => {
    const refusal = refusalOf(() => secret().put('short', 'value'));

    expect(refusal.exception).toBe('InvalidParameterException');
    expect(refusal).toBeInstanceOf(RotationStateError);
  });
});

describe('SecretVersions: RotateSecret', () => {
  it('enables rotation and creates an empty AWSPENDING placeholder, which a put then fills', () => {
    const versions = secret();

    versions.startRotation(V2);

    expect(versions.rotationEnabled).toBe(true);
    expect(versions.stagesByVersion()[V2]).toEqual([AWSPENDING]);
    expect(versions.read({ versionId: V2, stage: AWSPENDING })).toBeUndefined();
    expect(versions.list()[0]).toEqual({ versionId: V2, stages: [AWSPENDING], hasValue: false });

    versions.put(V2, 'next', [AWSPENDING]);
    expect(versions.read({ versionId: V2, stage: AWSPENDING })?.value).toBe('next');
  });

  it('refuses a new rotation while AWSPENDING labels another version than AWSCURRENT (InvalidRequestException)', () => {
    const versions = secret();
    versions.startRotation(V2);

    const refusal = refusalOf(() => versions.startRotation(V3));

    expect(refusal.exception).toBe('InvalidRequestException');
    expect(refusal.message).toContain(`isn't complete (AWSPENDING is on version ${V2})`);
  });

  it('starts the next rotation once the last one finished, taking AWSPENDING off the current version', () => {
    const versions = secret();
    versions.startRotation(V2);
    versions.put(V2, 'next', [AWSPENDING]);
    versions.moveStage(AWSCURRENT, { moveToVersionId: V2, removeFromVersionId: V1 });

    versions.startRotation(V3);

    expect(versions.stagesByVersion()).toEqual({
      [V3]: [AWSPENDING],
      [V2]: [AWSCURRENT],
      [V1]: [AWSPREVIOUS],
    });
  });

  it('refuses to rotate a secret without an AWSCURRENT version', () => {
    const refusal = refusalOf(() => new SecretVersions(ARN).startRotation(V1));
    expect(refusal.exception).toBe('InvalidRequestException');
    expect(refusal.message).toContain('has no AWSCURRENT version to rotate from');
  });
});

describe('SecretVersions: UpdateSecretVersionStage', () => {
  function pendingRotation(): SecretVersions {
    const versions = secret();
    versions.startRotation(V2);
    versions.put(V2, 'next', [AWSPENDING]);
    return versions;
  }

  it('moves AWSCURRENT with RemoveFromVersionId, AWSPREVIOUS following to the version it left', () => {
    const versions = pendingRotation();

    versions.moveStage(AWSCURRENT, { moveToVersionId: V2, removeFromVersionId: V1 });

    expect(versions.stagesByVersion()).toEqual({ [V2]: [AWSPENDING, AWSCURRENT], [V1]: [AWSPREVIOUS] });
  });

  it('removes AWSPENDING from the new current version with RemoveFromVersionId alone', () => {
    const versions = pendingRotation();
    versions.moveStage(AWSCURRENT, { moveToVersionId: V2, removeFromVersionId: V1 });

    versions.moveStage(AWSPENDING, { removeFromVersionId: V2 });

    expect(versions.stagesByVersion()).toEqual({ [V2]: [AWSCURRENT], [V1]: [AWSPREVIOUS] });
  });

  it('refuses to move a label attached elsewhere without naming that version (InvalidParameterException)', () => {
    const versions = pendingRotation();
    const before = versions.stagesByVersion();

    const refusal = refusalOf(() => versions.moveStage(AWSCURRENT, { moveToVersionId: V2 }));

    expect(refusal.exception).toBe('InvalidParameterException');
    expect(refusal.message).toContain("RemoveFromVersionId can't be empty");
    expect(versions.stagesByVersion()).toEqual(before);
  });

  it('refuses a RemoveFromVersionId that does not carry the label', () => {
    const versions = pendingRotation();

    const refusal = refusalOf(() =>
      versions.moveStage(AWSCURRENT, { moveToVersionId: V2, removeFromVersionId: V2 }),
    );

    expect(refusal.exception).toBe('InvalidParameterException');
    expect(refusal.message).toContain(
      `AWSCURRENT is not attached to version ${V2} of ${ARN} (it is on ${V1})`,
    );
  });

  it('refuses to move a label to a version that does not exist (ResourceNotFoundException)', () => {
    const refusal = refusalOf(() =>
      pendingRotation().moveStage(AWSCURRENT, { moveToVersionId: V3, removeFromVersionId: V1 }),
    );
    expect(refusal.exception).toBe('ResourceNotFoundException');
  });

  it('removes a label with RemoveFromVersionId alone: how a stuck rotation is cleared', () => {
    const versions = pendingRotation();

    versions.moveStage(AWSPENDING, { removeFromVersionId: V2 });

    expect(versions.stagesByVersion()).toEqual({ [V1]: [AWSCURRENT] });
    expect(versions.list().map((v) => v.versionId)).toEqual([V2, V1]);
  });

  it('refuses a move that names no version at all', () => {
    expect(refusalOf(() => secret().moveStage(AWSPENDING, {})).exception).toBe('InvalidParameterException');
  });
});

describe('SecretVersions: GetSecretValue and DescribeSecret', () => {
  it('reads AWSCURRENT by default, a version by id, and requires a requested label to be on it', () => {
    const versions = secret();
    versions.put(V2, 'pending', [AWSPENDING]);

    expect(versions.read()).toEqual({ versionId: V1, value: 'first', stages: [AWSCURRENT] });
    expect(versions.read({ versionId: V2 })?.value).toBe('pending');
    expect(versions.read({ versionId: V2, stage: AWSCURRENT })).toBeUndefined();
    expect(versions.read({ stage: AWSPREVIOUS })).toBeUndefined();
  });

  it('lists only labelled versions in DescribeSecret: a version without a label is deprecated', () => {
    const versions = secret();
    versions.put(V2, 'second');
    versions.put(V3, 'third');

    expect(Object.keys(versions.stagesByVersion())).toEqual([V2, V3]);
    expect(versions.list().map((v) => [v.versionId, v.stages])).toEqual([
      [V3, [AWSCURRENT]],
      [V2, [AWSPREVIOUS]],
      [V1, []],
    ]);
  });
});
