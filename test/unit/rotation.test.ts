import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { NOTHING_STAGED } from '../../core/contract.js';
import {
  ConfigurationError,
  KeyRejectedError,
  PropagationError,
  RotationStateError,
} from '../../core/errors.js';
import type { RotationEvent, RotationStep } from '../../core/rotation/event.js';
import { rotate } from '../../core/rotation/steps.js';
import { fingerprint } from '../../core/rules/keys.js';
import {
  clock,
  fakeKey,
  MASTER_API_KEY,
  type RotationWorld,
  rotationWorld,
} from '../support/rotation-fixtures.js';
import { capturedText, rejection, secret } from '../support/secret-guard.js';

const CURRENT = fakeKey('test', 'Current');
const NEXT = fakeKey('test', 'Next');
const PREVIOUS = fakeKey('test', 'Previous');
/** A site that expects another master API key. */
const REFUSED_MASTER_KEY = {
  outcome: 'invalid_api_key',
  httpStatus: 401,
  detail: 'answered 401 invalid_api_key',
  attempts: 1,
  durationMs: 5,
} as const;

function step(world: RotationWorld, Step: RotationStep, token: string, extra: Partial<RotationEvent> = {}) {
  return rotate(
    { Step, SecretId: world.rotatedArn, ClientRequestToken: token, ...extra },
    world.deps,
    clock(),
  );
}

function putsTo(world: RotationWorld, arn: string) {
  return world.sm.mock
    .commandCalls(PutSecretValueCommand)
    .filter((call) => call.args[0].input.SecretId === arn);
}

async function runAllSteps(world: RotationWorld, token: string): Promise<void> {
  for (const name of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
    await step(world, name, token);
  }
}

describe('a rotation from a staged key', () => {
  it('moves AWSCURRENT to the staged key after every site confirmed, and AWSPREVIOUS to the old key', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);

    await runAllSteps(world, token);

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSPREVIOUS')).toBe(CURRENT);
    expect(world.sm.versionIdAt(world.rotatedArn, 'AWSCURRENT')).toBe(token);
    const [push] = world.pusher.requests;
    expect(push?.key).toBe(NEXT);
    expect(push?.masterApiKey).toBe(MASTER_API_KEY);
    expect(push?.sites).toEqual(['https://a.example', 'https://b.example', 'https://c.example']);
    expect(world.metrics.get('RotationSucceeded')).toBe(1);
    expect(world.metrics.get('SitesConfirmed')).toBe(3);
  });

  it('writes the pending version under the event token with the AWSPENDING label and the RotationToken', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    const rotationToken = secret('rotation-token-from-secrets-manager-0001');

    await step(world, 'createSecret', token, { RotationToken: rotationToken });

    const puts = world.sm.mock.commandCalls(PutSecretValueCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.args[0].input).toMatchObject({
      ClientRequestToken: token,
      VersionStages: ['AWSPENDING'],
      RotationToken: rotationToken,
    });
    expect(world.sm.valueAt(world.rotatedArn, 'AWSPENDING')).toBe(NEXT);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
  });

  it('accepts a staged key surrounded by whitespace (a pasted newline) and stores it trimmed', async () => {
    const world = rotationWorld({ current: CURRENT, staged: `  ${NEXT}\n` });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSPENDING')).toBe(NEXT);
  });

  it('checks a new key with Stripe, against the current key, before any site is contacted', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    world.checker.refuse = 'Stripe refused the new key (401)';

    const error = await rejection(step(world, 'setSecret', token));

    expect(error).toBeInstanceOf(KeyRejectedError);
    expect(world.checker.calls).toEqual([{ key: NEXT, mode: 'test', referenceKey: CURRENT }]);
    expect(world.pusher.requests).toHaveLength(0);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
  });

  it("records the new key's Stripe account and compares the next rotation's key with it", async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    world.checker.account = 'acct_1Recorded';
    const first = world.sm.startRotation(world.rotatedArn);
    await runAllSteps(world, first);
    const record = await world.ledger.get({ secretArn: world.rotatedArn, token: first });
    expect(record?.stripeAccount).toBe('acct_1Recorded');

    const later = fakeKey('test', 'Later');
    world.sm.putCurrent(world.stagedArn, later);
    const second = world.sm.startRotation(world.rotatedArn);
    await runAllSteps(world, second);

    expect(world.checker.calls.at(-1)).toEqual({
      key: later,
      mode: 'test',
      referenceKey: NEXT,
      knownAccount: 'acct_1Recorded',
    });
  });

  it('hands the checker the STRIPE_ACCOUNT override, before any account on record', async () => {
    const world = rotationWorld({
      current: CURRENT,
      staged: NEXT,
      env: { STRIPE_ACCOUNT: 'acct_1Override' },
    });
    const token = world.sm.startRotation(world.rotatedArn);
    await runAllSteps(world, token);
    expect(world.checker.calls[0]?.knownAccount).toBe('acct_1Override');
  });

  it('skips the Stripe check when STRIPE_CHECK=off', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT, env: { STRIPE_CHECK: 'off' } });
    const token = world.sm.startRotation(world.rotatedArn);
    await runAllSteps(world, token);
    expect(world.checker.calls).toHaveLength(0);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
  });
});

