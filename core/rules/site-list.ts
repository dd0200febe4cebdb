/**
 * The site list in the `sites.txt` format: one https URL per line, blank lines and `#` comments
 * ignored. Pure parsing, validation and normalisation; where the text comes from is the adapters' business.
 */
import { ConfigurationError } from '../errors.js';
import type { SiteList } from '../ports.js';
import { KEY_IN_TEXT, maskKeysIn } from './keys.js';

export interface SiteListInput {
  /** Where the text came from (parameter name or file path); named in every message. */
  readonly source: string;
  readonly text: string;
  /** 'comma' for SSM StringList parameters; their items are numbered like lines. */
  readonly itemSeparator: 'line' | 'comma';
}

/**
 * Bounds the work of one rotation (pushes, ledger snapshot) whatever the parameters hold: as deployed, at
 * the default memory size, a 10,000-site setSecret took 208 s (bench/deployed.md, row "10000 | 512"), and
 * the push's CPU per site stays flat to 50,000 sites (bench/engine-scale.md), so twice that fits within
 * half the 900 s timeout. docs/sizing.md gives the SSM storage such a list takes.
 */
export const MAX_SITES = 20_000;
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

const KEY_SHAPED = new RegExp(KEY_IN_TEXT);
const KEY_IN_URL = 'a Stripe key inside a site URL is refused; a site URL carries no secret';

/** `%xx` escapes decoded one by one, so a malformed escape elsewhere cannot hide an encoded key. */
function percentDecoded(item: string): string {
  return item.replace(/%[0-9a-f]{2}/gi, (sequence) =>
    String.fromCharCode(Number.parseInt(sequence.slice(1), 16)),
  );
}

export type SiteCheck = { readonly site: string } | { readonly problem: string };

/**
 * Validates one non-blank, non-comment item and returns its normalised form: lowercase host, no default
 * port, no trailing slash. Problems describe the item without its credentials, query or fragment.
 */
