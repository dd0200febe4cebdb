import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteListFromFile, siteListFromText } from '../../adapters/local/static-site-list.js';
import { ConfigurationError } from '../../core/errors.js';
import { rejection } from '../support/secret-guard.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skr-sites-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('site lists from a sites.txt file or text', () => {
  it('reads the sites.txt format from a file: comments and blank lines skipped, URLs normalised, duplicates reported', async () => {
    const path = join(dir, 'sites.txt');
    await writeFile(
      path,
      '# Liste des sites templates\n\nhttps://Site1.Example.fr/\nhttps://site2.example.fr:443\n# more\nhttps://site1.example.fr\n',
    );

    const list = await siteListFromFile(path).load();

    expect(list.sites).toEqual(['https://site1.example.fr', 'https://site2.example.fr']);
    expect(list.sources).toEqual([path]);
    expect(list.duplicates).toEqual([`${path} line 6 repeats ${path} line 3 (https://site1.example.fr)`]);
  });

  it('reads the file again at every load, as the deployed list re-reads its parameter', async () => {
    const path = join(dir, 'changing.txt');
    await writeFile(path, 'https://a.example\n');
    const source = siteListFromFile(path);
    await source.load();

    await writeFile(path, 'https://a.example\nhttps://b.example\n');

    expect((await source.load()).sites).toEqual(['https://a.example', 'https://b.example']);
  });

  it('names the file and every invalid line', async () => {
    const path = join(dir, 'invalid.txt');
    await writeFile(path, 'https://ok.example\nhttp://plain.example\nftp://x.example\n');

    const error = await rejection(siteListFromFile(path).load());

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(`${path} line 2: http URL refused, https required`);
    expect(error.message).toContain(`${path} line 3: ftp URL refused, https required`);
  });

  it('names a file that does not exist, or is not a file', async () => {
    const missing = join(dir, 'missing.txt');

    const notFound = await rejection(siteListFromFile(missing).load());
    const directory = await rejection(siteListFromFile(dir).load());

    expect(notFound).toBeInstanceOf(ConfigurationError);
    expect(notFound.message).toBe(`Cannot read the sites file ${missing}: no such file`);
    expect(directory.message).toBe(`The sites file ${dir} is not a regular file`);
  });

  it('parses text under the name given, with line numbers', async () => {
    const source = siteListFromText('demo sites.txt', '# demo\nhttps://127.0.0.2:8443\nnot-a-url\n');

    const error = await rejection(source.load());

    expect(error.message).toContain('demo sites.txt line 3: not a valid URL');
    expect((await siteListFromText('demo sites.txt', 'https://127.0.0.2:8443\n').load()).sites).toEqual([
      'https://127.0.0.2:8443',
    ]);
  });
});
