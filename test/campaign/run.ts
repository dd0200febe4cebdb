/**
 * `npm run campaign -- --cases N --seed S [--path P] [--out FILE] [--aws]`: a randomized fault campaign
 * (`campaign.ts`; with `--aws`, its AWS half, `aws-campaign.ts`, which needs moto_server).
 * Prints what it exercised; on a violation, fast-check's shrunk case with the seed and path that replay it
 * (`--seed S --path P`), and exits 1. `--out` writes the figures as Markdown.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  type AwsCampaignStats,
  emptyAwsStats,
  MUTANTS,
  type MutantName,
  runAwsCampaign,
} from './aws-campaign.js';
import {
  type CampaignCase,
  type CampaignStats,
  emptyStats,
  MAX_SITES,
  runCampaign,
  STEP_SLACK_MS,
} from './campaign.js';

function report(stats: CampaignStats, options: { seed: number; cases: number }, wallMs: number): string {
  const faults = Object.entries(stats.faultsExercised)
    .map(([kind, count]) => `| \`${kind}\` | ${count} |`)
    .join('\n');
  const stops = Object.entries(stats.stoppedFirstRun)
    .map(([step, count]) => `${step} ${count}`)
    .join(', ');
  return [
    `- Seed ${options.seed}, ${stats.cases} cases passed of ${options.cases} asked, ${stats.sites} sites in all (5–${MAX_SITES} per case), ${(wallMs / 1000).toFixed(1)} s wall.`,
    `- First run under faults: ${stats.finishedFirstRun} finished (AWSCURRENT moved, every site holds the new key); stopped at: ${stops || 'none'}.`,
    `- After a failed first run: finishSecret called at once in ${stats.skippedToFinish} cases, \`abort\` (under the faults, then without) in ${stats.aborted}.`,
    `- After lifting the faults, Secrets Manager's retry converged in ${stats.convergedAfterLifting} of ${stats.cases} cases.`,
    `- Longest step ${Math.round(stats.longestStepMs)} ms; closest a step came to its budget: ${Math.round(-stats.worstBudgetMarginMs)} ms left (must be ≥ ${STEP_SLACK_MS} ms).`,
    '- Invariant violations: 0.',
    '',
    '| fault kind | sites that played it |',
    '| --- | --- |',
    faults,
    '',
  ].join('\n');
}

function awsReport(
  stats: AwsCampaignStats,
  options: { seed: number; cases: number },
  wallMs: number,
): string {
  const faults = Object.entries(stats.faultsInjected)
    .map(([fault, count]) => `| \`${fault}\` | ${count} |`)
    .join('\n');
  return [
    `- Seed ${options.seed}, ${stats.cases} cases passed of ${options.cases} asked, ${(wallMs / 1000).toFixed(1)} s wall; a rotation without faults makes ${stats.callsPerRotation} AWS calls.`,
    `- Runs killed (SIGKILL) while the sites were receiving the key: ${stats.crashesDuringPush}.`,
    `- First run under AWS faults: ${stats.finishedFirstRun} finished anyway (the SDK's retries absorbed the faults), ${stats.stoppedFirstRun} stopped; of those, ${stats.convergedAfterRetry} converged on Secrets Manager's retry and ${stats.aborted} were aborted with the CLI, every site back on the current key.`,
    `- Operations that received a fault (${stats.operationsFaulted.size}): ${[...stats.operationsFaulted].sort().join(', ')}.`,
    '- Invariant violations: 0.',
    '',
    '| AWS fault | calls that received it |',
    '| --- | --- |',
    faults,
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '200' },
      seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
      path: { type: 'string' },
      out: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      aws: { type: 'boolean', default: false },
      mutant: { type: 'string' },
    },
  });
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(cases) || cases < 1 || !Number.isSafeInteger(seed)) {
    console.error('usage: npm run campaign -- --cases N --seed S [--path P] [--out FILE]');
    return 2;
  }
  console.error(`campaign${values.aws ? ' (AWS faults, moto)' : ''}: ${cases} cases, seed ${seed}`);
  const started = performance.now();
  if (values.mutant !== undefined && !(values.aws && values.mutant in MUTANTS)) {
    console.error(`--mutant needs --aws and one of: ${Object.keys(MUTANTS).join(', ')}`);
    return 2;
  }
  if (values.aws) {
    const stats = emptyAwsStats();
    const mutant = values.mutant as MutantName | undefined;
    try {
      await runAwsCampaign(
        {
          cases,
          seed,
          ...(values.path === undefined ? {} : { path: values.path }),
          ...(mutant === undefined ? {} : { mutant }),
          onCase: (spec, durationMs) =>
            console.error(
              `case ${stats.cases}: ${spec.sites} sites, ${Math.round(durationMs)} ms; faults: ${spec.faults.map((f) => `${f.fault}@${f.at}x${f.burst}`).join(' ') || 'none'}${spec.crashDuringPush === null ? '' : `; crash at PUT ${spec.crashDuringPush.atRequest}${spec.crashDuringPush.afterStore ? ' after storing' : ''}`}; then ${spec.afterFailure}`,
            ),
        },
        stats,
      );
    } catch (error) {
      if (mutant !== undefined) {
        console.error(String(error instanceof Error && error.cause !== undefined ? error.cause : error));
        console.error(`campaign: mutant ${mutant} caught after ${stats.cases + 1} cases, as it must be.`);
        return 0;
      }
      return violation(error);
    }
    if (mutant !== undefined) {
      console.error(
        `campaign: mutant ${mutant} survived ${cases} cases: the campaign cannot see that defect.`,
      );
      return 1;
    }
    const text = awsReport(stats, { seed, cases }, performance.now() - started);
    process.stdout.write(text);
    if (values.out !== undefined) await writeFile(values.out, text);
    return 0;
  }
  const stats = emptyStats();
  try {
    const onCase = (spec: CampaignCase, durationMs: number) => {
      const faults = spec.sites.filter((site) => site.kind !== 'healthy').map((site) => site.kind);
      console.error(
        `case ${stats.cases}: ${spec.sites.length} sites, budget ${spec.budgetMs} ms, ${Math.round(durationMs)} ms; faults: ${faults.join(' ') || 'none'}`,
      );
    };
    await runCampaign(
      {
        cases,
        seed,
        ...(values.path === undefined ? {} : { path: values.path }),
        ...(values.verbose
          ? { onCase, onStart: (spec: CampaignCase) => console.error(JSON.stringify(spec)) }
          : {}),
      },
      stats,
    );
  } catch (error) {
    return violation(error);
  }
  const text = report(stats, { seed, cases }, performance.now() - started);
  process.stdout.write(text);
  if (values.out !== undefined) await writeFile(values.out, text);
  return 0;
}

// The SDK's notice about future Node versions says nothing about this run (cli/commands/aws.ts does the same).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function violation(error: unknown): number {
  console.error(error instanceof Error ? error.message : String(error));
  // fast-check keeps the property's own error (the violated invariant) as the cause.
  if (error instanceof Error && error.cause !== undefined) console.error(`Violation: ${String(error.cause)}`);
  console.error('campaign: VIOLATION; replay it with --seed and --path as printed above.');
  return 1;
}

process.exitCode = await main();
