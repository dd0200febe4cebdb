/**
 * `rotate` as two use cases: start a rotation now (RotateSecret through the function the secret is
 * configured with), and follow one from the secret's labels and the propagation ledger until AWSCURRENT
 * moves, the rotation fails or is cleared, the wait times out, or the caller's signal ends it.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError } from '../errors.js';
import {
  AWSCURRENT,
  AWSPENDING,
  marksUnfinishedRotation,
  type RotationId,
  type RotationLedger,
  type SiteRecord,
} from '../ports.js';
import { attempt, type ExplainFailure, type SecretAdmin } from './ports.js';

export interface RotateDeps {
  readonly secrets: SecretAdmin;
  readonly explain?: ExplainFailure | undefined;
}

export type RotationStarted =
  | {
      readonly started: true;
      readonly arn: string;
      readonly versionId: string;
      /**
       * Set when RotateSecret created the version but could not invoke this function (an emulator without
       * it): the steps must be run by other means.
       */
      readonly functionNotInvoked?: string;
    }
  | { readonly started: false; readonly arn: string; readonly pendingVersionId: string };

/** Starts a rotation, or says which version of a rotation under way or stuck stops Secrets Manager starting one. */
export async function startRotation(
  { secrets, explain }: RotateDeps,
  request: { readonly secretId: string },
): Promise<RotationStarted> {
  const describe = (id: string) => attempt(explain, `Describing the secret ${id}`, () => secrets.details(id));
  const described = await describe(request.secretId);
  const arn = described.arn;
  const pendingVersionId = unfinishedPending(described.versionIdsToStages);
  if (pendingVersionId !== undefined) return { started: false, arn, pendingVersionId };
  const lambdaArn = described.rotationLambdaArn;
  if (lambdaArn === undefined || lambdaArn === '') {
    throw new ConfigurationError(
      `${arn} has no rotation function configured: deploy the stack (it enables rotation) before rotating`,
    );
  }
  // Our own token is the new version id: known even when the call answers an error after creating it.
  const versionId = randomUUID();
  const failed = (error: unknown) =>
    explain === undefined ? error : explain(error, `Starting the rotation of ${arn}`);
  try {
    await secrets.startRotation(arn, lambdaArn, versionId);
  } catch (error) {
    // Secrets Manager's error names, compared as text: the core sees no SDK.
    if (error instanceof Error && error.name === 'InvalidRequestException') {
      // Another rotation started between the two calls.
      const pending = unfinishedPending((await describe(arn)).versionIdsToStages);
      if (pending !== undefined) return { started: false, arn, pendingVersionId: pending };
    }
    // An emulator without the function (moto) creates the AWSPENDING version, then answers
    // ResourceNotFoundException for the function. The secret's labels tell which happened; AWS_ENDPOINT_URL
    // does not (it also configures VPC endpoints and proxies in front of the real service).
    if (!(error instanceof Error && error.name === 'ResourceNotFoundException')) throw failed(error);
    const after = await describe(arn);
    if (!(after.versionIdsToStages[versionId] ?? []).includes(AWSPENDING)) throw failed(error);
    return { started: true, arn, versionId, functionNotInvoked: lambdaArn };
  }
  return { started: true, arn, versionId };
}

/** The version of a rotation under way or stuck, if any. */
function unfinishedPending(stages: Readonly<Record<string, readonly string[]>>): string | undefined {
  return Object.entries(stages).find(([, labels]) => marksUnfinishedRotation(labels))?.[0];
}

/** One look at a rotation: its version's labels and, with a ledger, its record and sites. */
export interface RotationSnapshot {
  readonly stages: readonly string[] | undefined;
  /** The ledger's outcome; undefined before createSecret wrote the record, or without a ledger. */
  readonly outcome: string | undefined;
  readonly sites: readonly SiteRecord[];
}

export interface WaitDeps extends RotateDeps {
  readonly ledger?: { readonly table: string; readonly store: RotationLedger } | undefined;
}