describe('a site that does not confirm', () => {
  it('fails setSecret naming every unconfirmed site, and AWSCURRENT stays on the old key', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    world.pusher.outcomes.set('https://b.example', REFUSED_MASTER_KEY);
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);

    const error = await rejection(step(world, 'setSecret', token));

    expect(error).toBeInstanceOf(PropagationError);
    expect(error.message).toContain('confirmed by 2 of 3 sites; AWSCURRENT was not moved');
    expect(error.message).toContain('https://b.example: invalid_api_key (answered 401 invalid_api_key)');
    expect(error.message).toContain(fingerprint(NEXT));
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
    expect(world.metrics.get('SitesFailed')).toBe(1);
  });

  it('lists the sites not attempted and why the push stopped', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    world.pusher.stoppedBecause = 'deadline';
    world.pusher.outcomes.set('https://c.example', { outcome: 'not_attempted', attempts: 0, durationMs: 0 });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);

    const error = await rejection(step(world, 'setSecret', token));

    expect(error.message).toContain('running out of time');
    expect(error.message).toMatch(/Not attempted \(1\):\n {2}- https:\/\/c\.example/);
    expect(world.metrics.get('SitesNotAttempted')).toBe(1);
  });

  it('succeeds on the retried rotation once the site is fixed, with the same token', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    world.pusher.outcomes.set('https://b.example', {
      outcome: 'server_error',
      httpStatus: 503,
      attempts: 3,
      durationMs: 9,
    });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    await rejection(step(world, 'setSecret', token));

    world.pusher.outcomes.clear();
    await runAllSteps(world, token);

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.sm.versionCount(world.rotatedArn)).toBe(2);
  });
});

describe('when nothing new is staged', () => {
  for (const [label, staged] of [
    ['holds the placeholder "none"', 'none'],
    ['is blank', '  '],
    ['holds the current key', CURRENT],
  ] as const) {
    it(`re-propagates the current key when the staged secret ${label}`, async () => {
      const world = rotationWorld({ current: CURRENT, staged });
      const token = world.sm.startRotation(world.rotatedArn);

      await runAllSteps(world, token);

      expect(world.pusher.requests[0]?.key).toBe(CURRENT);
      expect(world.checker.calls).toHaveLength(0);
      expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
      expect(world.sm.versionIdAt(world.rotatedArn, 'AWSCURRENT')).toBe(token);
    });
  }

  it('fails createSecret with staging guidance when WHEN_NOTHING_STAGED=fail, writing nothing', async () => {
    const world = rotationWorld({ current: CURRENT, staged: 'none', env: { WHEN_NOTHING_STAGED: 'fail' } });
    const token = world.sm.startRotation(world.rotatedArn);

    const error = await rejection(step(world, 'createSecret', token));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(
      `Nothing new is staged in ${world.stagedArn} (it holds none: nothing staged)`,
    );
    expect(error.message).toContain('Retrieve secret value');
    expect(error.message).toContain('stripe-key-rotator stage');
    expect(world.sm.writeCalls()).toBe(0);
  });

  it('refuses to re-propagate a current value that is not a key (the deploy-time placeholder)', async () => {
    const world = rotationWorld({ current: secret('generated-placeholder-Zr8qk2LmW0'), staged: 'none' });
    const token = world.sm.startRotation(world.rotatedArn);

    const error = await rejection(step(world, 'createSecret', token));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('the current value cannot be re-propagated');
    expect(world.sm.writeCalls()).toBe(0);
  });
});

describe('the master API key', () => {
  for (const [label, value] of [
    ['empty', ''],
    ['holding an inner newline', 'master-key\nsecond-line-of-the-key'],
  ] as const) {
    it(`fails setSecret before any site is contacted when it is ${label}`, async () => {
      const world = rotationWorld({ current: CURRENT, staged: NEXT });
      world.sm.putCurrent(world.masterArn, value === '' ? ' ' : secret(value));
      const token = world.sm.startRotation(world.rotatedArn);
      await step(world, 'createSecret', token);

      const error = await rejection(step(world, 'setSecret', token));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toContain(`The master API key in ${world.masterArn}`);
      expect(world.pusher.requests).toHaveLength(0);
      expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
    });
  }
});

