/**
 * The operator's one-off push, as a use case: a key pushed to every site of a site list, on the rotation's
 * own push engine, with no AWS. It reads the list (and, to retry a push, what an earlier push confirmed),
 * optionally checks the key with Stripe, asks for a go-ahead, pushes, and answers with a plain result; the
 * caller hears of each stage through an observer and interrupts through an AbortSignal.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError } from '../errors.js';
import type {
  KeyChecker,
  PushReport,
  PushRequest,
  PushStopReason,
  SiteList,
  SiteListSource,
  SitePusher,
  SiteResult,
} from '../ports.js';
import { describeKey, fingerprint, type KeyMode } from '../rules/keys.js';
import { printable } from '../rules/site-list.js';

/** What an earlier push confirmed: its key's fingerprint and the sites that confirmed it. */
export interface EarlierPush {
  /** How the operator named it, for messages (e.g. `--retry-from result.json`). */
  readonly source: string;
  readonly keyFingerprint: string;
  readonly confirmedSites: readonly string[];
}

export interface EarlierPushSource {
  /** Throws ConfigurationError when it cannot be read or is not a push result. */
  load(): Promise<EarlierPush>;
}

export interface PushFleetPorts {
  readonly siteList: SiteListSource;
  /** A push to retry: the sites it confirmed for the same key are not contacted again. */
  readonly earlierPush?: EarlierPushSource;
  readonly keyChecker: KeyChecker;
  readonly pusher: SitePusher;
}

export interface PushFleetRequest {
  readonly key: string;
  readonly keyMode: KeyMode;
  readonly masterApiKey: string;
  /** Check the key with Stripe (read-only) before anything else; `account`: the account it must belong to. */
  readonly stripeCheck?: { readonly account: string | undefined };
  /** Stop before contacting any site, with the plan. */
  readonly dryRun: boolean;
  /** Aborted: no site is contacted any more; the answers in flight get `graceMs`, later ones are dropped. */
  readonly signal?: AbortSignal;
  readonly graceMs: number;
}

/** What the caller hears, in this order; a hook that throws ends the use case with its error. */
export interface PushFleetObserver {
  /** The whole site list, duplicates included, as read. */
  listed?(list: SiteList): void;
  /** An earlier push confirmed `confirmedEarlier` of the listed sites; `remaining` are left to push. */
  skippingConfirmed?(confirmedEarlier: number, remaining: number): void;
  /** Stripe accepted the key; `account` when it was compared with the one required. */
  stripeAccepted?(account: string | undefined): void;
  /** Asked once before any site is contacted; false: nothing is pushed. Without it, no question. */
  confirm?(plan: PushFleetPlan): Promise<boolean>;
  /** Right before the first request. */
  pushing?(sites: readonly string[]): void;
  /** Each site's final result as it arrives (not after the grace period of an abort ran out). */
  result?(result: SiteResult): void;
}

export interface PushFleetPlan {
  /** The sites to push to (those an earlier push confirmed left out), with the list's sources and duplicates. */
  readonly list: SiteList;
  /** Listed sites an earlier push confirmed, in list order: not contacted, counted as confirmed. */
  readonly confirmedEarlier: readonly string[];
}

export interface PushFleetOutcome extends PushFleetPlan {
  /** One result per site that answered (or was given up on, or never contacted), in list order. */
  readonly results: readonly SiteResult[];
  /**
   * Sites contacted whose answer did not arrive within an interrupt's grace period: they may or may not
   * hold the key. Every other site has a result (never contacted: `not_attempted`).
   */
  readonly unknown: readonly string[];
  /** Why the push stopped launching requests early (an abort is `interrupted`, not a reason). */
  readonly stoppedBecause: PushStopReason | undefined;
  readonly interrupted: boolean;
  readonly elapsedMs: number;
}

export type PushFleetResult =
  | ({ readonly kind: 'planned' } & PushFleetPlan)
  | ({ readonly kind: 'declined' } & PushFleetPlan)
  | ({ readonly kind: 'pushed' } & PushFleetOutcome);

export async function pushFleet(
  ports: PushFleetPorts,
  request: PushFleetRequest,
  observer: PushFleetObserver = {},
): Promise<PushFleetResult> {
  const full = await ports.siteList.load();
  observer.listed?.(full);
  const earlier = await confirmedEarlier(ports.earlierPush, request.key);
  const plan: PushFleetPlan = {
    list: { ...full, sites: full.sites.filter((site) => !earlier.has(site)) },
    confirmedEarlier: full.sites.filter((site) => earlier.has(site)),
  };
  if (ports.earlierPush !== undefined) {
    observer.skippingConfirmed?.(plan.confirmedEarlier.length, plan.list.sites.length);
  }
  if (request.stripeCheck !== undefined) {
    const { key, keyMode, stripeCheck } = request;
    observer.stripeAccepted?.(await ports.keyChecker.check(key, keyMode, undefined, stripeCheck.account));
  }
  if (request.dryRun) return { kind: 'planned', ...plan };
  if (observer.confirm !== undefined && !(await observer.confirm(plan))) return { kind: 'declined', ...plan };

  const { sites } = plan.list;
  observer.pushing?.(sites);
  const started = performance.now();
  const answered = await pushUntilAborted(
    ports.pusher,
    { sites, key: request.key, masterApiKey: request.masterApiKey },
    (result) => observer.result?.(result),
    request,
  );
  const interrupted = request.signal?.aborted === true;
  const { results, unknown } = accountFor(sites, answered, reasonOf(request.signal));
  return {
    kind: 'pushed',
    ...plan,
    results,
    unknown,
    stoppedBecause: interrupted ? undefined : answered.report?.stoppedBecause,
    interrupted,
    elapsedMs: performance.now() - started,
  };
}

