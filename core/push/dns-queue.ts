/**
 * Host name lookups for the fleet push, queued in JavaScript rather than in libuv's thread pool. A lookup
 * the resolver is slow to answer outlives the attempt that asked for it: the connect timeout destroys the
 * socket, but the queued `getaddrinfo` keeps its callback, and through it the dead socket, until it runs.
 * With thousands of hosts that never resolve, that is hundreds of megabytes and minutes of thread-pool work
 * after the push is over. Here a lookup still queued when its attempt's connect timeout has passed is
 * answered at once with an error that nothing reads (net ignores a lookup answered after the socket closed),
 * and never reaches the resolver. IP addresses are never looked up: net does not call `lookup` for them.
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** libuv's default thread pool size: more lookups at once would only queue there, out of reach. */
export const LOOKUPS_IN_FLIGHT = 4;

/** The answer given to a lookup dropped from the queue. */
export class LookupAbandonedError extends Error {
  override readonly name = 'LookupAbandonedError';
  readonly code = 'ELOOKUPABANDONED';
}

export interface LookupQueueOptions {
  /** How long the socket that asked waits before its connect timeout destroys it. */
  readonly connectTimeoutMs: number;
  /** @default LOOKUPS_IN_FLIGHT */
  readonly inFlight?: number;
  /** The resolver. @default dns.lookup */
  readonly lookup?: LookupFunction;
  /** @default performance.now */
  readonly now?: () => number;
}

/**
 * Past its deadline a queued lookup's socket is gone; the margin keeps a lookup whose attempt is about to
 * end from racing its timer. An abandoned lookup also reads as a timeout (site-answer.ts).
 */
const ABANDON_MARGIN_MS = 1_500;

/** A `lookup` for `net`/`tls.connect` options that drops lookups whose socket has timed out meanwhile. */
export function lookupQueue(options: LookupQueueOptions): LookupFunction {
  const resolve = options.lookup ?? (dnsLookup as LookupFunction);
  const now = options.now ?? (() => performance.now());
  const limit = options.inFlight ?? LOOKUPS_IN_FLIGHT;
  const waitLimitMs = options.connectTimeoutMs + ABANDON_MARGIN_MS;
  type Callback = Parameters<LookupFunction>[2];
  type Queued = {
    hostname: string;
    lookupOptions: Parameters<LookupFunction>[1];
    callback: Callback;
    deadline: number;
  };
  // Consumed entries are cleared at once: each holds a callback, and through it a socket.
  const queue: (Queued | undefined)[] = [];
  let head = 0;
  let running = 0;

  const next = (): void => {
    while (running < limit && head < queue.length) {
      const item = queue[head] as Queued;
      queue[head] = undefined;
      head += 1;
      if (now() > item.deadline) {
        item.callback(
          new LookupAbandonedError(`lookup of ${item.hostname} abandoned: its attempt timed out`),
          '',
          0,
        );
        continue;
      }
      running += 1;
      resolve(item.hostname, item.lookupOptions, (...answer: Parameters<Callback>) => {
        running -= 1;
        item.callback(...answer);
        next();
      });
    }
    // Drop the consumed front now and then, so a queue that never empties does not grow forever.
    if (head === queue.length || head > 1024) {
      queue.splice(0, head);
      head = 0;
    }
  };

  return (hostname, lookupOptions, callback) => {
    queue.push({ hostname, lookupOptions, callback, deadline: now() + waitLimitMs });
    next();
  };
}