describe('a staged key that must be refused before any Stripe call or site push', () => {
  const cases: [string, string, RegExp][] = [
    ['malformed', secret('sk_test_has-dashes-and-more-Abc123'), /does not match/],
    [
      'a live key in a test deployment',
      fakeKey('live', 'WrongMode'),
      /is a live key but this deployment rotates test keys/,
    ],
    ['a restricted key', secret('rk_test_51RestrictedKeyAbcdefghijklmnop'), /restricted or publishable key/],
    ['a key with an inner space', secret('sk_test_51Abc defghijklmnopqrstuvwxyz'), /whitespace/],
  ];
  for (const [label, staged, problem] of cases) {
    it(`refuses ${label}`, async () => {
      const world = rotationWorld({ current: CURRENT, staged });
      const token = world.sm.startRotation(world.rotatedArn);

      const error = await rejection(step(world, 'createSecret', token));

      expect(error).toBeInstanceOf(KeyRejectedError);
      expect(error.message).toMatch(problem);
      expect(error.message).toContain(world.stagedArn);
      expect(world.sm.writeCalls()).toBe(0);
      expect(world.checker.calls).toHaveLength(0);
      expect(world.pusher.requests).toHaveLength(0);
    });
  }

  it('refuses a key of the other mode than the key in service, even when KEY_MODE names its mode', async () => {
    const world = rotationWorld({
      current: CURRENT,
      staged: fakeKey('live', 'LiveOverTest'),
      env: { KEY_MODE: 'live' },
    });
    const token = world.sm.startRotation(world.rotatedArn);

    const error = await rejection(step(world, 'createSecret', token));

    expect(error).toBeInstanceOf(KeyRejectedError);
    expect(error.message).toContain(
      `is a live key but the key in service (AWSCURRENT of ${world.rotatedArn}) is a test key`,
    );
    expect(world.sm.writeCalls()).toBe(0);
    expect(world.pusher.requests).toHaveLength(0);
  });

  it('refuses the previous key (AWSPREVIOUS): a rotation must move forward', async () => {
    const world = rotationWorld({ current: PREVIOUS, staged: PREVIOUS });
    world.sm.putCurrent(world.rotatedArn, CURRENT);
    const token = world.sm.startRotation(world.rotatedArn);

    const error = await rejection(step(world, 'createSecret', token));

    expect(error).toBeInstanceOf(KeyRejectedError);
    expect(error.message).toContain('is the previous key (AWSPREVIOUS)');
    expect(world.sm.writeCalls()).toBe(0);
    expect(world.pusher.requests).toHaveLength(0);
  });

  it('refuses to rotate back to the key a finished rotation replaced: AWSCURRENT stays on the newer key', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    await runAllSteps(world, world.sm.startRotation(world.rotatedArn));
    world.sm.putCurrent(world.stagedArn, CURRENT);
    const pushes = world.pusher.requests.length;

    await rejection(step(world, 'createSecret', world.sm.startRotation(world.rotatedArn)));

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSPENDING')).toBeUndefined();
    expect(world.pusher.requests).toHaveLength(pushes);
  });
});

