import { describe, expect, it } from 'vitest';
import { RotationStateError } from '../../core/errors.js';
import { parseRotationEvent } from '../../core/rotation/event.js';
import { observeError, secret } from '../support/secret-guard.js';

const VALID = {
  Step: 'createSecret',
  SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe-AbCdEf',
  ClientRequestToken: 'c2b6f3e0-3a9e-4e52-9a8f-0a1b2c3d4e5f',
};

function parseError(input: unknown): RotationStateError {
  try {
    parseRotationEvent(input);
  } catch (error) {
    observeError(error);
    if (error instanceof RotationStateError) return error;
    throw error;
  }
  throw new Error('expected a parse error');
}

describe('the rotation event', () => {
  it('accepts the four fields and ignores extra ones', () => {
    const rotationToken = secret('opaque-rotation-token-value-123');
    expect(parseRotationEvent({ ...VALID, RotationToken: rotationToken, Extra: 1 })).toEqual({
      ...VALID,
      RotationToken: rotationToken,
    });
  });

  it('accepts each of the four steps', () => {
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      expect(parseRotationEvent({ ...VALID, Step }).Step).toBe(Step);
    }
  });

  it('rejects an unknown step, naming it and the valid ones', () => {
    expect(parseError({ ...VALID, Step: 'CreateSecret' }).message).toContain(
      'Step "CreateSecret": expected one of createSecret, setSecret, testSecret, finishSecret',
    );
  });

  it('rejects a missing SecretId and a malformed token together', () => {
    const message = parseError({ Step: 'setSecret', ClientRequestToken: 'short' }).message;
    expect(message).toContain('SecretId is missing');
    expect(message).toContain('ClientRequestToken is missing or not a version id');
  });

  it('rejects a non-object event', () => {
    expect(parseError('createSecret').message).toContain('expected an object');
  });

  it('never echoes a RotationToken of the wrong type', () => {
    const error = parseError({ ...VALID, RotationToken: 42 });
    expect(error.message).toContain('RotationToken must be a string');
    expect(error.message).not.toContain('42');
  });
});
