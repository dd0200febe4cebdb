import { createHash } from 'node:crypto';
import { SETTINGS } from '../contract.js';

/**
 * A secret or restricted Stripe key anywhere in a text: what the CLI and the site-list messages mask, and what
 * the log group's data-protection policy masks. Written without groups: CloudWatch Logs' custom data
 * identifiers accept no parentheses (nor `:`).
 */
export const KEY_IN_TEXT = '[sr]k_test_[A-Za-z0-9]+|[sr]k_live_[A-Za-z0-9]+';

/** Every key in `text`, masked (`sk_live_…abcd`). */
export function maskKeysIn(text: string): string {
  return text.replace(new RegExp(KEY_IN_TEXT, 'g'), (key) => maskKey(key));
}

/** The template sites' own acceptance rule: `^sk_(test|live)_[A-Za-z0-9]+$`. */
export const STRIPE_SECRET_KEY_PATTERN = /^sk_(test|live)_[A-Za-z0-9]+$/;

export type KeyMode = (typeof SETTINGS.keyMode.allowed)[number];

/** Fewer characters after the prefix than this and the tail is not shown: it would reveal too much. */
const MIN_BODY_FOR_TAIL = 16;

export function keyModeOf(key: string): KeyMode | undefined {
  const match = STRIPE_SECRET_KEY_PATTERN.exec(key);
  return match ? (match[1] as KeyMode) : undefined;
}

/** Short SHA-256 fingerprint: identifies a key across logs, ledger and CLI without revealing it. */
export function fingerprint(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 12);
}

/** `sk_live_…abcd` for a well-formed key; a malformed value shows only its length. */
export function maskKey(key: string): string {
  const match = /^(sk_(?:test|live)_)(.*)$/s.exec(key);
  if (!match || !STRIPE_SECRET_KEY_PATTERN.test(key)) return `<malformed value, ${key.length} chars>`;
  const [, prefix = '', body = ''] = match;
  return body.length >= MIN_BODY_FOR_TAIL ? `${prefix}…${body.slice(-4)}` : `${prefix}…`;
}

/** The one way a key is shown in text: masked form plus fingerprint. */
export function describeKey(key: string): string {
  return describeMaskedKey(maskKey(key), fingerprint(key));
}

/** The text form of a key known only masked, as the ledger holds it (`maskedKey`, `keyFingerprint`). */
export function describeMaskedKey(masked: string, keyFingerprint: string): string {
  return `${masked} (fp ${keyFingerprint})`;
}

/** How the ledger identifies a key without holding it: masked form and fingerprint. */
export function keyIdentity(key: string): { readonly maskedKey: string; readonly keyFingerprint: string } {
  return { maskedKey: maskKey(key), keyFingerprint: fingerprint(key) };
}

/** A key in JSON output (the CLI's --json): masked form, fingerprint and mode, never the key. */
export interface KeyJson {
  readonly masked: string;
  readonly fingerprint: string;
  /** null for a value that is not a well-formed secret key. */
  readonly mode: KeyMode | null;
}

export function keyJson(key: string): KeyJson {
  return { masked: maskKey(key), fingerprint: fingerprint(key), mode: keyModeOf(key) ?? null };
}

/**
 * The one verdict on a candidate key, shared by the rotation, `stage`, `plan` and `push`: format, the
 * deployment's mode, and length (a truncated copy is refused). Returns a problem sentence (never containing
 * the key) or undefined when acceptable.
 */
export function keyProblem(key: string, expectedMode: KeyMode): string | undefined {
  if (!STRIPE_SECRET_KEY_PATTERN.test(key)) {
    if (/^(rk|pk)_(test|live)_/.test(key)) {
      return 'is a restricted or publishable key; a standard secret key (sk_test_/sk_live_) is required';
    }
    if (/\s/.test(key)) return 'contains whitespace inside the key';
    return `does not match ${STRIPE_SECRET_KEY_PATTERN.source} (${maskKey(key)})`;
  }
  const mode = keyModeOf(key);
  if (mode !== expectedMode) {
    return `is a ${mode} key but this deployment rotates ${expectedMode} keys (${SETTINGS.keyMode.variable}=${expectedMode})`;
  }
  return truncatedKeyProblem(key);
}

/**
 * Stripe's secret keys carry at least 24 characters after `sk_test_`/`sk_live_` (99 in today's keys): fewer
 * is a truncated copy, which template sites would store as readily as a whole one.
 */
export const MIN_SECRET_KEY_BODY_CHARS = 24;

/** A problem sentence for a well-formed key too short to be whole, else undefined. */
export function truncatedKeyProblem(key: string): string | undefined {
  const body = key.replace(/^sk_(test|live)_/, '');
  return body.length < MIN_SECRET_KEY_BODY_CHARS
    ? `looks truncated: ${body.length} characters after the prefix, a Stripe secret key has at least ${MIN_SECRET_KEY_BODY_CHARS} (${maskKey(key)})`
    : undefined;
}

/**
 * Checks the sites' master API key (sent as X-API-Key). Returns a problem sentence (never containing the
 * value) or undefined. Printable ASCII without spaces: anything else cannot travel in a header unchanged.
 */
export function masterApiKeyProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (!/^[\x21-\x7e]+$/.test(value)) {
    return `contains spaces or non-printable characters (${value.length} chars); it cannot be sent as X-API-Key`;
  }
  return undefined;
}