describe('testSecret', () => {
  it('passes when pending equals current and writes nothing, calls neither Stripe nor any site', async () => {
    const world = rotationWorld({ current: CURRENT, staged: 'none' });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    const writesBefore = world.sm.writeCalls();
    const ledgerBefore = JSON.stringify(world.ledger.dump());
    const loadsBefore = world.siteList.loads;

    await step(world, 'testSecret', token);

    expect(world.sm.writeCalls()).toBe(writesBefore);
    expect(JSON.stringify(world.ledger.dump())).toBe(ledgerBefore);
    expect(world.checker.calls).toHaveLength(0);
    expect(world.pusher.requests).toHaveLength(0);
    expect(world.siteList.loads).toBe(loadsBefore + 1);
  });

  it('passes the deploy-time configuration test on placeholders, warning that rotation is not ready yet', async () => {
    const placeholder = secret('generated-placeholder-Qp7sX3vN1t');
    const world = rotationWorld({ current: placeholder, staged: 'none' });
    world.deps.siteList.load = async () => {
      throw new ConfigurationError('The site list /test/sites is empty');
    };
    const token = world.sm.startRotation(world.rotatedArn);
    // With RotateImmediately=false, Secrets Manager itself fills the pending version with the current value.
    await world.sm.client.send(
      new PutSecretValueCommand({
        SecretId: world.rotatedArn,
        ClientRequestToken: token,
        SecretString: placeholder,
        VersionStages: ['AWSPENDING'],
      }),
    );
    const writesBefore = world.sm.writeCalls();

    await step(world, 'testSecret', token);

    expect(world.sm.writeCalls()).toBe(writesBefore);
    expect(capturedText()).toContain('not ready to rotate yet');
    expect(capturedText()).toContain('The site list /test/sites is empty');
  });

  it('still fails the configuration test when a secret cannot be read at all', async () => {
    const world = rotationWorld({ current: CURRENT, staged: 'none' });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    world.deps.siteList.load = async () => {
      throw Object.assign(new Error('User is not authorized to perform ssm:GetParameter'), {
        name: 'AccessDeniedException',
      });
    };

    const error = await rejection(step(world, 'testSecret', token));

    expect(error.name).toBe('AccessDeniedException');
  });

  it("fails the configuration test when the ledger's history index cannot be read (an adopted table of another schema)", async () => {
    const world = rotationWorld({ current: CURRENT, staged: 'none' });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    const historyReads: number[] = [];
    world.deps.ledger.history = async (_secretArn, limit) => {
      historyReads.push(limit);
      throw new Error(
        'The ledger (DynamoDB table adopted) failed reading the rotation history: ValidationException',
      );
    };

    const error = await rejection(step(world, 'testSecret', token));

    expect(error.message).toContain('ValidationException');
    expect(historyReads).toEqual([1]);
  });

  it('fails a real rotation whose pending value is not a key, without calling Stripe', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await world.sm.client.send(
      new PutSecretValueCommand({
        SecretId: world.rotatedArn,
        ClientRequestToken: token,
        SecretString: secret('tampered-not-a-key-value-123'),
        VersionStages: ['AWSPENDING'],
      }),
    );

    const error = await rejection(step(world, 'testSecret', token));

    expect(error).toBeInstanceOf(KeyRejectedError);
    expect(world.checker.calls).toHaveLength(0);
  });

  it('in a real rotation checks the new key with Stripe and writes nothing', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);

    await step(world, 'testSecret', token);

    expect(world.checker.calls.map((c) => c.key)).toEqual([NEXT]);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
  });
});

describe('finishSecret', () => {
  it('moves AWSCURRENT with RemoveFromVersionId naming the old current version', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const oldVersion = world.sm.versionIdAt(world.rotatedArn, 'AWSCURRENT');
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    await step(world, 'setSecret', token);

    await step(world, 'finishSecret', token);

    const moves = world.sm.mock.commandCalls(UpdateSecretVersionStageCommand);
    expect(moves.map((m) => m.args[0].input)).toEqual([
      {
        SecretId: world.rotatedArn,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token,
        RemoveFromVersionId: oldVersion,
      },
      { SecretId: world.rotatedArn, VersionStage: 'AWSPENDING', RemoveFromVersionId: token },
    ]);
    expect(capturedText()).toContain('Let the previous key expire in the Stripe Dashboard');
  });

  it('leaves the new version labelled AWSCURRENT only, and the old one AWSPREVIOUS', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const oldVersion = world.sm.versionIdAt(world.rotatedArn, 'AWSCURRENT') ?? '';
    const token = world.sm.startRotation(world.rotatedArn);

    await runAllSteps(world, token);

    expect(world.sm.stagesByVersion(world.rotatedArn)).toEqual({
      [token]: ['AWSCURRENT'],
      [oldVersion]: ['AWSPREVIOUS'],
    });
  });

  it('finishes even when AWSPENDING cannot be removed, and its replay removes it', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    await step(world, 'setSecret', token);
    world.sm.mock
      .on(UpdateSecretVersionStageCommand, { VersionStage: 'AWSPENDING' })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await step(world, 'finishSecret', token);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token]).toEqual(['AWSPENDING', 'AWSCURRENT']);
    expect(capturedText()).toContain('Could not remove AWSPENDING');

    world.sm.installHandlers();
    await step(world, 'finishSecret', token);
    expect(world.sm.stagesByVersion(world.rotatedArn)[token]).toEqual(['AWSCURRENT']);
  });
});