/** The sites an earlier push confirmed, provided it pushed the same key. */
async function confirmedEarlier(source: EarlierPushSource | undefined, key: string): Promise<Set<string>> {
  if (source === undefined) return new Set();
  const earlier = await source.load();
  if (earlier.keyFingerprint !== fingerprint(key)) {
    throw new ConfigurationError(
      `${earlier.source} is the result of pushing another key (fp ${printable(earlier.keyFingerprint)}); ` +
        `its confirmed sites do not hold ${describeKey(key)}`,
    );
  }
  return new Set(earlier.confirmedSites);
}

/** A string reason (the CLI's signal name) as given, else undefined. */
function reasonOf(signal: AbortSignal | undefined): string | undefined {
  return typeof signal?.reason === 'string' ? signal.reason : undefined;
}

/** A site not contacted because of a stop: "not attempted: interrupted by SIGINT". */
function stopDetail(reason: string | undefined): string {
  return `not attempted: ${reason === undefined ? 'interrupted' : `interrupted by ${reason}`}`;
}

/**
 * Every site of a push accounted for once, in list order: its result; a site never contacted, a
 * `not_attempted` result; a site contacted whose answer never came, `unknown` (it may hold the key).
 */
export function accountFor(
  sites: readonly string[],
  push: Pick<AbortablePush, 'results' | 'contacted'>,
  reason: string | undefined,
): { readonly results: readonly SiteResult[]; readonly unknown: readonly string[] } {
  const results: SiteResult[] = [];
  const unknown: string[] = [];
  for (const site of sites) {
    const result = push.results.get(site);
    if (result !== undefined) results.push(result);
    else if (push.contacted.has(site)) unknown.push(site);
    else
      results.push({
        site,
        outcome: 'not_attempted',
        detail: stopDetail(reason),
        attempts: 0,
        durationMs: 0,
      });
  }
  return { results, unknown };
}

/** What a push stopped by an abort got: its report (none when the grace period ran out first) and results. */
export interface AbortablePush {
  readonly report: PushReport | undefined;
  /** Every result received; after an abort, a site never contacted is worded as interrupted. */
  readonly results: ReadonlyMap<string, SiteResult>;
  /** Every site a request was sent to (or about to be). */
  readonly contacted: ReadonlySet<string>;
}

/**
 * Pushes with no deadline until `stop.signal` aborts; from then on nothing new starts, and the push is
 * waited for at most `stop.graceMs` more: every result received by then (each also given to `onResult`),
 * and the report when the push ended in time. Results arriving later are dropped.
 */
export async function pushUntilAborted(
  pusher: SitePusher,
  request: Omit<PushRequest, 'remainingTimeMs' | 'onResult'>,
  onResult: (result: SiteResult) => void,
  stop: { readonly signal?: AbortSignal | undefined; readonly graceMs: number },
): Promise<AbortablePush> {
  const { signal, graceMs } = stop;
  const results = new Map<string, SiteResult>();
  const contacted = new Set<string>();
  let reporting = true;
  const grace = new AbortController();
  let startGrace = (): void => undefined;
  const graceOver = new Promise<undefined>((resolve) => {
    startGrace = () => {
      sleep(graceMs, undefined, { signal: grace.signal }).then(resolve, () => undefined);
    };
    if (signal?.aborted === true) startGrace();
    else signal?.addEventListener('abort', startGrace, { once: true });
  });
  try {
    const report = await Promise.race([
      pusher.push({
        ...request,
        remainingTimeMs: () => (signal?.aborted === true ? 0 : Number.POSITIVE_INFINITY),
        onStart: (site) => {
          contacted.add(site);
          request.onStart?.(site);
        },
        onResult: (given) => {
          if (!reporting) return;
          // The engine words a stop as its deadline; say what really happened.
          const result =
            signal?.aborted === true && given.outcome === 'not_attempted'
              ? { ...given, detail: stopDetail(reasonOf(signal)) }
              : given;
          results.set(result.site, result);
          onResult(result);
        },
      }),
      graceOver,
    ]);
    return { report, results, contacted };
  } finally {
    reporting = false;
    signal?.removeEventListener('abort', startGrace);
    grace.abort();
  }
}