export function checkSite(item: string): SiteCheck {
  const refuse = (what: string): SiteCheck => ({ problem: `${what} (${displayItem(item)})` });
  // A key percent-encoded into an item is a key to the site all the same, and too disguised to mask.
  if (!KEY_SHAPED.test(item) && KEY_SHAPED.test(percentDecoded(item))) {
    return { problem: `${KEY_IN_URL} (${item.length} chars, not shown)` };
  }
  if (CONTROL_CHARACTER.test(item)) return refuse('contains a control character');
  if (/\s/.test(item)) return refuse('contains whitespace; put one URL per line');
  if (item.length > MAX_SITE_URL_CHARS) return refuse(`longer than ${MAX_SITE_URL_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    // Shown only when it reads as an address (a missing scheme is a common slip); anything else may be a
    // key or token pasted into the wrong place.
    return LOOKS_LIKE_ADDRESS.test(item) && PRINTABLE.test(item)
      ? refuse('not a valid URL; expected https://host[/path]')
      : { problem: `not a valid URL; expected https://host[/path] (${item.length} chars, not shown)` };
  }
  // A key in a URL would be printed with the list and sent in the request line.
  if (KEY_SHAPED.test(item)) return refuse(KEY_IN_URL);
  // Before the scheme check: in `user:pass@host` the parser takes "user" for the scheme.
  if (hideUserinfo(item) !== item) {
    return refuse('credentials in the URL are refused; sites authenticate the push with X-API-Key');
  }
  if (url.protocol !== 'https:') return refuse(`${url.protocol.slice(0, -1)} URL refused, https required`);
  // WHATWG URL forgives `https:host` or backslashes; a list operators read should say what it means.
  if (!/^https:\/\/[^/\\]/i.test(item) || item.includes('\\')) {
    return refuse('malformed https URL; expected https://host[/path]');
  }
  if (url.port === '0') return refuse('port 0 refused; give the port the site listens on, or none for 443');
  if (item.includes('?')) return refuse('query string refused; a site is an origin plus an optional path');
  if (item.includes('#')) return refuse('fragment refused; a site is an origin plus an optional path');
  return { site: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

/**
 * Parses the inputs in order into one list. Duplicates (after normalisation, across inputs) keep their
 * first occurrence and are reported, the first MAX_REPORTED_PROBLEMS by line and the rest as a count;
 * invalid items all go into one ConfigurationError.
 */
export function parseSiteList(inputs: readonly SiteListInput[]): SiteList {
  const sources = inputs.map((input) => input.source);
  const sites: string[] = [];
  const firstSeen = new Map<string, string>();
  const duplicates: string[] = [];
  const problems: string[] = [];
  let invalid = 0;
  let repeated = 0;

  for (const input of inputs) {
    const unit = input.itemSeparator === 'comma' ? 'item' : 'line';
    const items = input.text.split(input.itemSeparator === 'comma' ? ',' : /\r\n|\r|\n/);
    for (const [index, raw] of items.entries()) {
      // `#` starts a comment at the start of a line or after whitespace (a URL's `#` fragment has none).
      const item = raw.replace(/(?:^|\s)#.*$/, '').trim();
      if (item === '') continue;
      const where = `${printable(input.source)} ${unit} ${index + 1}`;
      const check = checkSite(item);
      if ('problem' in check) {
        invalid += 1;
        if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(`${where}: ${check.problem}`);
        continue;
      }
      const first = firstSeen.get(check.site);
      if (first !== undefined) {
        repeated += 1;
        if (duplicates.length < MAX_REPORTED_PROBLEMS)
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
      `The site list in ${sources.map(printable).join(', ')} has ${invalid} invalid ${invalid === 1 ? 'entry' : 'entries'}` +
        `${shown}; fix ${invalid === 1 ? 'it' : 'them'} (${FORMAT_HINT}):`,
      { problems },
    );
  }
  if (sites.length === 0) {
    const where =
      sources.length === 0
        ? 'no parameter was read'
        : `${sources.map(printable).join(', ')} ${sources.length === 1 ? 'holds' : 'hold'} no site`;
    throw new ConfigurationError(
      `The site list is empty: ${where}. Put the template sites there, ${FORMAT_HINT} ` +
        '(a StringList takes them comma-separated), e.g. https://shop.example.com',
    );
  }
  if (repeated > duplicates.length) {
    duplicates.push(`${repeated - duplicates.length} more repeated entries, not listed (${repeated} in all)`);
  }
  return { sites, sources, duplicates };
}

/**
 * An item as shown in messages, built so that neither a secret nor a terminal control byte can get through:
 * only tokens shaped like an address are shown (userinfo, query and fragment hidden, Stripe keys masked);
 * any other token (`export TEMPLATE_MASTER_API_KEY=…`, a pasted key) is replaced by its length, and
 * anything outside printable ASCII by `?`. Length capped.
 */
function displayItem(item: string): string {
  const shown = item
    .split(/\s+/)
    .filter((token) => token !== '')
    .map((token) => {
      const hidden = hideUserinfo(token)
        .replace(/\?[^#]+/, '?***')
        .replace(/#.+$/, '#***');
      return PRINTABLE.test(hidden) && SHOWABLE.some((shape) => shape.test(hidden))
        ? maskKeysIn(hidden)
        : `[${token.length} chars]`;
    })
    .join(' ');
  return shown.length > MAX_SHOWN_CHARS ? `${shown.slice(0, MAX_SHOWN_CHARS)}…` : shown;
}

/**
 * Token shapes a message may quote once userinfo, query and fragment are hidden: an address, a URL with a
 * scheme and a host-like start, hidden userinfo before a host, or a short plain word ("not a url").
 */
const SHOWABLE = [
  LOOKS_LIKE_ADDRESS,
  /^[a-z]{2,10}:(?:[/\\]|[a-z0-9-]+\.)/i,
  /^\*\*\*@[a-z0-9-]+\./i,
  /^[A-Za-z]{1,12}$/,
];

/** A C0 or C1 control character other than tab, newline and carriage return (ESC, BEL, DEL, CSI...). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job.
export const CONTROL_CHARACTER = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;

/** Printable ASCII only: what a message may quote from an input. */
const PRINTABLE = /^[\x20-\x7e]*$/;

/** Text from an input (a source name, a file path) made safe to print: control and non-ASCII bytes as `?`. */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
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