describe('every step replayed twice in a row', () => {
  it('reaches the same end state with no extra secret versions and no extra label moves', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);

    for (const name of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await step(world, name, token);
      await step(world, name, token);
    }

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSPREVIOUS')).toBe(CURRENT);
    expect(world.sm.versionCount(world.rotatedArn)).toBe(2);
    // One pending write and one staged key reset: the replayed finishSecret finds nothing left to reset.
    expect(putsTo(world, world.rotatedArn)).toHaveLength(1);
    expect(putsTo(world, world.stagedArn)).toHaveLength(1);
    // AWSCURRENT moved once and AWSPENDING removed once: the replay finds neither left to do.
    expect(world.sm.mock.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(2);
  });
});

describe('the checks run before every step', () => {
  it('refuses a secret whose rotation is disabled', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    const disabled = world.sm.createSecret('stripe/disabled', CURRENT, { rotationEnabled: false });
    const error = await rejection(
      rotate({ Step: 'createSecret', SecretId: disabled, ClientRequestToken: token }, world.deps, clock()),
    );
    expect(error).toBeInstanceOf(RotationStateError);
    expect(error.message).toContain('is not enabled for rotation');
  });

  it('refuses a token that is not a version of the secret', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const error = await rejection(step(world, 'setSecret', '00000000-0000-4000-8000-000000000000'));
    expect(error).toBeInstanceOf(RotationStateError);
    expect(error.message).toContain('has no version 00000000-0000-4000-8000-000000000000');
  });

  it('refuses a version that is neither AWSCURRENT nor AWSPENDING', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await runAllSteps(world, token);
    const previousToken = world.sm.versionIdAt(world.rotatedArn, 'AWSPREVIOUS') ?? '';
    const error = await rejection(step(world, 'setSecret', previousToken));
    expect(error.message).toContain('is not labelled AWSPENDING');
  });

  it('does nothing for a version that is already AWSCURRENT', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const currentToken = world.sm.versionIdAt(world.rotatedArn, 'AWSCURRENT') ?? '';
    await step(world, 'setSecret', currentToken);
    expect(world.pusher.requests).toHaveLength(0);
  });
});

