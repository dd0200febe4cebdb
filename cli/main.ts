/**
 * The operator CLI's entry point (`npx stripe-key-rotator <command>`: dist/cli/main.js, built from here by
 * `npm run build`; in development `node --import tsx cli/main.ts`). Commands live in `commands/`; each one parses
 * its own options and returns its exit code.
 */
// Bundled into the CLI at build time: the installed package has no package.json beside dist/cli.
import manifest from '../package.json' with { type: 'json' };
import {
  type CliContext,
  type Command,
  EXIT_OK,
  EXIT_USAGE,
  PROGRAM,
  processContext,
  reportError,
} from './commands/frame.js';

/** Each command's module is imported only when it runs: `--help` and one command load nothing else. */
interface Entry {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  load(): Promise<Command>;
}

const COMMANDS: readonly Entry[] = [
  {
    name: 'status',
    summary: 'show the rotated secret, the staged key, the schedule and the ledger (read-only)',
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  {
    name: 'plan',
    summary: 'show what a rotation would do, with zero writes anywhere',
    load: async () => (await import('./commands/plan.js')).planCommand,
  },
  {
    name: 'stage',
    summary: 'check a new Stripe key and write it to the staged key secret (read from a prompt or stdin)',
    load: async () => (await import('./commands/stage.js')).stageCommand,
  },
  {
    name: 'rotate',
    summary: 'start a rotation now; --wait follows it until AWSCURRENT moved (or it failed)',
    load: async () => (await import('./commands/rotate.js')).rotateCommand,
  },
  {
    name: 'abort',
    summary: 'end a stuck rotation: re-push the current key to the sites that took the pending one',
    load: async () => (await import('./commands/abort.js')).abortCommand,
  },
  {
    name: 'doctor',
    summary: 'check a live deployment, reading only: one line per check, with the fix when it fails',
    load: async () => (await import('./commands/doctor.js')).doctorCommand,
  },
  {
    name: 'push',
    summary: 'push a Stripe key to every site of a sites file (no AWS)',
    load: async () => (await import('./commands/push.js')).pushCommand,
  },
  {
    name: 'demo',
    summary: 'rehearse a complete rotation on a local HTTPS fleet (nothing but Node needed)',
    load: async () => (await import('./commands/demo.js')).demoCommand,
  },
];

function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `${PROGRAM}: rotates a Stripe secret key across a fleet of template sites, and finishes only
when every site has confirmed it.

Usage: ${PROGRAM} <command> [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Options:
  -h, --help     show this help; '${PROGRAM} <command> --help' shows a command's help
  --version      show the version

${COMMON_OPTIONS_HELP}
Exit codes: 0 success (every site confirmed; doctor: every check holds), 1 not every site confirmed
(doctor: a check fails; or the run failed),
2 usage or configuration error, 130/143 interrupted by SIGINT/SIGTERM (push, abort and rotate --wait
after reporting what was done). With --json, an error ends with one document on stdout too:
{"ok": false, "error": {"kind": "usage|configuration|key_refused|failure|interrupted", "message", "exitCode"}}.
`;
}

const QUIET_FLAGS = ['-q', '--quiet'];

const COMMON_OPTIONS_HELP = `Every command also takes -q, --quiet: no progress line and no notices on stderr (results on
stdout, warnings, errors and questions still print).
With --json, a command that ends on an error prints one document on stdout too (the error is also on
stderr): {"ok": false, "error": {"kind", "message", "exitCode"}}, kind usage, configuration or
key_refused (exit 2), failure (exit 1: e.g. AWS could not be reached, the message names the service and
what to check) or interrupted (130/143).
`;

const isHelp = (arg: string | undefined): boolean => arg === '--help' || arg === '-h';

async function runCli(argv: readonly string[], cli: CliContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    cli.stderr.write(topLevelHelp());
    return EXIT_USAGE;
  }
  if (isHelp(first) || (first === 'help' && rest.length === 0)) {
    cli.stdout.write(topLevelHelp());
    return EXIT_OK;
  }
  if (first === '--version') {
    cli.stdout.write(`${PROGRAM} ${manifest.version}\n`);
    return EXIT_OK;
  }
  const wanted = first === 'help' ? rest[0] : first;
  const entry = COMMANDS.find((candidate) => candidate.name === wanted);
  if (entry === undefined) {
    // Only a word is echoed: a mistyped first argument could be a key.
    const shown = /^[a-z][a-z-]{0,30}$/.test(wanted ?? '') ? `'${wanted}'` : '(not shown)';
    cli.stderr.write(
      `error: unknown command ${shown}; commands: ${COMMANDS.map((c) => c.name).join(', ')}\n` +
        `Run '${PROGRAM} --help' for usage.\n`,
    );
    return EXIT_USAGE;
  }
  const command = await entry.load();
  if (first === 'help' || rest.some(isHelp)) {
    cli.stdout.write(`${command.help}\n${COMMON_OPTIONS_HELP}`);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, cli);
  } catch (error) {
    return reportError(error, command.name, cli, { json: beforeOptionsEnd(rest).includes('--json') });
  }
}

/** The arguments before a lone "--": what follows it is not an option. */
function beforeOptionsEnd(argv: readonly string[]): readonly string[] {
  return argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
}

const argv = process.argv.slice(2);
const optionsEnd = beforeOptionsEnd(argv).length;
const quiet = beforeOptionsEnd(argv).some((arg) => QUIET_FLAGS.includes(arg));
const code = await runCli(
  argv.filter((arg, index) => index >= optionsEnd || !QUIET_FLAGS.includes(arg)),
  processContext(process, { quiet }),
);
// Exit as soon as the result is out: abandoned work (DNS lookups of timed-out attempts, a stdin still open)
// must not keep the process alive for minutes after its summary. The empty writes wait for earlier output.
await Promise.all(
  [process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))),
);
process.exit(code);
