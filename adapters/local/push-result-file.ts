/**
 * An earlier push read back from the file its `push --json` output was saved to: its key's fingerprint and
 * the sites it shows confirmed. Nothing else of the document is trusted or used.
 */
import { readFile } from 'node:fs/promises';
import { ConfigurationError, type EarlierPush, type EarlierPushSource, printable } from '../../core/index.js';

/** `label` says how the operator gave the file (e.g. `--retry-from`); messages name both. */
export function earlierPushFromFile(path: string, label: string): EarlierPushSource {
  const source = `${label} ${printable(path)}`;
  return {
    async load(): Promise<EarlierPush> {
      let document: unknown;
      try {
        document = JSON.parse(await readFile(path, 'utf8'));
      } catch (error) {
        throw new ConfigurationError(
          `Cannot use ${source}: not a readable push --json result (${(error as Error).name})`,
          { cause: error },
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