describe('the propagation ledger', () => {
  const B = 'https://b.example';
  const failB = (world: RotationWorld) =>
    world.pusher.outcomes.set(B, {
      outcome: 'server_error',
      httpStatus: 503,
      detail: 'answered 503 (3 attempts)',
      attempts: 3,
      durationMs: 40,
    });

  it('snapshots the site list in createSecret: later steps use exactly that set', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    world.siteList.sites = ['https://a.example', 'https://new.example'];

    await step(world, 'setSecret', token);

    expect(world.pusher.requests[0]?.sites).toEqual(['https://a.example', B, 'https://c.example']);
    const [record] = await world.ledger.history(world.rotatedArn, 1);
    expect(record?.sites).toEqual(['https://a.example', B, 'https://c.example']);
    expect(record?.sources).toEqual(['/test/sites']);
  });

  it('resumes a retried setSecret with only the sites not confirmed yet, adding up their attempts', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    failB(world);
    await step(world, 'createSecret', token);
    await rejection(step(world, 'setSecret', token));

    world.pusher.outcomes.clear();
    await step(world, 'setSecret', token);

    expect(world.pusher.requests.map((request) => request.sites)).toEqual([
      ['https://a.example', B, 'https://c.example'],
      [B],
    ]);
    const sites = await world.ledger.sites({ secretArn: world.rotatedArn, token });
    expect(sites.map((site) => [site.site, site.status, site.attempts])).toEqual([
      ['https://a.example', 'confirmed', 1],
      [B, 'confirmed', 4],
      ['https://c.example', 'confirmed', 1],
    ]);
  });

  it('refuses finishSecret while the ledger shows a snapshot site unconfirmed; AWSCURRENT stays', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    failB(world);
    await step(world, 'createSecret', token);
    await rejection(step(world, 'setSecret', token));

    const error = await rejection(step(world, 'finishSecret', token));

    expect(error).toBeInstanceOf(PropagationError);
    expect(error.message).toContain('Refusing to move AWSCURRENT: the ledger shows 2 of 3 sites confirmed');
    expect(error.message).toContain(`${B}: server_error (answered 503 (3 attempts))`);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
    expect(world.sm.mock.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });

  it('refuses finishSecret called right after createSecret: every snapshot site is still pending', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);

    await rejection(step(world, 'finishSecret', token));

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSPENDING')).toBe(NEXT);
    expect(world.pusher.requests).toEqual([]);
  });

  it('refuses finishSecret while a site the push never reached is pending, no site having failed', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    world.pusher.stoppedBecause = 'deadline';
    world.pusher.outcomes.set('https://c.example', { outcome: 'not_attempted', attempts: 0, durationMs: 0 });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    await rejection(step(world, 'setSecret', token));

    await rejection(step(world, 'finishSecret', token));

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
    expect(world.sm.versionIdAt(world.rotatedArn, 'AWSCURRENT')).not.toBe(token);
  });

  it('fails the step when the ledger cannot record a result: never a silent promotion', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    world.ledger.saveSite = async () => {
      throw Object.assign(new Error('Throughput exceeds the current capacity of your table'), {
        name: 'ProvisionedThroughputExceededException',
      });
    };

    const error = await rejection(step(world, 'setSecret', token));
    await rejection(step(world, 'finishSecret', token));

    expect(error.name).toBe('ProvisionedThroughputExceededException');
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
  });

  it('records the rotation: trigger, key fingerprint, step marks, counts, outcome, and what each site holds', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    failB(world);
    await step(world, 'createSecret', token);
    await rejection(step(world, 'setSecret', token));
    const [failed] = await world.ledger.history(world.rotatedArn, 1);
    expect(failed?.outcome).toBe('failed');
    expect(failed?.steps.setSecret?.status).toBe('failed');
    expect(failed?.steps.setSecret?.error).toContain('PropagationError: The key sk_test_…');
    expect(failed?.counts).toEqual({ confirmed: 2, failed: 1, pending: 0 });

    world.pusher.outcomes.clear();
    await step(world, 'setSecret', token);
    await step(world, 'testSecret', token);
    await step(world, 'finishSecret', token);

    const [record] = await world.ledger.history(world.rotatedArn, 1);
    expect(record).toMatchObject({
      token,
      trigger: 'staged',
      maskedKey: 'sk_test_…Next',
      keyFingerprint: fingerprint(NEXT),
      outcome: 'finished',
      counts: { confirmed: 3, failed: 0, pending: 0 },
    });
    expect(record?.steps.createSecret?.status).toBe('completed');
    expect(record?.steps.setSecret?.status).toBe('completed');
    expect(record?.steps.finishSecret?.status).toBe('completed');
    expect(record?.steps.testSecret).toBeUndefined();
    const fleet = await world.ledger.fleet(world.rotatedArn);
    expect(fleet.map((site) => [site.site, site.keyFingerprint, site.versionId])).toEqual([
      ['https://a.example', fingerprint(NEXT), token],
      [B, fingerprint(NEXT), token],
      ['https://c.example', fingerprint(NEXT), token],
    ]);
    const everything = JSON.stringify(world.ledger.dump());
    expect(everything).not.toContain(NEXT);
    expect(everything).not.toContain(CURRENT);
    expect(everything).not.toContain(MASTER_API_KEY);
  });
});

