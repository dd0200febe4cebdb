import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../core/errors.js';
import {
  CONTROL_CHARACTER,
  checkSite,
  MAX_REPORTED_PROBLEMS,
  MAX_SITE_URL_CHARS,
  MAX_SITES,
  parseSiteList,
  type SiteListInput,
} from '../../core/rules/site-list.js';
import { rejection, secret } from '../support/secret-guard.js';

const lines = (text: string, source = '/stripe/sites'): SiteListInput => ({
  source,
  text,
  itemSeparator: 'line',
});

/** parseSiteList is synchronous; `rejection` wants a promise so it can scan the error for leaks. */
async function parseError(inputs: readonly SiteListInput[]): Promise<ConfigurationError> {
  const error = await rejection(Promise.resolve().then(() => parseSiteList(inputs)));
  expect(error).toBeInstanceOf(ConfigurationError);
  return error as ConfigurationError;
}

describe('parseSiteList (the sites.txt format)', () => {
  it('reads one URL per line, ignoring blank lines, # comments and CRLF line ends', () => {
    const text = [
      '# Liste des sites templates (une URL par ligne)',
      '',
      'https://site1.example.fr',
      '   # indented comment',
      '  https://site2.example.fr  ',
      '\t',
      'https://site3.example.fr',
    ].join('\r\n');
    expect(parseSiteList([lines(text)])).toEqual({
      sites: ['https://site1.example.fr', 'https://site2.example.fr', 'https://site3.example.fr'],
      sources: ['/stripe/sites'],
      duplicates: [],
    });
  });

  it('normalises: lowercase host, default port dropped, trailing slashes removed, path kept', () => {
    const text = [
      'https://Shop.EXAMPLE.com/',
      'https://b.example:443/x/',
      'https://c.example:8443//',
      'https://d.example/boutique/fr//',
      'HTTPS://e.example',
    ].join('\n');
    expect(parseSiteList([lines(text)]).sites).toEqual([
      'https://shop.example.com',
      'https://b.example/x',
      'https://c.example:8443',
      'https://d.example/boutique/fr',
      'https://e.example',
    ]);
  });

  it('collapses duplicates after normalisation, keeping the first and reporting each repeat', () => {
    const text = [
      'https://a.example',
      'https://b.example',
      'https://A.example/',
      'https://a.example:443',
    ].join('\n');
    const list = parseSiteList([lines(text)]);
    expect(list.sites).toEqual(['https://a.example', 'https://b.example']);
    expect(list.duplicates).toEqual([
      '/stripe/sites line 3 repeats /stripe/sites line 1 (https://a.example)',
      '/stripe/sites line 4 repeats /stripe/sites line 1 (https://a.example)',
    ]);
  });

  it('reports an invalid line with its parameter and line number', async () => {
    const error = await parseError([lines('https://a.example\n\nnot a url')]);
    expect(error.problems).toEqual([
      '/stripe/sites line 3: contains whitespace; put one URL per line (not a url)',
    ]);
    expect(error.message).toContain('/stripe/sites line 3');
  });

  it('reports every invalid line at once, in one error', async () => {
    const text = ['http://a.example', 'https://ok.example', 'ftp://b.example', 'https://c.example/?x=1'].join(
      '\n',
    );
    const error = await parseError([lines(text)]);
    expect(error.problems).toEqual([
      '/stripe/sites line 1: http URL refused, https required (http://a.example)',
      '/stripe/sites line 3: ftp URL refused, https required (ftp://b.example)',
      '/stripe/sites line 4: query string refused; a site is an origin plus an optional path (https://c.example/?***)',
    ]);
    expect(error.message).toContain('3 invalid entries');
  });

  it('refuses a plain http URL and says https is required', async () => {
    const error = await parseError([lines('http://a.example')]);
    expect(error.problems).toEqual([
      '/stripe/sites line 1: http URL refused, https required (http://a.example)',
    ]);
  });

  it('refuses credentials in a URL without echoing them', async () => {
    const password = secret('hunter2-site-password');
    const user = secret('site-admin-user');
    const error = await parseError([
      lines(
        [
          `https://${user}:${password}@a.example/shop`,
          `https:/${user}:${password}@b.example`,
          `${user}:${password}@c.example`,
          'https://@d.example',
        ].join('\n'),
      ),
    ]);
    expect(error.problems).toEqual([
      expect.stringMatching(
        /^\/stripe\/sites line 1: credentials in the URL are refused.*\(https:\/\/\*\*\*@a\.example\/shop\)$/,
      ),
      expect.stringMatching(
        /^\/stripe\/sites line 2: credentials in the URL are refused.*\(https:\/\*\*\*@b\.example\)$/,
      ),
      expect.stringMatching(
        /^\/stripe\/sites line 3: credentials in the URL are refused.*\(\*\*\*@c\.example\)$/,
      ),
      expect.stringMatching(/^\/stripe\/sites line 4: credentials in the URL are refused/),
    ]);
    expect(error.message).not.toContain(user);
  });

  it('refuses a query or a fragment, even an empty one, without echoing their content', async () => {
    const token = secret('q-token-0123456789');
    const text = [
      'https://a.example?',
      'https://b.example/#',
      `https://c.example/x?auth=${token}`,
      `https://d.example#${token}`,
    ];
    const error = await parseError([lines(text.join('\n'))]);
    expect(error.problems).toEqual([
      '/stripe/sites line 1: query string refused; a site is an origin plus an optional path (https://a.example?)',
      '/stripe/sites line 2: fragment refused; a site is an origin plus an optional path (https://b.example/#)',
      '/stripe/sites line 3: query string refused; a site is an origin plus an optional path (https://c.example/x?***)',
      '/stripe/sites line 4: fragment refused; a site is an origin plus an optional path (https://d.example#***)',
    ]);
  });

  it('refuses what is not a URL, and what only a lenient URL parser would accept', async () => {
    const text = [
      'site1.example.fr',
      'https:site2.example.fr',
      'https://site3.example.fr\\admin',
      'https://',
    ];
    const error = await parseError([lines(text.join('\n'))]);
    expect(error.problems).toEqual([
      '/stripe/sites line 1: not a valid URL; expected https://host[/path] (site1.example.fr)',
      '/stripe/sites line 2: malformed https URL; expected https://host[/path] (https:site2.example.fr)',
      '/stripe/sites line 3: malformed https URL; expected https://host[/path] (https://site3.example.fr\\admin)',
      '/stripe/sites line 4: not a valid URL; expected https://host[/path] (https://)',
    ]);
  });

  it('does not echo a line that looks like a key pasted into the list', async () => {
    const masterKey = secret('template-master-key-2025');
    const stripeKey = secret('sk_live_51HxxxPastedByMistake0123456789');
    const base64Key = secret('q8Zt/3kP+w9LmQ2xV7bN/1aYcE5rT0uH==');
    const error = await parseError([
      lines(`${masterKey}\n${stripeKey}\nhttps://a.example/${stripeKey}?x\n${base64Key}`),
    ]);
    expect(error.problems).toEqual([
      '/stripe/sites line 1: not a valid URL; expected https://host[/path] (24 chars, not shown)',
      '/stripe/sites line 2: not a valid URL; expected https://host[/path] (39 chars, not shown)',
      '/stripe/sites line 3: a Stripe key inside a site URL is refused; a site URL carries no secret (https://a.example/sk_live_…6789?***)',
      '/stripe/sites line 4: not a valid URL; expected https://host[/path] (34 chars, not shown)',
    ]);
  });

  it('refuses a key in any part of a URL, showing it masked, or not at all when percent-encoded', async () => {
    const key = secret('sk_live_51HxxxInsideAUrl0123456789abcd');
    const encoded = key.replace(/_/g, '%5F');
    const error = await parseError([
      lines(
        [
          `https://a.example/${key}`,
          `https://${key}.example`,
          `https://a.example:8443/x/${key.replace('sk_', 'rk_')}/y`,
          `https://a.example/${encoded}`,
          'https://b.example/fine',
        ].join('\n'),
      ),
    ]);
    const refused = 'a Stripe key inside a site URL is refused; a site URL carries no secret';
    expect(error.problems).toEqual([
      `/stripe/sites line 1: ${refused} (https://a.example/sk_live_…abcd)`,
      `/stripe/sites line 2: ${refused} (https://sk_live_…abcd.example)`,
      `/stripe/sites line 3: ${refused} (https://a.example:8443/x/<malformed value, 38 chars>/y)`,
      `/stripe/sites line 4: ${refused} (${`https://a.example/${encoded}`.length} chars, not shown)`,
    ]);
  });

  it('refuses port 0, which no site listens on', async () => {
    const error = await parseError([lines('https://h.example:0\nhttps://b.example')]);
    expect(error.problems).toEqual([
      '/stripe/sites line 1: port 0 refused; give the port the site listens on, or none for 443 (https://h.example:0)',
    ]);
  });

  it('lists the first MAX_REPORTED_PROBLEMS repeats and counts the others in one line', () => {
    const list = parseSiteList([lines(Array(10_000).fill('https://a.example').join('\n'))]);
    expect(list.sites).toEqual(['https://a.example']);
    expect(list.duplicates).toHaveLength(MAX_REPORTED_PROBLEMS + 1);
    expect(list.duplicates.at(-1)).toBe(
      `${9_999 - MAX_REPORTED_PROBLEMS} more repeated entries, not listed (9999 in all)`,
    );
  });

  it('shows a line with whitespace only as its address-shaped words, never the secret pasted with them', async () => {
    const master = secret('pasted-master-api-key-5f1e9a7c3b2d4e6f');
    const error = await parseError([
      lines(`https://a.example\nexport TEMPLATE_MASTER_API_KEY=${master}\nhttps://b.example ${master}\n`),
    ]);
    expect(error.problems).toEqual([
      `/stripe/sites line 2: contains whitespace; put one URL per line (export [${24 + master.length} chars])`,
      `/stripe/sites line 3: contains whitespace; put one URL per line (https://b.example [${master.length} chars])`,
    ]);
  });

  it('never quotes a control byte or a non-ASCII character from the list or its source name', async () => {
    const error = await parseError([
      lines('https://a.example/\x1b[31mred\nhttps://b.\x07example x', '/tmp/\x1b]0;t\x07'),
    ]);
    const text = [error.message, ...error.problems].join('\n');
    expect(text).not.toMatch(CONTROL_CHARACTER);
    expect(error.problems).toEqual([
      '/tmp/?]0;t? line 1: contains a control character ([26 chars])',
      '/tmp/?]0;t? line 2: contains a control character ([18 chars] x)',
    ]);
  });

  it('takes # after whitespace as the start of a comment, as the format hint says', () => {
    expect(parseSiteList([lines('https://a.example  # the main shop\nhttps://b.example\t#x')])).toEqual(
      expect.objectContaining({ sites: ['https://a.example', 'https://b.example'] }),
    );
  });

  it('refuses a URL longer than the ledger can key, naming its line', async () => {
    const fits = `https://a.example/${'p'.repeat(MAX_SITE_URL_CHARS - 18)}`;
    expect(parseSiteList([lines(fits)]).sites).toEqual([fits]);
    const error = await parseError([lines(`https://ok.example\n${fits}q`)]);
    expect(error.problems[0]).toContain(`/stripe/sites line 2: longer than ${MAX_SITE_URL_CHARS} characters`);
  });

  it('cuts very long lines in messages', async () => {
    const long = `http://a.example/${'x'.repeat(500)}`;
    const error = await parseError([lines(long)]);
    const [problem = ''] = error.problems;
    expect(problem).toContain(`(${long.slice(0, 120)}…)`);
    expect(problem.length).toBeLessThan(250);
  });

  it('lists at most MAX_REPORTED_PROBLEMS problems but counts them all', async () => {
    const text = Array.from({ length: MAX_REPORTED_PROBLEMS + 5 }, (_, i) => `http://s${i}.example`).join(
      '\n',
    );
    const error = await parseError([lines(text)]);
    expect(error.problems).toHaveLength(MAX_REPORTED_PROBLEMS);
    expect(error.message).toContain(
      `${MAX_REPORTED_PROBLEMS + 5} invalid entries (first ${MAX_REPORTED_PROBLEMS} shown)`,
    );
  });

  it('refuses an empty list, naming the parameter and saying what to put there', async () => {
    const error = await parseError([lines('# nothing yet\n\n')]);
    expect(error.message).toContain('/stripe/sites holds no site');
    expect(error.message).toContain('one https://host[/path] URL per line');
  });

  it('names every parameter when all of them are empty', async () => {
    const error = await parseError([lines('', '/stripe/sites/a'), lines('# later', '/stripe/sites/b')]);
    expect(error.message).toContain('/stripe/sites/a, /stripe/sites/b hold no site');
  });

  it('refuses having nothing to parse at all', async () => {
    const error = await parseError([]);
    expect(error.message).toContain('no parameter was read');
  });

  it('splits a StringList value on commas and numbers its items', async () => {
    const list = parseSiteList([
      {
        source: '/stripe/sites',
        text: 'https://a.example, https://b.example/ ,,https://A.example',
        itemSeparator: 'comma',
      },
    ]);
    expect(list.sites).toEqual(['https://a.example', 'https://b.example']);
    expect(list.duplicates).toEqual([
      '/stripe/sites item 4 repeats /stripe/sites item 1 (https://a.example)',
    ]);

    const error = await parseError([
      { source: '/stripe/sites', text: 'https://a.example,http://b.example', itemSeparator: 'comma' },
    ]);
    expect(error.problems).toEqual([
      '/stripe/sites item 2: http URL refused, https required (http://b.example)',
    ]);
  });

  it('concatenates several parameters in order, numbering lines per parameter', async () => {
    const list = parseSiteList([
      lines('https://a.example\nhttps://b.example', '/stripe/sites/1'),
      lines('# second\nhttps://c.example\nhttps://a.example/', '/stripe/sites/2'),
    ]);
    expect(list).toEqual({
      sites: ['https://a.example', 'https://b.example', 'https://c.example'],
      sources: ['/stripe/sites/1', '/stripe/sites/2'],
      duplicates: ['/stripe/sites/2 line 3 repeats /stripe/sites/1 line 1 (https://a.example)'],
    });

    const error = await parseError([
      lines('https://a.example', '/stripe/sites/1'),
      lines('\nhttp://b.example', '/stripe/sites/2'),
    ]);
    expect(error.problems).toEqual([
      '/stripe/sites/2 line 2: http URL refused, https required (http://b.example)',
    ]);
  });

  it(`refuses more than ${MAX_SITES} sites, naming the first one over the limit`, async () => {
    const text = Array.from({ length: MAX_SITES + 1 }, (_, i) => `https://s${i}.example`).join('\n');
    const error = await parseError([lines(text)]);
    expect(error.message).toContain(`more than ${MAX_SITES} sites (/stripe/sites line ${MAX_SITES + 1}`);
  });

  it(`accepts exactly ${MAX_SITES} sites`, () => {
    const text = Array.from({ length: MAX_SITES }, (_, i) => `https://s${i}.example`).join('\n');
    expect(parseSiteList([lines(text)]).sites).toHaveLength(MAX_SITES);
  });
});

describe('checkSite (one item)', () => {
  it('accepts loopback addresses, IPv6 and non-default ports', () => {
    expect(checkSite('https://127.0.0.2:8443/')).toEqual({ site: 'https://127.0.0.2:8443' });
    expect(checkSite('https://[::1]/shop')).toEqual({ site: 'https://[::1]/shop' });
  });

  it('turns an internationalised host into its ASCII form', () => {
    expect(checkSite('https://boutique-éte.example')).toEqual({
      site: 'https://xn--boutique-te-jbb.example',
    });
  });
});
