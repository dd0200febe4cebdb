/**
 * The pieces of undici the rotation function uses, loaded from their own modules rather than from undici's
 * index, which also loads fetch, WebSocket, EventSource, the HTTP caches, the mocks and proxies: about
 * 245 KB of the bundle and 40 ms of every cold start (bench/results.md, bench/README.md).
 * Those module paths are undici internals. undici is pinned exactly, and test/unit/undici-parts.test.ts
 * proves each one is the very object undici's public API exports, so an upgrade that moves them fails there.
 */
import type { Dispatcher } from 'undici';
import dispatcherApi from 'undici/lib/api/index.js';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';

// What undici's index does on load: without it, `request`, `stream`, `pipeline`… would be missing from every
// dispatcher in the bundle while still type-checking (undici's types declare them).
Object.assign(DispatcherClass.prototype, dispatcherApi);

/** undici's `Agent`. */
export const Agent = AgentClass;

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & {
  readonly dispatcher: Dispatcher;
};

/**
 * `undici.request(url, options)` with an explicit dispatcher (never undici's global one): the same
 * `Dispatcher.request` underneath, origin and path taken from the URL. Every failure is a rejection.
 */
export async function request(url: string, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...requestOptions } = options;
  const { origin, pathname, search } = new URL(url);
  return dispatcher.request({ ...requestOptions, origin, path: `${pathname}${search}` });
}
