/**
 * The fleet push engine: PUTs the new key to every site, canaries first, then through a bounded worker pool,
 * with retries (`../retry.ts`: exponential backoff, full jitter, Retry-After) for transient failures only,
 * and stops launching requests when the invocation's remaining time gets short. One attempt at one site is
 * `fleet-http.ts`; what its answer means is `site-answer.ts`. Nothing here ever writes the key or the
 * master key anywhere but into the request itself.
 */
import { performance } from 'node:perf_hooks';
import type { RotatorConfig } from '../config.js';
import { ConfigurationError } from '../errors.js';
import type { RotationLogger } from '../log.js';
import type { PushReport, PushRequest, PushStopReason, SitePusher, SiteResult } from '../ports.js';
import {
  attemptsText,
  type BackoffPolicy,
  DEFAULT_MAX_RETRY_AFTER_MS,
  type RetryAdvice,
  type RetryPolicy,
  type RetryStop,
  retrying,
} from '../retry.js';
import { attemptPut, endpointUrl, type FleetConnector, type SitePut, sitePut } from './fleet-http.js';
import type { AttemptVerdict } from './site-answer.js';

export interface FleetPusherOptions {
  /** The fleet's connections, created once by the caller (tests: `new FleetConnector({ ca })`). */
  readonly connector: FleetConnector;
  readonly logger: RotationLogger;
  /** Requests in flight at most (PUSH_CONCURRENCY). */
  readonly concurrency: number;
  /** Bound on one whole attempt: connect, TLS, headers and body (SITE_TIMEOUT_MS). */
  readonly siteTimeoutMs: number;
  /** Total tries for transient failures (SITE_ATTEMPTS). */
  readonly attempts: number;
  /** The first N sites, pushed one at a time before the rest (CANARY_SITES). */
  readonly canaryCount: number;
  /** Default `{ baseMs: 250, capMs: 8000 }`. */
  readonly backoff?: BackoffPolicy;
  /** A longer Retry-After makes the site give up, keeping its outcome. Default `DEFAULT_MAX_RETRY_AFTER_MS`. */
  readonly maxRetryAfterMs?: number;
  /** No site or retry is launched with less remaining time than this. Default `siteTimeoutMs + 2000`. */
  readonly deadlineMarginMs?: number;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Confirmed sites are logged together, one `sites confirmed` line per batch: once `size` wait, once the
   * first of them waited `maxWaitMs` (a timer, so slow results after it do not hold it back), and at the end
   * of the push. A site that is not confirmed gets its own `site not confirmed` warning at once.
   * Default `{ size: 100, maxWaitMs: 1000 }`.
   */
  readonly confirmationBatch?: ConfirmationBatch;
}

export interface ConfirmationBatch {
  readonly size: number;
  readonly maxWaitMs: number;
}

/**
 * A Powertools line costs more CPU than anything else the engine adds to a site's request (about 0.14 ms per
 * site, bench/README.md); a hundred confirmations on one line cost one.
 */
const DEFAULT_CONFIRMATION_BATCH: ConfirmationBatch = { size: 100, maxWaitMs: 1000 };

/** What a `sites confirmed` line says of each site. */
type Confirmation = Pick<SiteResult, 'site' | 'attempts' | 'durationMs'>;

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 8000 };
const DEADLINE_SLACK_MS = 2000;

/** The options with every default resolved: the field list is `FleetPusherOptions`'s. */
type Settings = Required<FleetPusherOptions>;

function settingsFrom(options: FleetPusherOptions): Settings {
  const settings: Settings = {
    ...options,
    backoff: options.backoff ?? DEFAULT_BACKOFF,
    maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
    deadlineMarginMs: options.deadlineMarginMs ?? options.siteTimeoutMs + DEADLINE_SLACK_MS,
    random: options.random ?? Math.random,
    confirmationBatch: options.confirmationBatch ?? DEFAULT_CONFIRMATION_BATCH,
  };
  const problems: string[] = [];
  const whole = (name: string, value: number, min: number): void => {
    if (!Number.isSafeInteger(value) || value < min)
      problems.push(`${name}=${value} must be a whole number ≥ ${min}`);
  };
  whole('concurrency', settings.concurrency, 1);
  whole('siteTimeoutMs', settings.siteTimeoutMs, 1);
  whole('attempts', settings.attempts, 1);
  whole('canaryCount', settings.canaryCount, 0);
  whole('backoff.baseMs', settings.backoff.baseMs, 0);
  whole('backoff.capMs', settings.backoff.capMs, 0);
  whole('maxRetryAfterMs', settings.maxRetryAfterMs, 0);
  whole('deadlineMarginMs', settings.deadlineMarginMs, 0);
  whole('confirmationBatch.size', settings.confirmationBatch.size, 1);
  whole('confirmationBatch.maxWaitMs', settings.confirmationBatch.maxWaitMs, 0);
  if (problems.length > 0) throw new ConfigurationError('invalid fleet pusher options', { problems });
  return settings;
}

