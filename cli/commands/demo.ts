/**
 * `demo`: a complete rotation on this machine with nothing but Node, through the real rotation core —
 * `rotate()` with the real fleet pusher and Stripe checker over HTTPS — on local stand-ins: a fleet of
 * template sites (one misconfigured), a Stripe stand-in, Secrets Manager and the ledger in memory.
 * The story is checked as it runs: the command exits 0 only if it played out as told.
 */
import { performance } from 'node:perf_hooks';
import { type StoryEnding, story } from './demo-story.js';
import { setUp } from './demo-world.js';
import { writeJson } from './format.js';
import {
  type CliContext,
  type Command,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  PROGRAM,
  parseOptions,
  wholeNumber,
} from './frame.js';

const OPTIONS = {
  sites: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

const DEFAULT_SITES = 12;
const MAX_SITES = 200;

const HELP = `Usage: ${PROGRAM} demo [--sites <n>] [--json] [--verbose]

Rehearses a complete rotation on this machine, with nothing but Node and no AWS account, through the
real rotation core (the same rotate() the Lambda runs, with the real push engine and Stripe check):

  - starts a fleet of local HTTPS template sites on distinct loopback addresses (127.0.0.2, ...), with
    certificates from a throwaway CA, one of them misconfigured (it expects another master API key);
  - starts a local Stripe stand-in, and keeps the rotated secret and the ledger in memory, with a current
    test key and a newly staged one (random demo keys, generated for this run and shown only masked);
  - runs the rotation: setSecret fails naming the misconfigured site, finishSecret refuses to move
    AWSCURRENT, the operator fixes the site, the retried rotation contacts only that site and finishes;
  - prints the per-site table and the ledger's audit trail, then stops every server.

Options:
  --sites <n>       size of the fleet, 2-${MAX_SITES} (default ${DEFAULT_SITES})
  --json            print the outcome as JSON on stdout (the story goes to stderr)
  -v, --verbose     also print the rotation core's structured log on stderr
  -h, --help        show this help

Exit codes: 0 the rotation played out as described; 1 it did not (the output says where);
2 usage error, or this machine cannot run the demo (e.g. loopback addresses beyond 127.0.0.1 missing).
`;

export const demoCommand: Command = { name: 'demo', help: HELP, run };

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  const values = parseOptions(argv, OPTIONS);
  const size = wholeNumber('sites', values.sites, DEFAULT_SITES, 2, MAX_SITES);
  const started = performance.now();
  const world = await setUp(size, values.verbose === true, cli);
  const json = values.json === true;
  // With --json the story is progress, and the one document on stdout says how it ended.
  const text = json ? cli.progress : cli.stdout;
  let ending: StoryEnding;
  try {
    ending = await story(world, text, cli, started);
  } finally {
    await world.close();
  }
  text.write('Every local server is stopped.\n');
  if (json) {
    writeJson(cli.stdout, {
      passed: ending.deviation === undefined,
      ...(ending.deviation === undefined ? {} : { deviation: ending.deviation }),
      sites: size,
      misconfiguredSite: world.broken.url,
      secretArn: world.rotatedArn,
      versionId: ending.versionId,
      steps: ending.steps,
      durationMs: Math.round(performance.now() - started),
    });
  }
  return ending.deviation === undefined ? EXIT_OK : EXIT_NOT_CONFIRMED;
}
