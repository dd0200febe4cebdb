import {
  GetParameterCommand,
  GetParametersByPathCommand,
  type GetParametersByPathCommandInput,
  type GetParametersByPathCommandOutput,
  ParameterNotFound,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_PAGES, SsmSiteListSource } from '../../adapters/aws/ssm-site-list.js';
import { ConfigurationError } from '../../core/errors.js';
import { rejection, secret } from '../support/secret-guard.js';

const ssm = mockClient(SSMClient);
const client = new SSMClient({ region: 'eu-west-3' });

beforeEach(() => ssm.reset());
afterAll(() => ssm.restore());

const source = (parameter: string) => new SsmSiteListSource({ client, parameter });

function sdkError(name: string, message: string): SSMServiceException {
  return new SSMServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

describe('SsmSiteListSource with one parameter', () => {
  it('reads a String parameter in the sites.txt format', async () => {
    ssm.on(GetParameterCommand).resolves({
      Parameter: {
        Name: '/stripe/sites',
        Type: 'String',
        Value: '# fleet\nhttps://site1.example.fr\r\nhttps://site2.example.fr/\n',
      },
    });
    await expect(source('/stripe/sites').load()).resolves.toEqual({
      sites: ['https://site1.example.fr', 'https://site2.example.fr'],
      sources: ['/stripe/sites'],
      duplicates: [],
    });
    expect(ssm).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, {
      Name: '/stripe/sites',
      WithDecryption: true,
    });
  });

  it('reads a StringList parameter as comma-separated items', async () => {
    ssm.on(GetParameterCommand).resolves({
      Parameter: {
        Name: '/stripe/sites',
        Type: 'StringList',
        Value: 'https://a.example,https://b.example,https://a.example/',
      },
    });
    const list = await source('/stripe/sites').load();
    expect(list.sites).toEqual(['https://a.example', 'https://b.example']);
    expect(list.duplicates).toEqual([
      '/stripe/sites item 3 repeats /stripe/sites item 1 (https://a.example)',
    ]);
  });

  it('reads a SecureString parameter decrypted', async () => {
    ssm
      .on(GetParameterCommand, { Name: 'stripe-sites', WithDecryption: true })
      .resolves({ Parameter: { Name: 'stripe-sites', Type: 'SecureString', Value: 'https://a.example' } });
    await expect(source('stripe-sites').load()).resolves.toMatchObject({ sites: ['https://a.example'] });
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { WithDecryption: true });
  });

  it('reports invalid lines with the parameter name and line number', async () => {
    const password = secret('basic-auth-password-123');
    ssm.on(GetParameterCommand).resolves({
      Parameter: {
        Name: '/stripe/sites',
        Type: 'SecureString',
        Value: `https://a.example\nhttp://b.example\nhttps://admin:${password}@c.example`,
      },
    });
    const error = await rejection(source('/stripe/sites').load());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      '/stripe/sites line 2: http URL refused, https required (http://b.example)',
      expect.stringMatching(
        /^\/stripe\/sites line 3: credentials in the URL are refused.*\(https:\/\/\*\*\*@c\.example\)$/,
      ),
    ]);
  });

  it('turns ParameterNotFound into a ConfigurationError naming the parameter and what to do', async () => {
    ssm
      .on(GetParameterCommand)
      .rejects(new ParameterNotFound({ message: 'Parameter not found', $metadata: {} }));
    const error = await rejection(source('/stripe/sites').load());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('/stripe/sites does not exist');
    expect(error.message).toContain('create it');
  });

  it('refuses an empty parameter, naming it', async () => {
    ssm
      .on(GetParameterCommand)
      .resolves({ Parameter: { Name: '/stripe/sites', Type: 'String', Value: '# none yet' } });
    const error = await rejection(source('/stripe/sites').load());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('/stripe/sites holds no site');
  });

  it('wraps AccessDenied in an error naming the parameter, keeping the SDK error as cause', async () => {
    const denied = sdkError(
      'AccessDeniedException',
      'User: arn:aws:sts::123456789012:assumed-role/rotator is not authorized to perform: ssm:GetParameter',
    );
    ssm.on(GetParameterCommand).rejects(denied);
    const error = await rejection(source('/stripe/sites').load());
    expect(error).not.toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('SSM parameter /stripe/sites failed: AccessDeniedException');
    expect(error.cause).toBe(denied);
  });
});

