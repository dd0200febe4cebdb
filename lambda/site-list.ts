/**
 * The site list in the `sites.txt` format: one https URL per line, blank lines and `#` comments
 * ignored. Pure parsing, validation and normalisation; where the text comes from is the adapters' business.
 */
import { ConfigurationError } from './errors.js';
import { maskKey } from './keys.js';
import type { SiteList } from './ports.js';

export interface SiteListInput {
  /** Where the text came from (parameter name or file path); named in every message. */
  readonly source: string;
  readonly text: string;
  /** 'comma' for SSM StringList parameters; their items are numbered like lines. */
  readonly itemSeparator: 'line' | 'comma';
}

/**
 * Bounds the work of one rotation (pushes, ledger snapshot) whatever the parameters hold; far above any
 * fleet this tool is meant for.
 */
export const MAX_SITES = 10_000;
/** One error listing thousands of lines would be unreadable and exceed Lambda's error payload. */
export const MAX_REPORTED_PROBLEMS = 100;
/** The ledger keys each site by URL, and a DynamoDB sort key holds at most 1 KiB. */
export const MAX_SITE_URL_CHARS = 1000;
/** Longer items are cut in messages. */
const MAX_SHOWN_CHARS = 120;

/** Host-name shaped (DNS labels of at most 63 characters), with optional scheme, port and path; or a bare scheme. */
const LOOKS_LIKE_ADDRESS =
  /^(?:(?:[a-z][a-z0-9+.-]*:\/\/)?[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+(?::\d+)?(?:\/\S*)?|[a-z]+:\/*)$/i;

const FORMAT_HINT = 'one https://host[/path] URL per line, # starts a comment';

/**
 * What a list entry may be shown as: it starts like an address (optional scheme, optional userinfo, then a
 * host of DNS labels ending the word or followed by a port, path, query or fragment). Keys, tokens and
 * `NAME=value` lines do not; their userinfo, query and fragment are hidden before showing anyway.
 */
const ADDRESS_START =
  /^(?:(?:[a-z][a-z0-9+.-]*:[/\\]*)?(?:[^\s@/\\?#]*@)?[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+(?=[:/\\?#]|$)|[a-z]+:[/\\]*$)/i;

/** C0/C1 controls (ESC, BEL, …), format characters (bidi overrides) and line separators: never shown. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export type SiteCheck = { readonly site: string } | { readonly problem: string };

/**
 * Validates one non-blank, non-comment item and returns its normalised form: lowercase host, no default
 * port, no trailing slash. Problems describe the item without its credentials, query or fragment.
 */
export function checkSite(item: string): SiteCheck {
  const refuse = (what: string): SiteCheck => ({ problem: `${what} (${displayItem(item)})` });
  if (/\s/.test(item)) return refuse('contains whitespace; put one URL per line');
  if (item.length > MAX_SITE_URL_CHARS) return refuse(`longer than ${MAX_SITE_URL_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    // Shown only when it reads as an address (a missing scheme is a common slip); anything else may be a
    // key or token pasted into the wrong place.
    return LOOKS_LIKE_ADDRESS.test(item)
      ? refuse('not a valid URL; expected https://host[/path]')
      : { problem: `not a valid URL; expected https://host[/path] (${item.length} chars, not shown)` };
  }
  // Before the scheme check: in `user:pass@host` the parser takes "user" for the scheme.
  if (hideUserinfo(item) !== item) {
    return refuse('credentials in the URL are refused; sites authenticate the push with X-API-Key');
  }
  if (url.protocol !== 'https:') return refuse(`${url.protocol.slice(0, -1)} URL refused, https required`);
  // WHATWG URL forgives `https:host` or backslashes; a list operators read should say what it means.
  if (!/^https:\/\/[^/\\]/i.test(item) || item.includes('\\')) {
    return refuse('malformed https URL; expected https://host[/path]');
  }
  if (item.includes('?')) return refuse('query string refused; a site is an origin plus an optional path');
  if (item.includes('#')) return refuse('fragment refused; a site is an origin plus an optional path');
  return { site: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

/**
 * Parses the inputs in order into one list. Duplicates (after normalisation, across inputs) keep their
 * first occurrence and are reported; invalid items all go into one ConfigurationError.
 */
export function parseSiteList(inputs: readonly SiteListInput[]): SiteList {
  const sources = inputs.map((input) => input.source);
  const sites: string[] = [];
  const firstSeen = new Map<string, string>();
  const duplicates: string[] = [];
  const problems: string[] = [];
  let invalid = 0;

  for (const input of inputs) {
    const unit = input.itemSeparator === 'comma' ? 'item' : 'line';
    const items = input.text.split(input.itemSeparator === 'comma' ? ',' : /\r\n|\r|\n/);
    for (const [index, raw] of items.entries()) {
      const item = withoutComment(raw).trim();
      if (item === '') continue;
      const where = `${input.source} ${unit} ${index + 1}`;
      const check = checkSite(item);
      if ('problem' in check) {
        invalid += 1;
        if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(`${where}: ${check.problem}`);
        continue;
      }
      const first = firstSeen.get(check.site);
      if (first !== undefined) {
        duplicates.push(`${where} repeats ${first} (${check.site})`);
        continue;
      }
      if (sites.length === MAX_SITES) {
        throw new ConfigurationError(
          `The site list has more than ${MAX_SITES} sites (${where} is site ${MAX_SITES + 1}); ` +
            'split the fleet across several deployments.',
        );
      }
      firstSeen.set(check.site, where);
      sites.push(check.site);
    }
  }

  if (invalid > 0) {
    const shown = invalid > problems.length ? ` (first ${problems.length} shown)` : '';
    throw new ConfigurationError(
      `The site list in ${sources.join(', ')} has ${invalid} invalid ${invalid === 1 ? 'entry' : 'entries'}` +
        `${shown}; fix ${invalid === 1 ? 'it' : 'them'} (${FORMAT_HINT}):`,
      { problems },
    );
  }
  if (sites.length === 0) {
    const where =
      sources.length === 0
        ? 'no parameter was read'
        : `${sources.join(', ')} ${sources.length === 1 ? 'holds' : 'hold'} no site`;
    throw new ConfigurationError(
      `The site list is empty: ${where}. Put the template sites there, ${FORMAT_HINT} ` +
        '(a StringList takes them comma-separated), e.g. https://shop.example.com',
    );
  }
  return { sites, sources, duplicates };
}

/**
 * A line without its comment: `#` at the start, or after whitespace (`https://shop.example.com  # main`).
 * A `#` inside a URL is a fragment, refused with its own message.
 */
function withoutComment(line: string): string {
  const start = line.search(/(^|\s)#/);
  return start === -1 ? line : line.slice(0, start);
}

/**
 * An item as shown in messages. Only what reads as an address is shown (a line may be anything pasted into
 * the list: `export TEMPLATE_MASTER_API_KEY=…`, a key, a token), word by word, with userinfo, query and
 * fragment hidden, Stripe keys masked, unprintable characters replaced and the length capped.
 */
function displayItem(item: string): string {
  const readable = (word: string) => ADDRESS_START.test(word) && !UNPRINTABLE.test(word);
  const words = item.split(/\s+/);
  if (!words.some(readable)) return `${item.length} chars, not shown`;
  const shown = words
    .map((word) => (readable(word) ? showAddress(word) : `<${word.length} chars>`))
    .join(' ');
  return shown.length > MAX_SHOWN_CHARS ? `${shown.slice(0, MAX_SHOWN_CHARS)}…` : shown;
}

function showAddress(word: string): string {
  return hideUserinfo(word)
    .replace(/\?[^#]+/, '?***')
    .replace(/#.+$/, '#***')
    .replace(/[sr]k_(?:test|live)_[A-Za-z0-9]+/g, (key) => maskKey(key));
}

/**
 * Hides whatever a URL parser could take as userinfo: the authority (after `scheme:` and slashes, up to
 * / \ ? #) up to its last `@`. Without slashes after a would-be scheme the whole head is hidden, since
 * `user:pass@host` parses with "user" as the scheme.
 */
function hideUserinfo(item: string): string {
  const withScheme = /^([A-Za-z][A-Za-z0-9+.-]*:[/\\]+)[^/\\?#]*@/;
  if (withScheme.test(item)) return item.replace(withScheme, '$1***@');
  return item.replace(/^[^/\\?#]*@/, '***@');
}
