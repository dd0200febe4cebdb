/**
 * The house's rules, checked on the sources: the core has one front door (`core/index.ts`), only the
 * adapters and the deployed functions talk to AWS, and nothing in the core reaches outside it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CORE = join(ROOT, 'core');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter(
      (entry) => entry.isFile() && /\.ts$/.test(entry.name) && !entry.parentPath.includes('node_modules'),
    )
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)].map(
    (match) => match[1] as string,
  );
}

function resolvesInto(file: string, specifier: string, dir: string): boolean {
  return specifier.startsWith('.') && resolve(dirname(file), specifier).startsWith(`${dir}/`);
}

const OUTSIDE_CORE = ['adapters', 'bench', 'bin', 'cli', 'lambda', 'lib', 'scripts', 'sim'];

describe('the layout', () => {
  it.each(OUTSIDE_CORE)('%s/ imports the core only through core/index.ts', (dir) => {
    const offenders = sources(dir).flatMap((file) =>
      specifiers(file)
        .filter((specifier) => resolvesInto(file, specifier, CORE))
        .filter((specifier) => resolve(dirname(file), specifier) !== join(CORE, 'index.js'))
        .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the core imports nothing outside itself but Node built-ins', () => {
    const offenders = sources('core').flatMap((file) =>
      specifiers(file)
        .filter((specifier) =>
          specifier.startsWith('.') ? !resolvesInto(file, specifier, CORE) : !specifier.startsWith('node:'),
        )
        .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('core/index.ts only re-exports', () => {
    const statements = readFileSync(join(CORE, 'index.ts'), 'utf8')
      .replace(/\/\*\*[\s\S]*?\*\//g, '')
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(statements.filter((line) => !/^export \* from '\.\/[\w/-]+\.js';$/.test(line))).toEqual([]);
  });

  it.each(['lib', 'sim', 'core', 'cli'])('nothing under %s/ imports the AWS SDK', (dir) => {
    const offenders = sources(dir).flatMap((file) =>
      specifiers(file)
        .filter((specifier) => specifier.startsWith('@aws-sdk/'))
        .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });
});