describe('SsmSiteListSource with a path ending in /', () => {
  it('follows NextToken through every page, empty ones included, and parses parameters sorted by name', async () => {
    const pages: GetParametersByPathCommandOutput[] = [
      {
        Parameters: [
          { Name: '/stripe/sites/b', Type: 'String', Value: 'https://c.example\nhttps://a.example' },
        ],
        NextToken: 'page-2',
        $metadata: {},
      },
      { Parameters: [], NextToken: 'page-3', $metadata: {} },
      {
        Parameters: [
          { Name: '/stripe/sites/a', Type: 'StringList', Value: 'https://a.example,https://b.example' },
        ],
        $metadata: {},
      },
    ];
    // The SDK paginator sends one input object, changed between pages: copy it as each page is asked for.
    const calls: GetParametersByPathCommandInput[] = [];
    ssm.on(GetParametersByPathCommand).callsFake((input: GetParametersByPathCommandInput) => {
      calls.push({ ...input });
      return pages[calls.length - 1];
    });

    await expect(source('/stripe/sites/').load()).resolves.toEqual({
      sites: ['https://a.example', 'https://b.example', 'https://c.example'],
      sources: ['/stripe/sites/a', '/stripe/sites/b'],
      duplicates: ['/stripe/sites/b line 2 repeats /stripe/sites/a item 1 (https://a.example)'],
    });
    expect(calls).toEqual([
      { Path: '/stripe/sites/', Recursive: true, WithDecryption: true, NextToken: undefined },
      { Path: '/stripe/sites/', Recursive: true, WithDecryption: true, NextToken: 'page-2' },
      { Path: '/stripe/sites/', Recursive: true, WithDecryption: true, NextToken: 'page-3' },
    ]);
    expect(ssm).not.toHaveReceivedCommand(GetParameterCommand);
  });

  it(`reads a listing that ends on page ${MAX_PAGES}`, async () => {
    let calls = 0;
    ssm.on(GetParametersByPathCommand).callsFake(() => {
      calls += 1;
      return calls < MAX_PAGES
        ? { Parameters: [], NextToken: `page-${calls + 1}` }
        : { Parameters: [{ Name: '/stripe/sites/last', Type: 'String', Value: 'https://last.example' }] };
    });
    await expect(source('/stripe/sites/').load()).resolves.toMatchObject({ sites: ['https://last.example'] });
    expect(ssm).toHaveReceivedCommandTimes(GetParametersByPathCommand, MAX_PAGES);
  });

  it('numbers lines per parameter when reporting invalid ones', async () => {
    ssm.on(GetParametersByPathCommand).resolves({
      Parameters: [
        { Name: '/stripe/sites/eu', Type: 'String', Value: 'https://a.example\nftp://b.example' },
        { Name: '/stripe/sites/us', Type: 'String', Value: '\nhttp://c.example' },
      ],
    });
    const error = await rejection(source('/stripe/sites/').load());
    expect((error as ConfigurationError).problems).toEqual([
      '/stripe/sites/eu line 2: ftp URL refused, https required (ftp://b.example)',
      '/stripe/sites/us line 2: http URL refused, https required (http://c.example)',
    ]);
  });

  it('refuses an empty path with a ConfigurationError saying what to create', async () => {
    ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    const error = await rejection(source('/stripe/sites/').load());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('No parameter found under the site list path /stripe/sites/');
    expect(error.message).toContain('/stripe/sites/sites');
  });

  it(`stops after ${MAX_PAGES} pages that keep returning a NextToken`, async () => {
    ssm.on(GetParametersByPathCommand).resolves({ Parameters: [], NextToken: 'again' });
    const error = await rejection(source('/stripe/sites/').load());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(`did not finish after ${MAX_PAGES} pages`);
    expect(ssm).toHaveReceivedCommandTimes(GetParametersByPathCommand, MAX_PAGES);
  });

  it('wraps throttling in an error naming the path, keeping the SDK error as cause', async () => {
    const throttled = sdkError('ThrottlingException', 'Rate exceeded');
    ssm.on(GetParametersByPathCommand).rejects(throttled);
    const error = await rejection(source('/stripe/sites/').load());
    expect(error.message).toBe(
      'Reading the site list from SSM parameter /stripe/sites/ failed: ThrottlingException: Rate exceeded',
    );
    expect(error.cause).toBe(throttled);
  });
});

describe('SsmSiteListSource configuration', () => {
  it.each([
    ['', 'is empty'],
    ['/stripe sites', 'may hold only letters, digits, _ . - and /'],
    ['stripe/sites', 'must start with /'],
    ['/', 'empty path segment'],
    ['/stripe//sites', 'empty path segment'],
    // SSM's own limits, which the construct always applied and the function now applies too.
    ['/aws/sites', 'reserved by SSM'],
    ['SSM-sites', 'reserved by SSM'],
  ])('refuses the parameter name %j', async (parameter, problem) => {
    const error = await rejection(Promise.resolve().then(() => source(parameter)));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(problem);
    expect(ssm.calls()).toHaveLength(0);
  });

  it('refuses a name longer than the 1011 characters SSM allows', () => {
    expect(() => source(`/${'s'.repeat(1011)}`)).toThrow(/longer than the 1011 characters SSM allows/);
  });

  it('accepts a plain name, a hierarchical name and a path', () => {
    for (const parameter of ['stripe-sites_live.v2', '/stripe/live/sites', '/stripe/live/sites/']) {
      expect(source(parameter)).toBeInstanceOf(SsmSiteListSource);
    }
  });
});
