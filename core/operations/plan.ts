/**
 * `plan` as a use case: everything a rotation would do now, with zero writes anywhere (a dry run of the AWS
 * side). The key choice is the rotation core's own `chooseNextKey` (read-only), so plan and rotation can
 * never disagree on which key is chosen or why it is refused.
 */
import type { RotatorConfig } from '../config.js';
import { ConfigurationError, KeyRejectedError, RotationStateError } from '../errors.js';
import {
  AWSCURRENT,
  type KeyChecker,
  marksUnfinishedRotation,
  type RotationLedger,
  type RotationStart,
  type SecretDescription,
  type SiteList,
  type SiteListSource,
} from '../ports.js';
import { endpointUrl } from '../push/fleet-http.js';
import { chooseNextKey } from '../rotation/next-key.js';
import {
  type KeyJson,
  type KeyMode,
  keyJson,
  keyModeOf,
  maskKeysIn,
  masterApiKeyProblem,
} from '../rules/keys.js';
import { attempt, type ExplainFailure, type SecretAdmin } from './ports.js';

export interface Plan {
  readonly wouldProceed: boolean;
  readonly reasons: readonly string[];
  readonly secret: {
    readonly arn: string;
    readonly rotationEnabled: boolean;
    readonly current: KeyJson | null;
  };
  readonly key: (KeyJson & { readonly trigger: RotationStart['trigger']; readonly from: string }) | null;
  readonly stripeCheck: 'passed' | 'failed' | 'not_requested' | 'not_needed';
  readonly masterKey: { readonly secretId: string; readonly ok: boolean };
  readonly sites: {
    readonly sources: readonly string[];
    readonly count: number;
    readonly duplicates: readonly string[];
    readonly canaries: readonly string[];
    readonly endpoints: readonly string[];
  } | null;
  readonly push: {
    readonly canarySites: number;
    readonly concurrency: number;
    readonly siteTimeoutMs: number;
    readonly attempts: number;
  };
}

interface KeyChoice {
  readonly trigger: RotationStart['trigger'];
  readonly key: string;
  readonly mode: KeyMode;
}

/** The reasons a core error gives: the error classes an operator must act on; anything else is thrown. */
function reasonsOf(error: unknown): string[] {
  if (error instanceof ConfigurationError) {
    const [first = error.message] = error.message.split('\n');
    return [first, ...error.problems.map((problem) => `  ${problem}`)];
  }
  if (error instanceof KeyRejectedError || error instanceof RotationStateError) return [error.message];
  throw error;
}

export interface PlanDeps {
  readonly config: RotatorConfig;
  readonly secrets: SecretAdmin;
  readonly siteList: SiteListSource;
  readonly ledger: RotationLedger;
  /** Stripe's read-only check of a new key; absent: not requested. */
  readonly keyChecker?: KeyChecker | undefined;
  readonly explain?: ExplainFailure | undefined;
  readonly onSecretRead?: ((...values: (string | undefined)[]) => void) | undefined;
}

export interface PlanRequest {
  readonly secretId: string;
  /** The command that shows where a rotation stands, named in a refusal (e.g. `stripe-key-rotator status`). */
  readonly statusCommand: string;
}

