import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { SourceMappedLogger, sourceMappedStack } from '../../lambda/stack-map.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-map-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A minified bundle with its external map, as the construct builds the handler: `fail` throws on line 3 of original.ts. */
function minifiedModule(name: string, withMap: boolean): { fail: () => never } {
  const source =
    'export function fail(): never {\n  const reason = "broken";\n  throw new Error(reason);\n}\n';
  const out = transformSync(source, {
    loader: 'ts',
    format: 'cjs',
    minify: true,
    sourcemap: 'external',
    sourcefile: 'original.ts',
  });
  const file = join(dir, `${name}.js`);
  writeFileSync(file, `${out.code}//# sourceMappingURL=${name}.js.map\n`);
  if (withMap) writeFileSync(`${file}.map`, out.map);
  return createRequire(import.meta.url)(file) as { fail: () => never };
}

function stackOf(run: () => never): string {
  try {
    run();
  } catch (error) {
    return (error as Error).stack ?? '';
  }
  return '';
}

describe('source-mapped stacks for logged errors', () => {
  it('maps frames of a file with a map beside it to the original source, line and column', () => {
    const { fail } = minifiedModule('mapped', true);
    const stack = stackOf(fail);
    expect(stack).toContain(join(dir, 'mapped.js:1:'));
    expect(sourceMappedStack(stack)).toMatch(/original\.ts:3:\d+/);
    expect(sourceMappedStack(stack)).not.toContain(join(dir, 'mapped.js'));
  });

  it('leaves frames without a map as Node wrote them', () => {
    const { fail } = minifiedModule('unmapped', false);
    const stack = stackOf(fail);
    expect(sourceMappedStack(stack)).toBe(stack);
  });

  it('rewrites the stacks of errors a warn or error line carries, causes included', () => {
    const { fail } = minifiedModule('logged', true);
    const cause = new Error('inner');
    cause.stack = stackOf(fail);
    const error = new Error('outer', { cause });
    error.stack = stackOf(fail);
    // CRITICAL: the line is filtered out, the stacks are mapped all the same (before Powertools sees them).
    new SourceMappedLogger({ serviceName: 'stack-map-test', logLevel: 'CRITICAL' }).error('failed', {
      error,
    });
    expect(error.stack).toMatch(/original\.ts:3:\d+/);
    expect((error.cause as Error).stack).toMatch(/original\.ts:3:\d+/);
  });
});
