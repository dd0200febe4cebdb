/**
 * The demo's story, told and checked as it runs: each step of a rotation on the local world, what an
 * operator would see, and a StoryDeviation the moment something does not play out as told.
 */
import { performance } from 'node:perf_hooks';
import type { InvocationClock, RotationStep } from '../../core/index.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  describeKey,
  fingerprint,
  METRICS,
  maskKeysIn,
  type RotationId,
  type RotationRecord,
  rotate,
} from '../../core/index.js';
import { formatDuration } from '../duration.js';
import type { World } from './demo-world.js';
import { count } from './format.js';
import { type CliContext, type OutputStream, PROGRAM } from './frame.js';
import { auditTrail, siteTable } from './ledger-view.js';

/** Each step runs with the budget of a 5-minute Lambda invocation. */
const INVOCATION_BUDGET_MS = 300_000;

/** The story did not play out as told. */
class StoryDeviation extends Error {
  override readonly name = 'StoryDeviation';
}

function expectStory(condition: boolean, what: string): asserts condition {
  if (!condition) throw new StoryDeviation(what);
}

export interface StoryEnding {
  readonly versionId: string;
  /** Every step invoked, in order, and how it ended. */
  readonly steps: readonly { step: RotationStep; ok: boolean; error: string | null }[];
  /** What did not play out as told (masked), when something did not. */
  readonly deviation?: string;
}

export async function story(
  world: World,
  stdout: OutputStream,
  cli: CliContext,
  started: number,
): Promise<StoryEnding> {
  const out = (text = ''): void => stdout.write(`${text}\n`);
  const steps: { step: RotationStep; ok: boolean; error: string | null }[] = [];
  const indent = (text: string): string =>
    maskKeysIn(text)
      .split('\n')
      .map((line) => `             ${line}`)
      .join('\n');
  const clock = (): string => `[${((performance.now() - started) / 1000).toFixed(2).padStart(5)}s]`;
  const { fleet, broken, secrets, rotatedArn, ledger, deps, keys } = world;
  const size = fleet.sites.length;
  const current = async (): Promise<string | undefined> =>
    secrets.getValue(rotatedArn, { stage: AWSCURRENT });

  out(`${PROGRAM} demo: one complete rotation on this machine, through the real rotation core`);
  out('(the rotate() the Lambda runs; Secrets Manager, the ledger and the sites are local stand-ins)');
  out();
  out('Set-up');
  out(`  template sites     ${size} over HTTPS, ${fleet.urls[0]} ... ${fleet.urls[size - 1]}`);
  out('                     each on its own loopback address, certificates from a throwaway CA');
  out(`  misconfigured      ${broken.url} expects another master API key (it will answer 401)`);
  out(`  Stripe stand-in    ${world.stripe.url}, both demo keys belong to ${world.account} (test mode)`);
  out(`  rotated secret     demo/stripe/secret-key, AWSCURRENT = ${describeKey(keys.current)}`);
  out(`                     every site holds this key today`);
  out(`  staged key         demo/stripe/staged-key = ${describeKey(keys.next)}`);
  out('                     (rolled in the Stripe Dashboard, staged by an operator)');
  out(
    `  push policy        canary: the first site alone, then ${deps.config.pushConcurrency} at a time, ` +
      `${deps.config.siteAttempts} attempts for transient failures`,
  );
  out();

  const token = secrets.startRotation(rotatedArn);
  const id: RotationId = { secretArn: rotatedArn, token };
  out(`RotateSecret: version ${token} created as an empty AWSPENDING placeholder;`);
  out('Secrets Manager now invokes the rotation function once per step.');
  out();

  const step = async (name: RotationStep, note: string): Promise<Error | undefined> => {
    out(`${clock()} ${name.padEnd(13)} ${note}`);
    const deadline = Date.now() + INVOCATION_BUDGET_MS;
    const invocation: InvocationClock = { getRemainingTimeInMillis: () => deadline - Date.now() };
    try {
      await rotate({ Step: name, SecretId: rotatedArn, ClientRequestToken: token }, deps, invocation);
      steps.push({ step: name, ok: true, error: null });
      return undefined;
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      steps.push({ step: name, ok: false, error: error.name });
      return error;
    }
  };
  const mustPass = async (name: RotationStep, note: string): Promise<void> => {
    const error = await step(name, note);
    expectStory(
      error === undefined,
      `${name} should have succeeded, it failed: ${error?.name}: ${error?.message}`,
    );
  };

  try {
    await mustPass('createSecret', 'picks the staged key and snapshots the site list');
    const pending = await secrets.getValue(rotatedArn, { stage: AWSPENDING, versionId: token });
    expectStory(pending === keys.next, 'createSecret should have put the staged key in AWSPENDING');
    const snapshot = await ledger.get(id);
    out(
      `           ✓ AWSPENDING holds ${describeKey(pending)}; ledger snapshot: ${count(snapshot?.sites.length ?? 0, 'site')}`,
    );

    const pushFailure = await step(
      'setSecret',
      `checks the key with Stripe, then pushes it to ${count(size, 'site')}`,
    );
    expectStory(
      pushFailure?.name === 'PropagationError' && pushFailure.message.includes(broken.url),
      `setSecret should have failed naming ${broken.url}; it ${pushFailure ? `failed with ${pushFailure.name}` : 'succeeded'}`,
    );
    out(`           ✗ ${pushFailure.name}:`);
    out(indent(pushFailure.message));
    const afterFirstPush = await ledger.sites(id);
    const confirmedFirst = afterFirstPush.filter((site) => site.status === 'confirmed').length;
    expectStory(
      confirmedFirst === size - 1,
      `${size - 1} sites should have confirmed, ${confirmedFirst} did`,
    );
    expectStory((await current()) === keys.current, 'AWSCURRENT should still hold the current key');
    out(`           AWSCURRENT is still ${describeKey(keys.current)}: nothing changed for payments.`);
    out('           (Secrets Manager would stop this attempt here, and retry the rotation later.)');

    const gate = await step('finishSecret', 'invoked anyway, to show the gate');
    expectStory(
      gate?.name === 'PropagationError' && gate.message.includes('Refusing to move AWSCURRENT'),
      `finishSecret should have refused to move AWSCURRENT; it ${gate ? `failed with ${gate.name}` : 'succeeded'}`,
    );
    out(`           ✗ refused: ${gate.message.split('\n')[0] ?? ''}`);
    expectStory((await current()) === keys.current, 'AWSCURRENT should not have moved');
    out(`           AWSCURRENT is still ${describeKey(keys.current)}.`);
    out();

    out(`The operator fixes ${broken.url}: its TEMPLATE_MASTER_API_KEY now matches the fleet's.`);
    broken.masterApiKey = keys.master;
    fleet.resetStats();
    world.pushes.length = 0;
    out('Secrets Manager retries the rotation, with the same token:');
    out();

    await mustPass('createSecret', 'runs again');
    out('           ✓ the pending version already holds the staged key: kept as it is');
    await mustPass('setSecret', 'runs again: only sites the ledger does not show confirmed are contacted');
    // What the core asked the push engine for, and what the sites actually received.
    const asked = world.pushes.flat();
    expectStory(
      asked.length === 1 && asked[0] === broken.url,
      `the retried setSecret should have pushed to ${broken.url} alone; it asked for ${count(asked.length, 'site')}`,
    );
    const contacted = fleet.sites.filter((site) => site.requestCount > 0);
    expectStory(
      contacted.length === 1 && contacted[0] === broken && broken.requestCount === 1,
      `the retried setSecret should have contacted only ${broken.url}, once; it contacted ${count(contacted.length, 'site')}`,
    );
    out(
      `           ✓ contacted only ${broken.url} (confirmed); the ${size - 1} sites confirmed earlier were not contacted again`,
    );
    await mustPass('testSecret', 'read-only checks of the pending key and the configuration');
    out(
      '           ✓ the pending key is well-formed, in test mode and accepted by Stripe; configuration readable',
    );
    const previousVersion = Object.entries((await secrets.describe(rotatedArn)).versionIdsToStages).find(
      ([, stages]) => stages.includes(AWSCURRENT),
    )?.[0];
    await mustPass('finishSecret', 'the ledger shows every site confirmed: AWSCURRENT may move');
    expectStory((await current()) === keys.next, 'AWSCURRENT should now hold the new key');
    expectStory(
      (await secrets.getValue(rotatedArn, { stage: AWSPREVIOUS })) === keys.current,
      'AWSPREVIOUS should hold the former key',
    );
    const stale = fleet.sites.filter((site) => site.storedKey !== keys.next);
    expectStory(
      stale.length === 0,
      `every site should hold the new key; ${count(stale.length, 'site')} do not`,
    );
    out(`           ✓ AWSCURRENT  → version ${token}: ${describeKey(keys.next)}`);
    out(`             AWSPREVIOUS → version ${previousVersion ?? '?'}: ${describeKey(keys.current)}`);
    out();
    const record = await ledger.get(id);
    expectStory(record?.outcome === 'finished', 'the ledger should record the rotation as finished');
    await printRecords(world, record, out);
  } catch (error) {
    if (!(error instanceof StoryDeviation)) throw error;
    out();
    const deviation = maskKeysIn(error.message);
    cli.stderr.write(`demo FAILED: the rotation did not play out as expected: ${deviation}\n`);
    return { versionId: token, steps, deviation };
  }
  out(
    `Demo passed in ${formatDuration(performance.now() - started, 'measured')}: AWSCURRENT moved only once all ${size} sites ` +
      'had confirmed the new key.',
  );
  out(
    `In production the last step is yours: let the old key (fp ${fingerprint(keys.current)}) expire in the ` +
      'Stripe Dashboard.',
  );
  return { versionId: token, steps };
}