export interface WaitRequest {
  readonly id: RotationId;
  /** Gives up once this long has passed (the rotation itself goes on). */
  readonly timeoutMs: number;
  /** A `failed` ledger outcome is final once nothing changed for this long (Lambda retries a failed step). */
  readonly failedGraceMs: number;
  /** Between two looks. */
  readonly pollIntervalMs: number;
}

export type WaitOutcome = 'finished' | 'failed' | 'cleared' | 'timed_out' | 'interrupted';

export interface WaitResult {
  readonly outcome: WaitOutcome;
  /** For `failed`: how long nothing had changed. */
  readonly quietForMs?: number;
  /** The ledger's per-site records at the last look (none without a ledger). */
  readonly sites: readonly SiteRecord[];
}

export interface WaitOptions {
  /** Told after every look (a progress line). */
  readonly onSnapshot?: (snapshot: RotationSnapshot) => void;
  /** Ends the wait (outcome `interrupted`) before the next look, and any pause at once. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export async function waitForRotation(
  deps: WaitDeps,
  request: WaitRequest,
  options: WaitOptions = {},
): Promise<WaitResult> {
  const now = options.now ?? Date.now;
  const deadline = now() + request.timeoutMs;
  let lastSites: readonly SiteRecord[] = [];
  let lastSignature = '';
  let lastChange = now();
  for (;;) {
    if (options.signal?.aborted === true) return { outcome: 'interrupted', sites: lastSites };
    const at = now();
    // A look that hangs (an AWS side that never answers) must not hold up the caller's interrupt.
    const looked = await untilAborted(look(deps, request.id), options.signal);
    if (looked === undefined) return { outcome: 'interrupted', sites: lastSites };
    const { snapshot, signature } = looked;
    lastSites = snapshot.sites;
    if (signature !== lastSignature) {
      lastSignature = signature;
      lastChange = at;
    }
    options.onSnapshot?.(snapshot);
    const { stages, sites } = snapshot;
    if (stages?.includes(AWSCURRENT) === true) return { outcome: 'finished', sites };
    if (stages?.includes(AWSPENDING) !== true) return { outcome: 'cleared', sites };
    if (snapshot.outcome === 'failed' && at - lastChange >= request.failedGraceMs) {
      return { outcome: 'failed', quietForMs: at - lastChange, sites };
    }
    if (at >= deadline) return { outcome: 'timed_out', sites };
    await sleep(Math.min(request.pollIntervalMs, Math.max(0, deadline - now())), undefined, {
      signal: options.signal,
    }).catch(() => undefined);
  }
}

/** `work`'s value, or undefined as soon as `signal` aborts (its failure then ignored). */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return undefined;
  }
  let onAbort = (): void => undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      work.catch((error: unknown) => {
        if (signal.aborted) return undefined;
        throw error;
      }),
      aborted,
    ]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function look(
  { secrets, explain, ledger }: WaitDeps,
  id: RotationId,
): Promise<{ snapshot: RotationSnapshot; signature: string }> {
  const described = await attempt(explain, `Describing the secret ${id.secretArn}`, () =>
    secrets.details(id.secretArn),
  );
  const stages = described.versionIdsToStages[id.token];
  if (ledger === undefined) {
    return { snapshot: { stages, outcome: undefined, sites: [] }, signature: JSON.stringify(stages) };
  }
  const record = await attempt(explain, `Reading the ledger table ${ledger.table}`, () =>
    ledger.store.get(id),
  );
  // createSecret writes the record: until then there is nothing per site to show.
  const sites = record === undefined ? [] : await ledger.store.sites(id);
  return {
    snapshot: { stages, outcome: record?.outcome, sites },
    // Changes whenever the function records anything for this rotation.
    signature: JSON.stringify([stages, record?.updatedAt, record?.outcome, sites.map((s) => s.status)]),
  };
}