/** The push settings a deployment's configuration decides, as the engine takes them. */
export function pushSettingsOf(
  config: Pick<RotatorConfig, 'pushConcurrency' | 'siteTimeoutMs' | 'siteAttempts' | 'canarySites'>,
): Pick<FleetPusherOptions, 'concurrency' | 'siteTimeoutMs' | 'attempts' | 'canaryCount'> {
  return {
    concurrency: config.pushConcurrency,
    siteTimeoutMs: config.siteTimeoutMs,
    attempts: config.siteAttempts,
    canaryCount: config.canarySites,
  };
}

export function createFleetPusher(options: FleetPusherOptions): SitePusher {
  const settings = settingsFrom(options);
  return { push: (request) => new PushRun(settings, request).run() };
}

/** The state of one push; one instance per `push()` call, shared by its workers. */
class PushRun {
  private readonly results: (SiteResult | undefined)[];
  private readonly put: SitePut;
  private readonly retryPolicy: RetryPolicy;
  /** What `scrub` removes from a site's detail: both secrets, raw and URL-encoded, computed once per push. */
  private readonly secrets: readonly string[];
  private cursor = 0;
  private stoppedBecause: PushStopReason | undefined;
  private stopDetail = '';
  private callbackFailed = false;
  private callbackError: unknown;
  /** Confirmed sites not logged yet, and the timer that logs them once the first waited `maxWaitMs`. */
  private confirmations: Confirmation[] = [];
  private confirmationTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly request: PushRequest,
  ) {
    this.results = new Array<SiteResult | undefined>(request.sites.length);
    this.put = sitePut({
      connector: settings.connector,
      key: request.key,
      masterApiKey: request.masterApiKey,
      timeoutMs: settings.siteTimeoutMs,
    });
    this.retryPolicy = {
      attempts: settings.attempts,
      backoff: settings.backoff,
      maxRetryAfterMs: settings.maxRetryAfterMs,
      random: settings.random,
      deadline: { remainingTimeMs: request.remainingTimeMs, marginMs: settings.deadlineMarginMs },
    };
    this.secrets = [request.key, request.masterApiKey]
      .filter((value) => value.length > 0)
      .flatMap((value) => {
        const encoded = encodeURIComponent(value);
        return encoded === value ? [value] : [value, encoded];
      });
  }

  async run(): Promise<PushReport> {
    try {
      return await this.pushAll();
    } finally {
      // A push that throws (its caller could not record a result) still logs what was confirmed.
      this.logConfirmations();
    }
  }

  private async pushAll(): Promise<PushReport> {
    const started = performance.now();
    const { sites } = this.request;
    const canaries = Math.min(this.settings.canaryCount, sites.length);

    while (this.cursor < canaries && this.mayLaunch()) {
      const result = await this.pushAndRecord(this.cursor++);
      if (result.outcome !== 'confirmed' && result.outcome !== 'invalid_secret_format') {
        this.halt('canary_failed', `canary ${result.site} did not confirm (${result.outcome})`);
      }
    }
    if (this.cursor < sites.length && this.mayLaunch()) {
      const workers = Math.min(this.settings.concurrency, sites.length - this.cursor);
      await Promise.all(Array.from({ length: workers }, () => this.worker()));
    }
    if (this.callbackFailed) throw this.callbackError;

    for (const [index, site] of sites.entries()) {
      if (this.results[index] !== undefined) continue;
      await this.record(index, {
        site,
        outcome: 'not_attempted',
        detail: `not attempted: ${this.stopDetail}`,
        attempts: 0,
        durationMs: 0,
      });
      if (this.callbackFailed) throw this.callbackError;
    }

    const results = this.results.filter((result): result is SiteResult => result !== undefined);
    const confirmed = results.filter((result) => result.outcome === 'confirmed').length;
    const notAttempted = results.filter((result) => result.outcome === 'not_attempted').length;
    this.logConfirmations();
    this.settings.logger.info('fleet push finished', {
      sites: sites.length,
      confirmed,
      failed: sites.length - confirmed - notAttempted,
      notAttempted,
      stoppedBecause: this.stoppedBecause,
      durationMs: Math.round(performance.now() - started),
    });
    return this.stoppedBecause === undefined ? { results } : { results, stoppedBecause: this.stoppedBecause };
  }

  private async worker(): Promise<void> {
    while (this.cursor < this.request.sites.length && this.mayLaunch()) {
      await this.pushAndRecord(this.cursor++);
    }
  }

  /** False once the push stopped; records the deadline as the reason when time is short. */
  private mayLaunch(): boolean {
    if (this.stoppedBecause !== undefined || this.callbackFailed) return false;
    if (this.request.remainingTimeMs() < this.settings.deadlineMarginMs) {
      this.halt('deadline', `less than ${this.settings.deadlineMarginMs} ms of invocation time was left`);
      return false;
    }
    return true;
  }

  private halt(reason: PushStopReason, detail: string): void {
    if (this.stoppedBecause !== undefined) return;
    this.stoppedBecause = reason;
    this.stopDetail = detail;
  }

  private async pushAndRecord(index: number): Promise<SiteResult> {
    const site = this.request.sites[index] ?? '';
    this.request.onStart?.(site);
    const result = await this.pushSite(site);
    if (result.outcome === 'invalid_secret_format') {
      this.halt('key_rejected', `${site} rejected the key as invalid_secret_format`);
    }
    await this.record(index, result);
    return result;
  }

  private async record(index: number, result: SiteResult): Promise<void> {
    this.results[index] = result;
    const { site, outcome, httpStatus, attempts, durationMs } = result;
    if (outcome === 'confirmed') {
      this.confirmed({ site, attempts, durationMs });
    } else {
      this.settings.logger.warn('site not confirmed', {
        site,
        outcome,
        httpStatus,
        attempts,
        durationMs,
        detail: result.detail,
      });
    }
    try {
      await this.request.onResult?.(result);
    } catch (error) {
      // The caller could not record a result (e.g. the ledger): stop launching and surface its error.
      if (!this.callbackFailed) this.callbackError = error;
      this.callbackFailed = true;
    }
  }

  private confirmed(confirmation: Confirmation): void {
    const { size, maxWaitMs } = this.settings.confirmationBatch;
    this.confirmations.push(confirmation);
    if (this.confirmations.length >= size) {
      this.logConfirmations();
    } else if (this.confirmationTimer === undefined) {
      // Unreferenced: a pending batch never keeps a finished process alive (the push logs it at its end).
      this.confirmationTimer = setTimeout(() => this.logConfirmations(), maxWaitMs).unref();
    }
  }

  private logConfirmations(): void {
    clearTimeout(this.confirmationTimer);
    this.confirmationTimer = undefined;
    if (this.confirmations.length === 0) return;
    const confirmedSites = this.confirmations;
    this.confirmations = [];
    this.settings.logger.info('sites confirmed', { count: confirmedSites.length, confirmedSites });
  }

  private async pushSite(site: string): Promise<SiteResult> {
    const started = performance.now();
    const url = endpointUrl(site);
    if (url === undefined) {
      return {
        site,
        outcome: 'not_https',
        detail: 'refused: not an https URL, nothing sent',
        attempts: 0,
        durationMs: 0,
      };
    }
    const { last, attempts, stop } = await retrying(
      this.retryPolicy,
      () => attemptPut(url, this.put),
      retryableVerdict,
      (verdict, attempt, delayMs) =>
        this.settings.logger.debug('retrying site', {
          site,
          attempt,
          delayMs: Math.round(delayMs),
          outcome: verdict.outcome,
          httpStatus: verdict.httpStatus,
        }),
    );
    return {
      site,
      outcome: last.outcome,
      ...(last.httpStatus === undefined ? {} : { httpStatus: last.httpStatus }),
      detail: this.scrub(this.retriedDetail(last, attempts, stop)),
      attempts,
      durationMs: Math.round(performance.now() - started),
    };
  }

  /** The last verdict's detail, with how often the site was tried and why the tries ended. */
  private retriedDetail({ detail, retryAfterMs }: AttemptVerdict, attempts: number, stop: RetryStop): string {
    const tried = attemptsText(attempts);
    switch (stop) {
      case 'final':
        return attempts === 1 ? detail : `${detail} (${tried})`;
      case 'attempts':
        return `${detail} (${tried})`;
      case 'retry_after':
        return `${detail}; Retry-After of ${retryAfterMs} ms exceeds the ${this.settings.maxRetryAfterMs} ms limit, gave up after ${tried}`;
      case 'deadline':
        return `${detail}; no time left to retry before the invocation deadline (${tried})`;
    }
  }

  /** A site controls Location and error codes: make sure it cannot make us log what we sent it. */
  private scrub(text: string): string {
    let clean = text;
    for (const value of this.secrets) clean = clean.replaceAll(value, '[redacted]');
    return clean;
  }
}

/** A transient verdict is its own retry advice (its Retry-After included); any other is final. */
function retryableVerdict(verdict: AttemptVerdict): RetryAdvice | undefined {
  return verdict.retryable ? verdict : undefined;
}
