/**
 * A push's result file: written with the same document as `push --json` (no key: masked and fingerprint
 * only), and an earlier push read back from it — its key's fingerprint and the sites it shows confirmed.
 * Nothing else of a document read is trusted or used.
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError, type EarlierPush, type EarlierPushSource, printable } from '../../core/index.js';

/** `label` says how the operator gave the file (e.g. `--retry-from`); messages name both. */
export function earlierPushFromFile(path: string, label: string): EarlierPushSource {
  const source = `${label} ${printable(path)}`;
  return {
    async load(): Promise<EarlierPush> {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : `cannot be read (${code})`;
        throw new ConfigurationError(`Cannot use ${source}: ${why}`, { cause: error });
      }
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch (error) {
        // Typically the file a shell truncated before the push wrote to it (`--retry-from r.json > r.json`).
        throw new ConfigurationError(
          `Cannot use ${source}: it is empty or not a complete push --json result`,
          {
            cause: error,
          },
        );
      }
      const shaped = document as {
        key?: { fingerprint?: unknown };
        results?: { site?: unknown; outcome?: unknown }[];
      } | null;
      if (!Array.isArray(shaped?.results) || typeof shaped?.key?.fingerprint !== 'string') {
        throw new ConfigurationError(`Cannot use ${source}: not a push --json result`);
      }
      return {
        source,
        keyFingerprint: shaped.key.fingerprint,
        confirmedSites: shaped.results.flatMap((result) =>
          result.outcome === 'confirmed' && typeof result.site === 'string' ? [result.site] : [],
        ),
      };
    },
  };
}

/**
 * Writes a push's result document: to `path` when given (replaced if it exists), else to a new
 * `push-result-<UTC timestamp>.json` in `directory`. Returns the path written; throws when it cannot.
 */
export function savePushResult(document: unknown, path: string | undefined, directory: string): string {
  const target =
    path ?? join(directory, `push-result-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`, {
    encoding: 'utf8',
    mode: 0o600,
    flag: path === undefined ? 'wx' : 'w',
  });
  return target;
}