describe('recovering from partial failures', () => {
  it('finishes even when the ledger cannot record the outcome after AWSCURRENT moved, and records it on replay', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    for (const name of ['createSecret', 'setSecret', 'testSecret'] as const) await step(world, name, token);
    const update = world.ledger.update.bind(world.ledger);
    let failures = 0;
    world.ledger.update = async (id, patch) => {
      if (patch.outcome === 'finished' && failures === 0) {
        failures += 1;
        throw new Error('ledger briefly unavailable');
      }
      return update(id, patch);
    };

    await step(world, 'finishSecret', token);
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.metrics.get('RotationSucceeded')).toBe(1);
    expect((await world.ledger.history(world.rotatedArn, 1))[0]?.outcome).not.toBe('failed');

    await step(world, 'finishSecret', token);
    expect((await world.ledger.history(world.rotatedArn, 1))[0]?.outcome).toBe('finished');
  });

  it('does not write unattempted sites to the ledger: they stay pending', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    world.pusher.stoppedBecause = 'deadline';
    for (const site of ['https://b.example', 'https://c.example']) {
      world.pusher.outcomes.set(site, { outcome: 'not_attempted', attempts: 0, durationMs: 0 });
    }
    const saved: string[] = [];
    const saveSite = world.ledger.saveSite.bind(world.ledger);
    world.ledger.saveSite = async (id, record, holds) => {
      saved.push(record.site);
      return saveSite(id, record, holds);
    };
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);

    const error = await rejection(step(world, 'setSecret', token));

    expect(saved).toEqual(['https://a.example']);
    expect(error.message).toContain('Not attempted (2)');
    const sites = await world.ledger.sites({ secretArn: world.rotatedArn, token });
    expect(sites.map((site) => site.status)).toEqual(['confirmed', 'pending', 'pending']);
  });

  it('replays createSecret from the ledger without reading the site list again', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    world.deps.siteList.load = async () => {
      throw new ConfigurationError('The site list /test/sites is empty');
    };

    await step(world, 'createSecret', token);
    await step(world, 'setSecret', token);

    expect(world.pusher.requests[0]?.sites).toHaveLength(3);
  });

  it('finishes a rotation whose site list became unreadable after the snapshot: the snapshot is the set', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    world.siteList.sites = [];
    world.deps.siteList.load = async () => {
      throw new ConfigurationError('The site list /test/sites is empty');
    };

    await runAllSteps(world, token);

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.pusher.requests.flatMap((request) => request.sites)).toEqual([
      'https://a.example',
      'https://b.example',
      'https://c.example',
    ]);
  });

  it('records a site whose answer timed out as unconfirmed: AWSCURRENT does not move', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    world.pusher.outcomes.set('https://b.example', {
      outcome: 'timeout',
      detail: 'timed out after 5000 ms waiting for an answer',
      attempts: 3,
      durationMs: 15_000,
    });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);

    await rejection(step(world, 'setSecret', token));
    await rejection(step(world, 'finishSecret', token));

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
    const sites = await world.ledger.sites({ secretArn: world.rotatedArn, token });
    expect(sites.find((site) => site.site === 'https://b.example')?.status).toBe('failed');
  });

  it('recovers from a crash between the ledger snapshot and the pending write', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    world.sm.mock.on(PutSecretValueCommand).rejectsOnce(new Error('socket hang up'));

    await rejection(step(world, 'createSecret', token));
    expect(await world.ledger.get({ secretArn: world.rotatedArn, token })).toBeDefined();
    world.sm.installHandlers();
    await runAllSteps(world, token);

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
  });

  it('refuses to continue when the staged key changed between the snapshot and the pending write', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    world.sm.mock.on(PutSecretValueCommand).rejectsOnce(new Error('socket hang up'));
    await rejection(step(world, 'createSecret', token));
    world.sm.installHandlers();
    world.sm.putCurrent(world.stagedArn, fakeKey('test', 'ChangedMeanwhile'));

    const error = await rejection(step(world, 'createSecret', token));

    expect(error).toBeInstanceOf(RotationStateError);
    expect(error.message).toContain('differs from the one this rotation started with');
    expect(world.sm.valueAt(world.rotatedArn, 'AWSPENDING')).toBeUndefined();
  });

  it('refuses to finish a rotation whose snapshot holds no site', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT, sites: [] });
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    await step(world, 'setSecret', token);

    const error = await rejection(step(world, 'finishSecret', token));

    expect(error.message).toContain('holds no site');
    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(CURRENT);
  });
});

describe('a staged key that was already in service', () => {
  it('is refused even after a re-propagation moved AWSPREVIOUS off it', async () => {
    const first = fakeKey('test', 'FirstRotatedIn');
    const second = fakeKey('test', 'SecondRotatedIn');
    const world = rotationWorld({ current: CURRENT, staged: first });
    await runAllSteps(world, world.sm.startRotation(world.rotatedArn));
    world.sm.putCurrent(world.stagedArn, second);
    await runAllSteps(world, world.sm.startRotation(world.rotatedArn));
    world.sm.putCurrent(world.stagedArn, 'none');
    await runAllSteps(world, world.sm.startRotation(world.rotatedArn));
    expect(world.sm.valueAt(world.rotatedArn, 'AWSPREVIOUS')).toBe(second);

    world.sm.putCurrent(world.stagedArn, first);
    const error = await rejection(step(world, 'createSecret', world.sm.startRotation(world.rotatedArn)));

    expect(error).toBeInstanceOf(KeyRejectedError);
    expect(error.message).toContain('was already in service');
  });
});

