import { describe, expect, it } from 'vitest';
import {
  describeKey,
  describeMaskedKey,
  fingerprint,
  KEY_IN_TEXT,
  keyJson,
  keyModeOf,
  keyProblem,
  MIN_SECRET_KEY_BODY_CHARS,
  maskKey,
  maskKeysIn,
  masterApiKeyProblem,
  truncatedKeyProblem,
} from '../../core/rules/keys.js';
import { secret } from '../support/secret-guard.js';

const LIVE = secret(`sk_live_51Hx${'Q7w'.repeat(30)}abcd`);

describe('key masking', () => {
  it('shows a key as its prefix and last four characters', () => {
    expect(maskKey(LIVE)).toBe('sk_live_…abcd');
  });

  it('hides the tail of a key too short to reveal safely', () => {
    expect(maskKey(secret('sk_test_Short123'))).toBe('sk_test_…');
  });

  it('shows only the length of a malformed value', () => {
    expect(maskKey(secret('sk_live_bad key'))).toBe('<malformed value, 15 chars>');
    expect(maskKey(secret('master-key-value'))).toBe('<malformed value, 16 chars>');
  });

  it('identifies a key by a stable 12-hex-digit SHA-256 fingerprint', () => {
    expect(fingerprint(LIVE)).toMatch(/^[0-9a-f]{12}$/);
    expect(fingerprint(LIVE)).toBe(fingerprint(`${LIVE}`));
    expect(fingerprint(LIVE)).not.toBe(fingerprint(`${LIVE}x`));
    expect(describeKey(LIVE)).toBe(`sk_live_…abcd (fp ${fingerprint(LIVE)})`);
  });
});

describe('a key in JSON output and in the ledger view', () => {
  it('is its masked form, fingerprint and mode, never the key', () => {
    expect(keyJson(LIVE)).toEqual({ masked: 'sk_live_…abcd', fingerprint: fingerprint(LIVE), mode: 'live' });
    expect(JSON.stringify(keyJson(LIVE))).not.toContain(LIVE.slice(8, -4));
  });

  it('has no mode for a value that is not a secret key', () => {
    expect(keyJson(secret('master-key-value'))).toEqual({
      masked: '<malformed value, 16 chars>',
      fingerprint: fingerprint('master-key-value'),
      mode: null,
    });
  });

  it('reads, known only masked as the ledger holds it, exactly as a key described in full', () => {
    expect(describeMaskedKey(maskKey(LIVE), fingerprint(LIVE))).toBe(describeKey(LIVE));
  });
});

describe('key validation', () => {
  it('reads the mode from the prefix', () => {
    expect(keyModeOf(LIVE)).toBe('live');
    expect(keyModeOf('sk_test_abc')).toBe('test');
    expect(keyModeOf('pk_live_abc')).toBeUndefined();
  });

  it('accepts a well-formed key of the expected mode', () => {
    expect(keyProblem(LIVE, 'live')).toBeUndefined();
  });

  it('explains each refusal without echoing the key', () => {
    expect(keyProblem(LIVE, 'test')).toBe(
      'is a live key but this deployment rotates test keys (KEY_MODE=test)',
    );
    expect(keyProblem('pk_live_abcdef', 'live')).toContain('publishable');
    expect(keyProblem('sk_live_abc\u200bdef', 'live')).toContain('does not match');
    expect(keyProblem('sk_live_abc\u200bdef', 'live')).not.toContain('abc');
  });

  it('refuses a well-formed key too short to be whole, whatever its mode', () => {
    expect(keyProblem('sk_test_short', 'test')).toBe(
      'looks truncated: 5 characters after the prefix, a Stripe secret key has at least 24 (sk_test_…)',
    );
    expect(keyProblem(`sk_live_${'a'.repeat(23)}`, 'live')).toContain('looks truncated');
    expect(keyProblem(`sk_live_${'a'.repeat(24)}`, 'live')).toBeUndefined();
  });
});

describe('master API key validation', () => {
  it('accepts printable ASCII without spaces', () => {
    expect(masterApiKeyProblem(secret('template-master-key-2025_Abc.~!'))).toBeUndefined();
  });

  it('refuses an empty value, spaces and control characters without echoing the value', () => {
    expect(masterApiKeyProblem('')).toBe('is empty');
    const withNewline = secret('master-key\nsecond-line');
    expect(masterApiKeyProblem(withNewline)).toBe(
      'contains spaces or non-printable characters (22 chars); it cannot be sent as X-API-Key',
    );
    expect(masterApiKeyProblem(secret('master key'))).toContain('contains spaces');
  });

  it('calls a key with fewer than MIN_SECRET_KEY_BODY_CHARS characters after its prefix truncated, masked', () => {
    expect(truncatedKeyProblem('sk_live_51Ab')).toBe(
      `looks truncated: 4 characters after the prefix, a Stripe secret key has at least ${MIN_SECRET_KEY_BODY_CHARS} (sk_live_…)`,
    );
    expect(truncatedKeyProblem(`sk_test_${'a'.repeat(MIN_SECRET_KEY_BODY_CHARS)}`)).toBeUndefined();
    expect(truncatedKeyProblem(LIVE)).toBeUndefined();
  });
});

describe('KEY_IN_TEXT, the one pattern for keys inside a text', () => {
  it('masks secret and restricted keys of both modes wherever they appear', () => {
    const live = `sk_live_${'A1'.repeat(12)}`;
    const restricted = `rk_test_${'b2'.repeat(12)}`;
    expect(maskKeysIn(`a ${live}, then (${restricted}).`)).toBe(
      `a ${maskKey(live)}, then (${maskKey(restricted)}).`,
    );
  });

  it('uses only what CloudWatch Logs custom data identifiers accept (no parentheses, no colon, ≤ 200 chars)', () => {
    expect(KEY_IN_TEXT).toMatch(/^[A-Za-z0-9_#=@/;,\- ^$?[\]{}|\\*+.]{1,200}$/);
  });
});