export async function plan(deps: PlanDeps, request: PlanRequest): Promise<Plan> {
  const { config, secrets: store, explain } = deps;
  const hide = deps.onSecretRead ?? (() => undefined);
  const description = await attempt(explain, `Describing the secret ${request.secretId}`, () =>
    store.describe(request.secretId),
  );
  const arn = description.arn;
  const reasons: string[] = [];
  if (!description.rotationEnabled) {
    reasons.push(
      `Rotation is not enabled on ${arn}: deploy the stack (it configures the rotation function).`,
    );
  }
  const pending = Object.entries(description.versionIdsToStages).find(([, stages]) =>
    marksUnfinishedRotation(stages),
  );
  if (pending !== undefined) {
    reasons.push(
      `A previous rotation isn't complete (version ${pending[0]} is labelled AWSPENDING): Secrets Manager refuses ` +
        `a new one until it finishes or is cleared. See '${request.statusCommand}'.`,
    );
  }
  const current = await store.getValue(arn, { stage: AWSCURRENT });
  hide(current);

  let list: SiteList | undefined;
  try {
    list = await deps.siteList.load();
  } catch (error) {
    reasons.push(...reasonsOf(error));
  }

  const { choice, stripeCheck } = await chooseKey(deps, description);
  if ('reasons' in choice) reasons.push(...choice.reasons);
  const key = 'key' in choice ? choice : undefined;

  let masterOk = false;
  try {
    const master = await store.readCurrent(config.masterApiKeySecretId);
    hide(master);
    const problem = master === undefined ? 'holds no value' : masterApiKeyProblem(master);
    if (problem === undefined) masterOk = true;
    else reasons.push(`The master API key in ${config.masterApiKeySecretId} ${problem}.`);
  } catch (error) {
    reasons.push(...reasonsOf(error));
  }

  const canaries = list?.sites.slice(0, config.canarySites) ?? [];
  return {
    wouldProceed: reasons.length === 0,
    reasons,
    secret: {
      arn,
      rotationEnabled: description.rotationEnabled,
      current: current === undefined ? null : keyJson(current),
    },
    key:
      key === undefined
        ? null
        : {
            ...keyJson(key.key),
            trigger: key.trigger,
            from: key.trigger === 'staged' ? config.stagedSecretId : `${arn} (AWSCURRENT)`,
          },
    stripeCheck,
    masterKey: { secretId: config.masterApiKeySecretId, ok: masterOk },
    sites:
      list === undefined
        ? null
        : {
            sources: list.sources,
            count: list.sites.length,
            duplicates: list.duplicates,
            canaries,
            endpoints: list.sites.map((site) => endpointUrl(site) ?? site),
          },
    push: {
      canarySites: config.canarySites,
      concurrency: config.pushConcurrency,
      siteTimeoutMs: config.siteTimeoutMs,
      attempts: config.siteAttempts,
    },
  };
}

/**
 * The rotation core's own key choice (read-only), with the Stripe check when asked: plan and rotation cannot
 * disagree on the key or a refusal.
 */
async function chooseKey(
  deps: PlanDeps,
  description: SecretDescription,
): Promise<{ choice: KeyChoice | { reasons: string[] }; stripeCheck: Plan['stripeCheck'] }> {
  const { secrets: store, ledger, config, keyChecker: stripe } = deps;
  const refused = (reasons: string[], stripeCheck: Plan['stripeCheck'] = 'not_requested') => ({
    choice: { reasons },
    stripeCheck,
  });
  try {
    const current = await store.getValue(description.arn, { stage: AWSCURRENT });
    if (current === undefined)
      return refused([`Secret ${description.arn} has no AWSCURRENT value to rotate from`]);
    const next = await chooseNextKey(
      description.arn,
      { config, secrets: store, ledger },
      current,
      stripe === undefined ? undefined : unreachableAsRefused(stripe),
    );
    if (!next.accepted) {
      return refused(reasonsOf(next.error), next.reason === 'stripe_refused' ? 'failed' : 'not_requested');
    }
    const { key, trigger } = next;
    deps.onSecretRead?.(key);
    const mode = keyModeOf(key);
    if (mode === undefined) return refused(['the chosen key is not a Stripe secret key']);
    const stripeCheck =
      trigger === 'repropagation' ? 'not_needed' : stripe === undefined ? 'not_requested' : 'passed';
    return { choice: { trigger, key, mode }, stripeCheck };
  } catch (error) {
    return refused(reasonsOf(error));
  }
}

/**
 * Plan lists an unreachable Stripe like a refusal (a failed check, the reason shown): either way the key
 * could not be verified now. The rotation's verdict treats only KeyRejectedError as a refusal.
 */
function unreachableAsRefused(checker: KeyChecker): KeyChecker {
  return {
    async check(key, mode, referenceKey, knownAccount) {
      try {
        return await checker.check(key, mode, referenceKey, knownAccount);
      } catch (error) {
        if (error instanceof KeyRejectedError) throw error;
        const message = error instanceof Error ? maskKeysIn(error.message) : String(error);
        throw new KeyRejectedError(message, { cause: error });
      }
    },
  };
}