describe('the staged key secret after finishSecret', () => {
  it('is reset to the nothing-staged value once AWSCURRENT moved to its key', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });

    await runAllSteps(world, world.sm.startRotation(world.rotatedArn));

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.sm.valueAt(world.stagedArn, 'AWSCURRENT')).toBe(NOTHING_STAGED.placeholder);
    expect(putsTo(world, world.stagedArn).map((call) => call.args[0].input)).toEqual([
      { SecretId: world.stagedArn, SecretString: NOTHING_STAGED.placeholder },
    ]);
    expect(capturedText()).toContain('Staged key secret reset');
  });

  it('is reset when it holds the key with surrounding whitespace, as createSecret took it', async () => {
    const world = rotationWorld({ current: CURRENT, staged: `\n${NEXT}  \n` });

    await runAllSteps(world, world.sm.startRotation(world.rotatedArn));

    expect(world.sm.valueAt(world.stagedArn, 'AWSCURRENT')).toBe(NOTHING_STAGED.placeholder);
  });

  it('keeps a different key an operator staged while the rotation ran, and writes nothing to it', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    for (const name of ['createSecret', 'setSecret', 'testSecret'] as const) await step(world, name, token);
    const later = fakeKey('test', 'StagedMeanwhile');
    world.sm.putCurrent(world.stagedArn, later);

    await step(world, 'finishSecret', token);

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.sm.valueAt(world.stagedArn, 'AWSCURRENT')).toBe(later);
    expect(putsTo(world, world.stagedArn)).toHaveLength(0);
  });

  it('writes nothing after a re-propagation with nothing staged', async () => {
    const world = rotationWorld({ current: CURRENT, staged: 'none' });

    await runAllSteps(world, world.sm.startRotation(world.rotatedArn));

    expect(world.sm.valueAt(world.stagedArn, 'AWSCURRENT')).toBe('none');
    expect(putsTo(world, world.stagedArn)).toHaveLength(0);
  });

  it('does not fail finishSecret when the reset fails: it logs, counts StagedKeyResetFailed, and a replay completes it', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT });
    const token = world.sm.startRotation(world.rotatedArn);
    for (const name of ['createSecret', 'setSecret', 'testSecret'] as const) await step(world, name, token);
    world.sm.mock
      .on(PutSecretValueCommand, { SecretId: world.stagedArn })
      .rejectsOnce(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));

    await step(world, 'finishSecret', token);

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.sm.valueAt(world.stagedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(world.metrics.get('RotationSucceeded')).toBe(1);
    expect(world.metrics.get('StagedKeyResetFailed')).toBe(1);
    expect(capturedText()).toContain('Could not reset the staged key secret');
    expect((await world.ledger.history(world.rotatedArn, 1))[0]?.outcome).toBe('finished');

    world.sm.installHandlers();
    await step(world, 'finishSecret', token);

    expect(world.sm.valueAt(world.stagedArn, 'AWSCURRENT')).toBe(NOTHING_STAGED.placeholder);
    expect(world.metrics.get('StagedKeyResetFailed')).toBe(1);
  });
});

describe('the success notice (SUCCESS_NOTICE_TOPIC_ARN)', () => {
  function recordingNotifier(fail = false) {
    const notices: { subject: string; message: string }[] = [];
    return {
      notices,
      notify: async (subject: string, message: string) => {
        if (fail)
          throw Object.assign(new Error('Not authorized to publish'), {
            name: 'AuthorizationErrorException',
          });
        notices.push({ subject, message });
      },
    };
  }

  it('is sent once AWSCURRENT moved, with the masked key, the site count and both versions, never the key', async () => {
    const notifier = recordingNotifier();
    const world = rotationWorld({ current: CURRENT, staged: NEXT, notifier });
    const token = world.sm.startRotation(world.rotatedArn);

    await runAllSteps(world, token);
    await step(world, 'finishSecret', token);

    expect(notifier.notices).toHaveLength(1);
    const [notice] = notifier.notices;
    expect(notice?.subject).toBe('Stripe key rotation finished (3 sites)');
    expect(notice?.message).toContain(`AWSCURRENT is now version ${token}`);
    expect(notice?.message).toContain(`(fp ${fingerprint(NEXT)})`);
    expect(notice?.message).toContain('after all 3 sites confirmed it');
    expect(notice?.message).not.toContain(NEXT);
    expect(notice?.message).not.toContain(CURRENT);
  });

  it('is not sent when finishSecret refuses to move AWSCURRENT', async () => {
    const notifier = recordingNotifier();
    const world = rotationWorld({ current: CURRENT, staged: NEXT, notifier });
    world.pusher.outcomes.set('https://b.example', REFUSED_MASTER_KEY);
    const token = world.sm.startRotation(world.rotatedArn);
    await step(world, 'createSecret', token);
    await rejection(step(world, 'setSecret', token));

    await rejection(step(world, 'finishSecret', token));

    expect(notifier.notices).toHaveLength(0);
  });

  it('never fails the rotation: a refused publish is logged, AWSCURRENT has moved', async () => {
    const world = rotationWorld({ current: CURRENT, staged: NEXT, notifier: recordingNotifier(true) });

    await runAllSteps(world, world.sm.startRotation(world.rotatedArn));

    expect(world.sm.valueAt(world.rotatedArn, 'AWSCURRENT')).toBe(NEXT);
    expect(capturedText()).toContain('Could not send the success notice');
  });
});
