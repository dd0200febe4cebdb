/**
 * `npm run campaign -- --cases N --seed S [--path P] [--out FILE]`: a randomized fault campaign
 * (`campaign.ts`). Prints what it exercised; on a violation, fast-check's shrunk case with the seed and path
 * that replay it (`--seed S --path P`), and exits 1. `--out` writes the figures as Markdown.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
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

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '200' },
      seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
      path: { type: 'string' },
      out: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(cases) || cases < 1 || !Number.isSafeInteger(seed)) {
    console.error('usage: npm run campaign -- --cases N --seed S [--path P] [--out FILE]');
    return 2;
  }
  console.error(`campaign: ${cases} cases, seed ${seed}`);
  const stats = emptyStats();
  const started = performance.now();
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
    console.error(error instanceof Error ? error.message : String(error));
    // fast-check keeps the property's own error (the violated invariant) as the cause.
    if (error instanceof Error && error.cause !== undefined)
      console.error(`Violation: ${String(error.cause)}`);
    console.error('campaign: VIOLATION; replay it with --seed and --path as printed above.');
    return 1;
  }
  const text = report(stats, { seed, cases }, performance.now() - started);
  process.stdout.write(text);
  if (values.out !== undefined) await writeFile(values.out, text);
  return 0;
}

process.exitCode = await main();
