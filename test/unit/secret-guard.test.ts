import { describe, expect, it } from 'vitest';
import { forgetCaptured, leakedSecrets, observeError, secret } from '../support/secret-guard.js';

describe('the suite-wide secret leak guard', () => {
  it('detects a registered secret written to stdout', () => {
    const value = secret('sk_test_GuardSelfTestStdout0001');
    process.stdout.write(`{"message":"oops","key":"${value}"}\n`);
    expect(leakedSecrets()).toContain(value);
    forgetCaptured();
    expect(leakedSecrets()).toEqual([]);
  });

  it('detects a registered secret anywhere in an error cause chain', () => {
    const value = secret('guard-self-test-master-key');
    observeError(new Error('outer', { cause: new Error(`inner ${value}`) }));
    expect(leakedSecrets()).toContain(value);
    forgetCaptured();
  });
});
