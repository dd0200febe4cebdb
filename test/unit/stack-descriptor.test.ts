import { describe, expect, it } from 'vitest';
import { STACK_DESCRIPTOR, STACK_OUTPUTS } from '../../core/contract.js';
import { ConfigurationError } from '../../core/errors.js';
import {
  type DeploymentDescriptor,
  fillFromStackOutputs,
  parseDescriptor,
  selectDescriptor,
  stackDescriptors,
} from '../../core/operations/deployment.js';

const KEY = `${STACK_DESCRIPTOR.outputPrefix}c8aaaa`;
const SECRET_LOOKING = 'sk_live_ShouldNeverBeEchoed0123456789';

function descriptor(id: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    v: 1,
    id,
    rotatedSecret: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}/key-AbCdEf`,
    stagedKeySecret: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}/staged-AbCdEf`,
    masterApiKeySecret: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}/master-AbCdEf`,
    sitesParameter: `/${id}/sites`,
    ledgerTable: 'Ledger-1',
    keyMode: 'test',
    ...overrides,
  });
}

function thrown(f: () => unknown): ConfigurationError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('did not throw');
}

const reader = (outputs: Record<string, string>) => ({
  read: async () => new Map(Object.entries(outputs)),
});

const WANTED = {
  'secret-id': STACK_OUTPUTS.rotatedSecret,
  'staged-secret-id': STACK_OUTPUTS.stagedKeySecret,
  'key-mode': STACK_OUTPUTS.keyMode,
};

describe('parseDescriptor', () => {
  it('maps each field to the STACK_OUTPUTS name it stands for', () => {
    const parsed = parseDescriptor(KEY, descriptor('App/Rotation'));
    expect(parsed.id).toBe('App/Rotation');
    expect(parsed.output).toBe(KEY);
    expect(Object.fromEntries(parsed.outputs)).toEqual({
      [STACK_OUTPUTS.rotatedSecret]:
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:App/Rotation/key-AbCdEf',
      [STACK_OUTPUTS.stagedKeySecret]:
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:App/Rotation/staged-AbCdEf',
      [STACK_OUTPUTS.masterApiKeySecret]:
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:App/Rotation/master-AbCdEf',
      [STACK_OUTPUTS.sitesParameter]: '/App/Rotation/sites',
      [STACK_OUTPUTS.ledgerTable]: 'Ledger-1',
      [STACK_OUTPUTS.keyMode]: 'test',
    });
  });

  it('names the output and the problem, never the value', () => {
    const notJson = thrown(() => parseDescriptor(KEY, SECRET_LOOKING));
    expect(notJson.message).toContain(
      `The stack output ${KEY} is not a stripe-key-rotator descriptor: its value is not JSON`,
    );
    const array = thrown(() => parseDescriptor(KEY, '[1]'));
    expect(array.message).toContain('not a JSON object');
    const version = thrown(() => parseDescriptor(KEY, descriptor('A/R', { v: 2 })));
    expect(version.message).toContain('version 2, this CLI reads version 1');
    const noId = thrown(() => parseDescriptor(KEY, descriptor('', {})));
    expect(noId.message).toContain('"id" must be the construct path');
    const fields = thrown(() =>
      parseDescriptor(
        KEY,
        descriptor('A/R', { ledgerTable: 7, keyMode: SECRET_LOOKING, stagedKeySecret: ' ' }),
      ),
    );
    expect(fields.problems).toEqual([
      '"stagedKeySecret" must be a non-empty string',
      '"ledgerTable" must be a non-empty string',
      '"keyMode" must be live or test',
    ]);
    for (const error of [notJson, fields]) expect(error.message).not.toContain(SECRET_LOOKING);
  });
});

describe('selectDescriptor', () => {
  const one = parseDescriptor(`${KEY}1`, descriptor('App/Live'));
  const two = parseDescriptor(`${KEY}2`, descriptor('App/Team/Test'));

  it('takes the only one without an id, and one by path or trailing id', () => {
    expect(selectDescriptor('S', [one], undefined)).toBe(one);
    expect(selectDescriptor('S', [one, two], 'App/Team/Test')).toBe(two);
    expect(selectDescriptor('S', [one, two], 'Test')).toBe(two);
    expect(selectDescriptor('S', [one, two], 'Team/Test')).toBe(two);
    expect(selectDescriptor('S', [one], 'Live')).toBe(one);
  });

  it('refuses none, several without an id, and an id matching none or several, listing the paths', () => {
    expect(thrown(() => selectDescriptor('S', [], undefined)).message).toContain(
      `--stack S: the stack has neither the outputs this CLI reads (${Object.values(STACK_OUTPUTS).join(', ')}) nor a ${STACK_DESCRIPTOR.outputPrefix}… output`,
    );
    expect(thrown(() => selectDescriptor('S', [one, two], undefined)).message).toBe(
      '--stack S: the stack holds 2 StripeKeyRotation constructs (App/Live, App/Team/Test); pass --construct-id with one of them',
    );
    expect(thrown(() => selectDescriptor('S', [one, two], 'Nope')).message).toContain(
      '--construct-id Nope matches none of the stack',
    );
    const twin: DeploymentDescriptor = parseDescriptor(`${KEY}3`, descriptor('App/Other/Test'));
    expect(thrown(() => selectDescriptor('S', [one, two, twin], 'Test')).message).toContain(
      '--construct-id Test matches 2 of',
    );
    // "Live" is not a trailing id of "App/OldLive".
    const old = parseDescriptor(`${KEY}4`, descriptor('App/OldLive'));
    expect(selectDescriptor('S', [one, old], 'Live')).toBe(one);
  });

  it('finds only outputs with the prefix, in key order', () => {
    const found = stackDescriptors(
      new Map([
        [`${KEY}b`, descriptor('App/B')],
        ['Other', SECRET_LOOKING],
        [`${KEY}a`, descriptor('App/A')],
      ]),
    );
    expect(found.map((d) => d.id)).toEqual(['App/A', 'App/B']);
  });
});

describe('fillFromStackOutputs', () => {
  it("reads the repository's named outputs when present, as before", async () => {
    const filled = await fillFromStackOutputs(
      'S',
      { 'key-mode': undefined } as Record<string, string | undefined>,
      WANTED,
      reader({
        [STACK_OUTPUTS.rotatedSecret]: 'named-arn',
        [STACK_OUTPUTS.stagedKeySecret]: 'named-staged',
        [STACK_OUTPUTS.keyMode]: 'live',
        [KEY]: descriptor('S/Rotation'),
      }),
    );
    expect(filled).toEqual({
      'secret-id': 'named-arn',
      'staged-secret-id': 'named-staged',
      'key-mode': 'live',
    });
  });

  it("reads an adopting app's descriptor, a flag given still winning; --construct-id picks among several", async () => {
    const outputs = {
      [`${KEY}1`]: descriptor('App/Live', { keyMode: 'live' }),
      [`${KEY}2`]: descriptor('App/Test'),
    };
    const picked = await fillFromStackOutputs(
      'S',
      { 'staged-secret-id': 'given' } as Record<string, string | undefined>,
      WANTED,
      reader(outputs),
      'Live',
    );
    expect(picked).toEqual({
      'secret-id': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:App/Live/key-AbCdEf',
      'staged-secret-id': 'given',
      'key-mode': 'live',
    });
    await expect(fillFromStackOutputs('S', {}, WANTED, reader(outputs))).rejects.toThrow(
      'pass --construct-id with one of them',
    );
    await expect(fillFromStackOutputs('S', {}, WANTED, reader({ Unrelated: 'x' }))).rejects.toThrow(
      'the stack has neither the outputs this CLI reads',
    );
  });
});