/** The per-site table, the audit trail and the secret's versions, after the rotation finished. */
async function printRecords(
  world: World,
  record: RotationRecord,
  out: (text?: string) => void,
): Promise<void> {
  const { broken, ledger, rotatedArn, secrets } = world;
  const id: RotationId = { secretArn: record.secretArn, token: record.token };
  out('Per-site results, from the ledger');
  out(
    siteTable(
      await ledger.sites(id),
      await ledger.fleet(rotatedArn),
      new Map([[broken.url, 'misconfigured, fixed by the operator']]),
    ).trimEnd(),
  );
  out();
  out("Audit trail: the ledger's record of this rotation (identifiers and masked keys only)");
  out(auditTrail(record).trimEnd());
  const metrics = [...world.metrics]
    .map(
      ([name, value]) =>
        `${name}=${METRICS.names[name].unit === 'Milliseconds' ? formatDuration(value, 'measured') : value}`,
    )
    .join(' ');
  out(`  ${'metrics'.padEnd(9)} ${metrics}`);
  out();
  out('Secret versions now');
  for (const version of secrets.versions(rotatedArn).filter((v) => v.stages.length > 0)) {
    const value = await secrets.getValue(rotatedArn, {
      stage: version.stages[0] ?? AWSCURRENT,
      versionId: version.versionId,
    });
    out(
      `  ${version.versionId}  ${version.stages.join(', ').padEnd(23)} ${value === undefined ? '(no value)' : describeKey(value)}`,
    );
  }
  out();
}
