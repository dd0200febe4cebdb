/**
 * What a simulated template site does with a request: the request and reply shapes, the template sites'
 * endpoint answer for answer (`templateEndpoint`), and builders for the faults tests script on a site
 * (`site.behave(...)` in `template-fleet.ts`). Free of I/O and of test-framework imports.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** The template sites' endpoint path. */
export const TEMPLATE_ENDPOINT_PATH = '/api/export/settings/stripe_secret_key';

/** A request as a site received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** Lower-cased header names, as Node parses them. */
  readonly headers: Readonly<IncomingHttpHeaders>;
  readonly rawBody: string;
  /** The body parsed as JSON, or undefined when it is not valid JSON. */
  readonly body: unknown;
  /** Monotonic arrival time, `performance.now()` milliseconds. */
  readonly receivedAt: number;
}

/** What a site does with a request. */
export type SiteReply =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  /** Streams `bytes` filler bytes, with or without a Content-Length announcing them. */
  | {
      readonly kind: 'stream';
      readonly status: number;
      readonly bytes: number;
      readonly declareLength: boolean;
      readonly headers?: Readonly<Record<string, string>>;
      /** Sends the body `chunkBytes` at a time, `intervalMs` apart; default as fast as the client reads. */
      readonly pace?: { readonly chunkBytes: number; readonly intervalMs: number };
    }
  /** Never answers; the connection stays open until the client gives up or the fleet closes. */
  | { readonly kind: 'hang' }
  /** Drops the connection without answering. */
  | { readonly kind: 'reset' };

/** The mutable state a behaviour may read or change. */
export interface SiteState {
  readonly url: string;
  /** The X-API-Key this site accepts (TEMPLATE_MASTER_API_KEY on a real site). */
  masterApiKey: string;
  /** The Stripe key the site currently stores (`set_setting('stripe_secret_key', value)`). */
  storedKey: string | undefined;
}

export type SiteBehaviour = (request: ReceivedRequest, site: SiteState) => SiteReply | Promise<SiteReply>;

/** A JSON answer, as Flask's `jsonify` writes it. */
export function json(
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): SiteReply {
  return {
    kind: 'answer',
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: `${JSON.stringify(value)}\n`,
  };
}

function werkzeugError(status: number, title: string, text: string, headers: Record<string, string> = {}) {
  const body =
    `<!doctype html>\n<html lang=en>\n<title>${status} ${title}</title>\n` +
    `<h1>${title}</h1>\n<p>${text}</p>\n`;
  return {
    kind: 'answer',
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', ...headers },
    body,
  } as const satisfies SiteReply;
}

/** Python's `re.match(r'^sk_(test|live)_[A-Za-z0-9]+$', value)`: `$` also matches before a final newline. */
const TEMPLATE_KEY_PATTERN = /^sk_(test|live)_[A-Za-z0-9]+\n?$/;

/** Python truthiness of a JSON value (`data or {}`, `if not value`). */
function pythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/**
 * The template sites' endpoint (a Flask view), answer for answer: 404 for other paths, 405 for other methods, 401 for a wrong
 * X-API-Key, 415/400 when the body is not JSON (Flask 3 `get_json()`), 500 where the Python code would raise,
 * 400 `invalid_secret_format` for a bad value, else store it and answer 200 `secret_saved`.
 */
export const templateEndpoint: SiteBehaviour = (request, site) => {
  if (request.path !== TEMPLATE_ENDPOINT_PATH) {
    return werkzeugError(
      404,
      'Not Found',
      'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.',
    );
  }
  if (request.method !== 'PUT') {
    return werkzeugError(405, 'Method Not Allowed', 'The method is not allowed for the requested URL.', {
      allow: 'OPTIONS, PUT',
    });
  }
  if (request.headers['x-api-key'] !== site.masterApiKey) {
    return json(401, { success: false, error: 'invalid_api_key' });
  }
  const mimeType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (
    !(mimeType === 'application/json' || (mimeType.startsWith('application/') && mimeType.endsWith('+json')))
  ) {
    return werkzeugError(
      415,
      'Unsupported Media Type',
      "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
    );
  }
  if (request.body === undefined) {
    return werkzeugError(
      400,
      'Bad Request',
      'The browser (or proxy) sent a request that this server could not understand.',
    );
  }
  const data = pythonTruthy(request.body) ? request.body : {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return werkzeugError(500, 'Internal Server Error', 'The server encountered an internal error.');
  }
  const value = (data as Record<string, unknown>).value;
  if (!pythonTruthy(value)) return json(400, { success: false, error: 'invalid_secret_format' });
  if (typeof value !== 'string') {
    return werkzeugError(500, 'Internal Server Error', 'The server encountered an internal error.');
  }
  if (!TEMPLATE_KEY_PATTERN.test(value)) return json(400, { success: false, error: 'invalid_secret_format' });
  site.storedKey = value;
  return json(200, { success: true, message: 'secret_saved' });
};

/** Always the same reply. */
export function always(reply: SiteReply): SiteBehaviour {
  return () => reply;
}

/** The i-th request gets `first[i]`; once they are used up, `then` (the template endpoint by default). */
export function sequence(
  first: readonly (SiteReply | SiteBehaviour)[],
  then: SiteBehaviour = templateEndpoint,
): SiteBehaviour {
  let served = 0;
  return (request, site) => {
    const next = first[served];
    served += 1;
    if (next === undefined) return then(request, site);
    return typeof next === 'function' ? next(request, site) : next;
  };
}

/** Never answers. */
export function hang(): SiteBehaviour {
  return () => ({ kind: 'hang' });
}

/** Drops the connection without an answer. */
export function reset(): SiteBehaviour {
  return () => ({ kind: 'reset' });
}

/** Redirects (307 by default) to `location`. */
export function redirect(location: string, status = 307): SiteBehaviour {
  return () => ({ kind: 'answer', status, headers: { location }, body: '' });
}

/** Answers with `bytes` bytes of body (status 200 by default). */
export function hugeBody(
  bytes: number,
  options: { status?: number; declareLength?: boolean } = {},
): SiteBehaviour {
  return () => ({
    kind: 'stream',
    status: options.status ?? 200,
    bytes,
    declareLength: options.declareLength ?? true,
    headers: { 'content-type': 'application/json' },
  });
}

/**
 * Answers 200 with a JSON content type and a `bytes`-byte body sent `chunkBytes` every `intervalMs`: each
 * chunk arrives well inside a per-read timeout, the whole body does not arrive inside a per-attempt one.
 */
export function slowBody(bytes: number, chunkBytes: number, intervalMs: number): SiteBehaviour {
  return () => ({
    kind: 'stream',
    status: 200,
    bytes,
    declareLength: true,
    headers: { 'content-type': 'application/json' },
    pace: { chunkBytes, intervalMs },
  });
}

/** Sends a 200 status line and headers announcing a body, then nothing more. */
export function hangAfterHeaders(): SiteBehaviour {
  return slowBody(1024, 1, 3_600_000);
}

/** Waits `ms` before behaving like `behaviour`. */
export function delayed(ms: number, behaviour: SiteBehaviour = templateEndpoint): SiteBehaviour {
  return async (request, site) => {
    // Unreferenced: a pending delay must not keep a finished test or demo alive.
    await sleep(ms, undefined, { ref: false });
    return behaviour(request, site);
  };
}
