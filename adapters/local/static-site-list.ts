/**
 * Site lists that do not come from SSM: a `sites.txt` file (the CLI's `push`, read again at every load like
 * the parameter would be) or text held in memory (the demo). Same format, validation and messages as the
 * deployed list, through `parseSiteList`.
 */
import { readFile, stat } from 'node:fs/promises';
import type { SiteList, SiteListSource } from '../../core/index.js';
import { ConfigurationError, MAX_SITE_URL_CHARS, MAX_SITES, parseSiteList } from '../../core/index.js';

/** Far above MAX_SITES lines of MAX_SITE_URL_CHARS; anything larger is not a site list. */
export const MAX_SITES_FILE_BYTES = 2 * MAX_SITES * MAX_SITE_URL_CHARS;

/** A list held as text; `source` names it in every message (e.g. "demo sites.txt"). */
export function siteListFromText(source: string, text: string): SiteListSource {
  return { load: async (): Promise<SiteList> => parseSiteList([{ source, text, itemSeparator: 'line' }]) };
}

/** A `sites.txt` file, read at every `load()`; errors name the path and the line. */
export function siteListFromFile(path: string): SiteListSource {
  return {
    async load(): Promise<SiteList> {
      let text: string;
      try {
        const info = await stat(path);
        if (!info.isFile()) throw new ConfigurationError(`The sites file ${path} is not a regular file`);
        if (info.size > MAX_SITES_FILE_BYTES) {
          throw new ConfigurationError(
            `The sites file ${path} is ${info.size} bytes, more than a site list can be (${MAX_SITES_FILE_BYTES})`,
          );
        }
        text = await readFile(path, 'utf8');
      } catch (error) {
        if (error instanceof ConfigurationError) throw error;
        const code = (error as { code?: unknown }).code;
        throw new ConfigurationError(
          `Cannot read the sites file ${path}: ${code === 'ENOENT' ? 'no such file' : String(code ?? error)}`,
          { cause: error },
        );
      }
      return parseSiteList([{ source: path, text, itemSeparator: 'line' }]);
    },
  };
}
