/**
 * Messages between the orchestrator (`run.ts`, `smoke.ts`), the fleet process and the client processes.
 * Everything travels over Node's IPC channel (`child_process.fork`), never over the network.
 */

/** First message to the fleet process. */
export interface FleetStart {
  readonly type: 'start';
  readonly size: number;
  /** First loopback address; the next sites count up (127.1.0.1, 127.1.0.2, ...). */
  readonly firstAddress: string;
  readonly port: number;
  readonly masterApiKey: string;
  readonly latencyMs: number;
}

export type FleetCommand =
  | FleetStart
  /** Sets every site's reply delay; takes effect from the next request, no restart. */
  | { readonly type: 'latency'; readonly id: number; readonly latencyMs: number }
  /** Forgets stored keys and counters, so the next case starts from an empty fleet. */
  | { readonly type: 'reset'; readonly id: number }
  /** How many of the first `first` sites store the key with this fingerprint. */
  | { readonly type: 'count'; readonly id: number; readonly first: number; readonly keyFingerprint: string };

export type FleetReply =
  | {
      readonly type: 'ready';
      readonly caPem: string;
      readonly urls: readonly string[];
      readonly startMs: number;
    }
  | {
      readonly type: 'done';
      readonly id: number;
      /** CPU (user + system) the fleet process used since it started, in ms. */
      readonly cpuMs: number;
      readonly holding?: number;
      readonly requests?: number;
    }
  | { readonly type: 'failed'; readonly message: string };

/** What a client process is asked to do once it reported `ready`. */
export interface ClientJob {
  readonly type: 'job';
  readonly urls: readonly string[];
  readonly concurrency: number;
  readonly key: string;
  readonly masterApiKey: string;
  /** PEM of the fleet's CA (undici clients; the fetch client trusts it through NODE_EXTRA_CA_CERTS). */
  readonly caPem: string;
  /**
   * Bare undici's dispatcher: a default Agent, or with 'fleet' a one-shot Agent shaped like the fleet
   * connector (one TLS context, no keep-alive, one connection per origin).
   */
  readonly dispatcher?: 'fleet';
  /**
   * The loopback addresses of a fleet of named sites (sim/wildcard-fleet.ts): the engine looks the names up
   * through sim/sites-resolver.ts over them, never through the machine's resolver.
   */
  readonly addresses?: readonly string[];
}

/** What a client measured around its push, and nothing else (startup excluded). */
export interface ClientReport {
  readonly type: 'report';
  readonly sites: number;
  /** Sites the client saw answer 200 `secret_saved`. */
  readonly confirmed: number;
  /** Outcome → count, for the sites that did not confirm. */
  readonly failures: Readonly<Record<string, number>>;
  readonly wallMs: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** CPU of the whole process so far (startup included), for the machine-load accounting. */
  readonly processCpuMs: number;
  /** `process.resourceUsage().maxRSS`, whole process lifetime, in MB (10^6 bytes). */
  readonly peakRssMb: number;
  /** RSS just before the push started, in MB (10^6 bytes): the runtime and the loaded code. */
  readonly rssBeforeMb: number;
}

export type ClientMessage =
  | { readonly type: 'ready' }
  | ClientReport
  | { readonly type: 'failed'; readonly message: string };

/** Every site listens on this port, each on its own loopback address. */
export const FLEET_PORT = 8443;
